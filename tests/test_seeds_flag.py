"""`xaibench run SUITE --seeds LIST` replaces the suite's seeds; with resume, more seeds add to a store without
redoing the ones it holds; bad values are one line naming the flag, exit 2, nothing written."""
import json
import re

import pytest

from conftest import run_cli
from test_run import snapshot
from xaibench.config import load_suite, parse_seeds
from xaibench.errors import ConfigError

SMALL = """\
name: small
seeds: [0, 1, 2]
tasks:
  - {name: shapes, params: {n_train: 128, n_test: 32}}
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm]
explainers: [saliency]
metrics: [accuracy, pointing_game]
budget: {epochs: 1}
evaluation: {n_samples: 8}
"""


def training_records(results):
    """Seed -> (file name, bytes) of each stored training record."""
    out = {}
    for path in (results / "training").glob("*.json"):
        out[json.loads(path.read_text())["key"]["seed"]] = (path.name, path.stat().st_mtime_ns, path.read_bytes())
    return out


def test_more_seeds_train_only_the_new_ones(write_suite, tmp_path):
    suite, results = write_suite(SMALL), tmp_path / "results"
    first = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert first.returncode == 0, first.stderr
    assert "trained 3 models, wrote 6 records" in first.stdout
    before = training_records(results)
    assert sorted(before) == [0, 1, 2]

    plan = run_cli("run", str(suite), "--results", str(results), "--seeds", "0-4", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[1] == "  training cells:   5 (3 done, 2 to train)"
    assert lines[-1] == "  seeds:            0, 1, 2, 3, 4 (--seeds; the suite lists 0, 1, 2)"

    second = run_cli("run", str(suite), "--results", str(results), "--seeds", "0-4", "--quiet")
    assert second.returncode == 0, second.stderr
    assert "trained 2 models, wrote 4 records, skipped 6 finished cells" in second.stdout
    after = training_records(results)
    assert sorted(after) == [0, 1, 2, 3, 4]
    assert {s: after[s] for s in (0, 1, 2)} == before  # the first seeds' records were not rewritten
    board = (results / "LEADERBOARD.md").read_text()
    assert "seeds 0, 1, 2, 3, 4" in board

    again = run_cli("run", str(suite), "--results", str(results), "--seeds", "3,4", "--quiet")
    assert "trained 0 models, wrote 0 records, skipped 4 finished cells" in again.stdout


@pytest.mark.parametrize("text, seeds", [("0-9", tuple(range(10))), ("3", (3,)), ("0,2,5", (0, 2, 5)),
                                         ("0-2,7", (0, 1, 2, 7)), (" 1 , 4-5", (1, 4, 5)), ("7-7", (7,))])
def test_seed_lists(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, message", [
    ("", "--seeds : expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("a", "--seeds a: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("-1", "--seeds -1: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("0-", "--seeds 0-: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("1-2-3", "--seeds 1-2-3: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("0,,1", "--seeds 0,,1: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("1.5", "--seeds 1.5: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7"),
    ("5-3", "--seeds 5-3: a range runs from low to high (e.g. 3-5)"),
    ("0-2,1", "--seeds 0-2,1: seed 1 is listed twice"),
])
def test_bad_seed_lists_are_one_line_exit_2_nothing_written(write_suite, tmp_path, text, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        parse_seeds(text)
    results = tmp_path / "results"
    proc = run_cli("run", str(write_suite(SMALL)), "--results", str(results), "--seeds", text, "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"xaibench: error: {message}"] and proc.stdout == ""
    assert not results.exists()


def test_override_keeps_the_suite_and_changes_only_its_seeds(write_suite):
    path = write_suite(SMALL)
    own, same, more = load_suite(str(path)), load_suite(str(path), seeds=(0, 1, 2)), load_suite(str(path), seeds=(5,))
    assert own == same and own.listed_seeds == ()
    assert more.seeds == (5,) and more.listed_seeds == (0, 1, 2) and more.hash != own.hash
    assert more.parts == own.parts


PART_SEEDS = """\
name: part-seeds
seeds: [0, 1]
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm]
explainers: [saliency]
budget: {epochs: 1}
evaluation: {n_samples: 8}
parts:
  - tasks: [{name: shapes, params: {n_train: 128, n_test: 32}}]
    metrics: [accuracy]
  - tasks: [{name: shapes, params: {n_train: 128, n_test: 32}}]
    metrics: [pointing_game]
    seeds: [0, 1, 2, 3]
"""


def test_a_part_runs_its_own_seeds_and_the_flag_replaces_them(write_suite):
    from xaibench.plan import make_plan

    path = write_suite(PART_SEEDS)
    own = load_suite(str(path))
    cells = {c.seed: sorted(e.metric.name for e in c.evals) for c in make_plan(own)}
    # one model per seed; seeds 0, 1 are shared by both parts and evaluated for both metrics
    assert cells == {0: ["accuracy", "pointing_game"], 1: ["accuracy", "pointing_game"],
                     2: ["pointing_game"], 3: ["pointing_game"]}
    flag = load_suite(str(path), seeds=(0, 1))  # the suite's own seeds, but the part's are replaced too
    assert flag.listed_seeds == (0, 1) and flag.hash != own.hash
    assert sorted(c.seed for c in make_plan(flag)) == [0, 1]
    assert [p.seeds for p in flag.parts] == [(), ()]


@pytest.mark.parametrize("seeds, message", [
    ("[]", "expected a non-empty list of integers >= 0, got []"),
    ("[0, -1]", "expected a non-empty list of integers >= 0, got [0, -1]"),
    ("[1, 1]", "a seed is listed twice in [1, 1]"),
    ("3", "expected a non-empty list of integers >= 0, got 3"),
])
def test_bad_part_seeds_are_one_line_naming_the_part(write_suite, seeds, message):
    path = write_suite(PART_SEEDS.replace("seeds: [0, 1, 2, 3]", f"seeds: {seeds}"))
    with pytest.raises(ConfigError, match="^" + re.escape(f"{path}: parts[1].seeds: {message}") + "$"):
        load_suite(str(path))


def test_a_misspelt_part_key_suggests_seeds(write_suite):
    path = write_suite(PART_SEEDS.replace("    seeds: [0, 1, 2, 3]", "    seed: [0, 1, 2, 3]"))
    with pytest.raises(ConfigError, match=re.escape("parts[1].seed: unknown key; did you mean 'seeds'?")):
        load_suite(str(path))


def test_dry_run_names_a_part_with_its_own_seeds(write_suite, tmp_path):
    proc = run_cli("run", str(write_suite(PART_SEEDS)), "--results", str(tmp_path / "r"), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == [
        "  seeds:            0, 1",
        "                    0, 1, 2, 3 for the part of shapes(n_train=128, n_test=32)"]
