"""The whole slice through the real CLI: run, rerun (nothing recomputed), failure isolation."""
import json
import re

from conftest import run_cli

TINY = """\
name: tiny
seeds: [0, 1]
tasks:
  - {name: shapes, params: {n_train: 256, n_test: 64}}
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm]
explainers: [saliency, grad_cam]
metrics: [accuracy, deletion_auc, insertion_auc, pointing_game, relevance_mass_accuracy]
budget: {epochs: 1}
evaluation: {n_samples: 16}
"""

# Raises on its 3rd optimizer step: its cells fail, the others complete.
FAILING_PLUGIN = '''
import torch.nn.functional as F
from xaibench import TrainingMethod
from xaibench.registries import METHODS

@METHODS.register
class Flaky(TrainingMethod):
    """Fails on step 2 unless the file ok.txt exists next to this plugin."""
    name = "flaky"

    def loss(self, model, batch, step):
        import pathlib
        if step == 2 and not (pathlib.Path(__file__).parent / "ok.txt").exists():
            raise RuntimeError("boom at step 2")
        return F.cross_entropy(model(batch.x), batch.y)
'''


def flop_counts(results):
    """Each trained model's training FLOPs, by training-record file."""
    return {p.name: json.loads(p.read_text())["flops"]["total"] for p in (results / "training").glob("*.json")}


def snapshot(results):
    return {p.relative_to(results): (p.stat().st_mtime_ns, p.read_bytes()) for p in results.rglob("*") if p.is_file()}


def test_run_then_rerun_computes_nothing(write_suite, tmp_path):
    suite, results = write_suite(TINY), tmp_path / "results"
    first = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "trained 2 models, wrote 18 records" in first.stdout  # 2 seeds x (accuracy + 2 explainers x 4)
    board = (results / "LEADERBOARD.md").read_text()
    assert "| erm | small\\_cnn(width=4) |" in board and "| grad\\_cam | erm | small\\_cnn(width=4) |" in board
    assert "Pointing game v2 ↑" in board
    assert "Deletion AUC v3 ↓" in board and "Suite: tiny (" in board
    records = [json.loads(p.read_text()) for p in (results / "records").glob("*.json")]
    assert len(records) == 18 and all(r["n"] + r["n_excluded"] == (64 if r["metric"]["name"] == "accuracy" else 16)
                                      for r in records)
    assert {"torch", "captum", "xaibench"} <= records[0]["versions"].keys()
    # What decides bitwise (same machine, threads, versions) against float-tolerance agreement, in every record.
    import torch
    trained = [json.loads(p.read_text()) for p in (results / "training").glob("*.json")]
    for r in records + trained:
        assert r["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and r["threads"] >= 1
        assert r["machine"]["processor"] and r["machine"]["blas"] and r["machine"]["onednn"]
    flops = trained[0]["flops"]  # counted: an int, the same for both seeds (the same shapes)
    assert isinstance(flops["total"], int) and flops["total"] > 0 and flops["version"] == "1"
    assert [t["flops"]["total"] for t in trained] == [flops["total"]] * 2
    assert flops["per_s"] == flops["total"] / trained[0]["wall_time_s"] and trained[0]["cpu_time_s"] > 0
    assert "| erm | small\\_cnn(width=4) | " in board and "Train FLOPs ×ERM ↓" in board

    before = snapshot(results)
    second = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert second.returncode == 0, second.stderr
    assert "trained 0 models, wrote 0 records, skipped 18 finished cells" in second.stdout
    after = snapshot(results)
    board_path = results / "LEADERBOARD.md"
    assert after.pop(board_path.relative_to(results))[1] == before.pop(board_path.relative_to(results))[1]
    assert after == before  # no record, weight or attribution file rewritten; the leaderboard identical

    shown = run_cli("leaderboard", "--results", str(results))
    assert shown.returncode == 0 and shown.stdout == board


def test_failing_method_fails_alone_and_rerun_retries_only_it(write_suite, tmp_path):
    (tmp_path / "flaky.py").write_text(FAILING_PLUGIN)
    suite = write_suite(TINY.replace("seeds: [0, 1]", "seeds: [0]").replace("methods: [erm]", "methods: [erm, flaky]")
                        + "plugins: [flaky.py]\n")
    results = tmp_path / "results"
    first = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert first.returncode == 1
    assert "trained 1 models, wrote 9 records" in first.stdout
    assert "1 cell(s) failed" in first.stderr and "flaky/seed=0: RuntimeError: boom at step 2" in first.stderr
    (failure,) = [json.loads(p.read_text()) for p in (results / "failures").glob("*.json")]
    assert "boom at step 2" in failure["traceback"]
    assert "| flaky |" not in (results / "LEADERBOARD.md").read_text()

    (tmp_path / "ok.txt").write_text("")
    second = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert second.returncode == 0, second.stderr
    assert "trained 1 models, wrote 9 records, skipped 9 finished cells" in second.stdout
    assert not list((results / "failures").glob("*.json"))
    assert "| flaky |" in (results / "LEADERBOARD.md").read_text()


def test_help_and_list():
    for args in (["--help"], ["run", "--help"], ["leaderboard", "--help"], ["list", "--help"]):
        proc = run_cli(*args)
        assert proc.returncode == 0 and "usage: xaibench" in proc.stdout
    listing = run_cli("list", "methods")
    rows = {line.split()[0]: re.split(r"\s{2,}", line.strip()) for line in listing.stdout.splitlines()[1:]}
    assert listing.returncode == 0 and listing.stdout.startswith("methods:\n")
    assert rows["erm"] == ["erm", "-", "1x ERM",
                           "Empirical risk minimization: plain cross-entropy on the same budget and seeds."]
    tasks = run_cli("list", "tasks").stdout
    shapes = next(re.split(r"\s{2,}", line.strip()) for line in tasks.splitlines() if line.startswith("  shapes "))
    assert shapes[:6] == ["shapes", "image", "1x32x32", "4 classes", "mask (ground truth)", "synthetic"]


def test_dry_run_counts_cells_and_estimates_from_recorded_timings(write_suite, tmp_path):
    results = tmp_path / "results"
    one_seed = write_suite(TINY.replace("seeds: [0, 1]", "seeds: [0]"), "one.yaml")
    assert run_cli("run", str(one_seed), "--results", str(results), "--quiet").returncode == 0
    before = snapshot(results)
    plan = run_cli("run", str(write_suite(TINY)), "--results", str(results), "--dry-run")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[1] == "  training cells:   2 (1 done, 1 to train)"
    assert lines[2] == "  evaluation cells: 18 (9 done, 9 to compute)"
    assert re.fullmatch(r"  estimated cost:   about \d+ s for the 10 cells with recorded timings", lines[3])
    assert snapshot(results) == before  # a dry run writes nothing


def test_leaderboard_task_filter_and_csv(write_suite, tmp_path):
    results = tmp_path / "results"
    suite = write_suite(TINY.replace("seeds: [0, 1]", "seeds: [0]").replace(
        "explainers: [saliency, grad_cam]", "explainers: [saliency]").replace(
        "metrics: [accuracy, deletion_auc, insertion_auc, pointing_game, relevance_mass_accuracy]", "metrics: [accuracy]"))
    assert run_cli("run", str(suite), "--results", str(results), "--quiet").returncode == 0
    table = run_cli("leaderboard", "--results", str(results), "--task", "shapes", "--format", "csv")
    assert table.returncode == 0
    assert table.stdout.splitlines()[1].startswith('"shapes(n_train=256, n_test=64)",1,,erm,small_cnn(width=4),accuracy,')
    wrong = run_cli("leaderboard", "--results", str(results), "--task", "shape")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == f"xaibench: error: --task shape: no records of that task in {results}; did you mean 'shapes'?"


def test_two_configurations_under_one_label_are_refused_unless_suite_picks_one(write_suite, tmp_path):
    results = tmp_path / "results"
    accuracy_only = TINY.replace("explainers: [saliency, grad_cam]", "explainers: [saliency]").replace(
        "metrics: [accuracy, deletion_auc, insertion_auc, pointing_game, relevance_mass_accuracy]", "metrics: [accuracy]")
    old = write_suite(accuracy_only.replace("seeds: [0, 1]", "seeds: [0]"), "old.yaml")
    new = write_suite(accuracy_only.replace("budget: {epochs: 1}", "budget: {epochs: 2}"), "new.yaml")
    for suite in (old, new):
        assert run_cli("run", str(suite), "--results", str(results), "--quiet").returncode == 0
    # a suite-level budget is not part of the labels: both budgets' seed-0 records land in one table cell
    for command in ("leaderboard", "report", "figures"):
        mixed = run_cli(command, "--results", str(results))
        assert mixed.returncode == 2
        assert mixed.stderr.strip() == (f"xaibench: error: --results {results}: two configurations of shapes(n_train="
                                        "256, n_test=64)/small_cnn(width=4)/erm/accuracy at seed 0 (they differ in "
                                        "budget); pass --suite SUITE to read one suite's records")
    filtered = run_cli("leaderboard", "--results", str(results), "--suite", str(new), "--format", "csv")
    assert filtered.returncode == 0, filtered.stderr
    assert filtered.stdout.splitlines()[1].endswith(",2")  # the new suite's 2 seeds
    only_old = run_cli("leaderboard", "--results", str(results), "--suite", str(old), "--format", "csv")
    assert only_old.stdout.splitlines()[1].endswith(",1")
    other = write_suite(accuracy_only.replace("n_train: 256", "n_train: 128"), "other.yaml")
    none = run_cli("leaderboard", "--results", str(results), "--suite", str(other))
    assert none.returncode == 2
    assert none.stderr.strip() == f"xaibench: error: --suite {other}: none of the 3 records in {results} belong to it"
