"""docs/erm_accuracy.py's section on the standard suite's own ERM models, on a small store written here."""
import importlib.util
import json
import statistics

from conftest import REPO, run_cli
from test_image_tasks import write_idx_dataset


def erm_accuracy_module():
    spec = importlib.util.spec_from_file_location("erm_accuracy", REPO / "docs" / "erm_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_standard_section_reads_accuracy_gap_and_time_per_model(write_suite, tmp_path):
    write_idx_dataset(tmp_path / "data", n_train=40, n_test=40)
    suite = write_suite(f"""\
name: mini-standard
seeds: [0, 1]
tasks:
  - {{name: decoy_fashion_mnist, params: {{root: {tmp_path / 'data'}, n_train: 40, n_test: 40}}}}
architectures:
  - {{name: small_cnn, params: {{width: 4}}}}
methods: [erm, rrr]
explainers: [saliency]
metrics: [accuracy, shortcut_gap]
budget: {{epochs: 1, batch_size: 16}}
""")
    results = tmp_path / "results"
    assert run_cli("run", str(suite), "--results", str(results), "--quiet").returncode == 0
    doc = erm_accuracy_module()
    reference = [("decoy_fashion_mnist", "small_cnn(width=4)", "0", "12 x 128, lr 0.002", "0.393", "95 s", "")]
    from xaibench.store import ResultStore

    (row,) = doc.standard_rows(ResultStore(results), reference, str(suite))
    assert doc.standard_rows(ResultStore(results), reference, "quick") == []  # another suite's records do not count
    records = [json.loads(p.read_text()) for p in (results / "records").glob("*.json")]
    erm = {m: [r["value"] for r in sorted(records, key=lambda r: r["key"]["seed"])
               if r["labels"]["method"] == "erm" and r["metric"]["name"] == m] for m in ("accuracy", "shortcut_gap")}
    times = [json.loads(p.read_text())["wall_time_s"] for p in (results / "training").glob("*.json")
             if json.loads(p.read_text())["labels"]["method"] == "erm"]
    fmt = lambda v: f"{statistics.fmean(v):.3f} ± {statistics.stdev(v):.3f}"  # noqa: E731
    task = f"decoy_fashion_mnist(root={tmp_path / 'data'}, n_train=40, n_test=40)"
    assert row == (task, "small_cnn(width=4)", "0, 1", "1 x 16, lr 0.002", fmt(erm["accuracy"]),
                   f"shortcut_gap {fmt(erm['shortcut_gap'])}", "0.393", f"{statistics.fmean(times):.0f} s")
    text = doc.render(reference, [row])
    assert "## The `standard` suite's own ERM models" in text and text.count("| decoy_fashion_mnist") == 2


def test_budget_column_names_a_schedule_other_than_constant():
    doc = erm_accuracy_module()
    key = {"epochs": 3, "batch_size": 64, "lr": 0.016, "weight_decay": 0.0}
    assert doc.budget_text(key) == "3 x 64, lr 0.016"
    assert doc.budget_text({**key, "schedule": "cosine"}) == "3 x 64, lr 0.016, cosine"
