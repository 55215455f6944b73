"""The markdown leaderboard is a pure function of the records."""
import copy

from xaibench.leaderboard.aggregate import aggregate
from xaibench.leaderboard.markdown import LEGEND, escape, render_markdown
from xaibench.leaderboard.stats import paired_p_value, summarize


def record(method, seed, metric, value, explainer="saliency", version="1", higher=True, category="faithfulness",
           task_version="1"):
    return {
        "key": {"task": {"name": "shapes", "version": task_version}, "seed": seed},
        "labels": {"task": "shapes", "architecture": "small_cnn", "method": method, "explainer": explainer,
                   "metric": metric},
        "metric": {"name": metric, "version": version, "label": metric.title(), "category": category,
                   "higher_is_better": higher},
        "value": value, "n": 4, "n_excluded": 0,
        "code_version": "0.1.0+gabc", "versions": {"torch": "2.13.0"}, "suite": {"name": "s", "hash": "h1"},
    }


def accuracy(method, values):
    return [record(method, s, "accuracy", v, explainer=None, category="predictive") for s, v in enumerate(values)]


def deletion(method, values, explainer="saliency"):
    return [record(method, s, "deletion", v, explainer=explainer, higher=False) for s, v in enumerate(values)]


RECORDS = [
    *accuracy("erm", [0.90, 0.80, 0.85]), *accuracy("sgt", [0.95, 0.85, 0.90]),
    *deletion("erm", [0.20, 0.40, 0.30]), *deletion("sgt", [0.50, 0.70, 0.62]),
    *deletion("erm", [0.45, 0.55, 0.50], explainer="random"),
]

EXPECTED = """\
# xaibench leaderboard

{legend}

## shapes (task v1), seeds 0, 1, 2

### Overview

One row per model; a category's rank: the model's mean rank over the category's metrics and the explainers (saliency), 1 = best.

| Method | Architecture | Accuracy ↑ | Faithfulness rank ↓ |
|---|---|---:|---:|
| erm | small\\_cnn | 0.850 ± 0.124 | **1.00** |
| sgt | small\\_cnn | **0.900 ± 0.124 †** | 2.00 |

### Faithfulness

Each explainer's models, then the controls (on the model named); Rank: the mean rank over the 1 column among the same explainer's models.

| Explainer | Method | Architecture | Deletion ↓ | Rank ↓ |
|---|---|---|---:|---:|
| saliency | erm | small\\_cnn | **0.300 ± 0.248** | 1.00 |
| saliency | sgt | small\\_cnn | 0.607 ± 0.250 † | 2.00 |
| *control: random* | erm | small\\_cnn | 0.500 ± 0.124 | – |

---

Code version: 0.1.0+gabc. Suite: s (h1). 15 records.

Packages: torch 2.13.0.
""".format(legend=LEGEND)


def test_renders_exactly():
    assert render_markdown(RECORDS) == EXPECTED


def test_order_of_records_does_not_matter():
    assert render_markdown(reversed(RECORDS)) == EXPECTED


def test_two_metric_versions_never_share_a_column():
    records = RECORDS + [record("erm", 0, "deletion", 0.1, version="2", higher=False)]
    (table,) = aggregate(records)
    assert [(c.metric, c.version) for c in table.columns] == [("accuracy", "1"), ("deletion", "1"), ("deletion", "2")]
    assert "| Deletion v2 ↓ |" in render_markdown(records)


def test_two_task_versions_get_two_sections():
    records = RECORDS + [record("erm", 0, "accuracy", 0.5, explainer=None, category="predictive", task_version="2")]
    assert [t.task_version for t in aggregate(records)] == ["1", "2"]
    assert "## shapes (task v2), seeds 0" in render_markdown(records)


def test_plugin_names_are_escaped():
    evil = copy.deepcopy(RECORDS[0])
    evil["labels"]["method"] = "a|b*<script>"
    assert "| a\\|b\\*\\<script\\> |" in render_markdown([evil])
    assert escape("x_y") == "x\\_y"


def test_statistics():
    s = summarize([1.0, float("nan"), 3.0])
    assert (s.mean, s.n_seeds) == (2.0, 2) and abs(s.ci95 - 12.706204736174698) < 1e-9  # t(.975, 1)·√2/√2
    from scipy.stats import ttest_rel

    a, b = {0: 0.2, 1: 0.4, 2: 0.3}, {0: 0.5, 1: 0.7, 2: 0.62}
    assert paired_p_value(a, b) == ttest_rel([0.2, 0.4, 0.3], [0.5, 0.7, 0.62]).pvalue
    assert paired_p_value({0: 1.0, 1: 2.0}, {0: 1.0, 1: 3.0}) is None  # fewer than 3 pairs


def test_two_configs_of_a_metric_never_share_a_column():
    other = record("erm", 0, "deletion", 0.1, higher=False)
    other["labels"]["metric"] = "deletion(n_steps=10)"
    (table,) = aggregate(RECORDS + [other])
    assert [(c.metric, c.variant) for c in table.columns] == [("accuracy", ""), ("deletion", ""),
                                                              ("deletion", "(n_steps=10)")]
    assert "| Deletion(n\\_steps=10) ↓ |" in render_markdown(RECORDS + [other])


def training(method, seed, seconds, flops=None):
    return {"key": {"task": {"name": "shapes", "version": "1"}, "seed": seed, "data_seed": 0},
            "labels": {"task": "shapes", "architecture": "small_cnn", "method": method}, "wall_time_s": seconds,
            **({"flops": {"total": flops, "per_s": flops / seconds, "version": "1"}} if flops else {}),
            "code_version": "0.1.0+gabc", "versions": {"torch": "2.13.0"}, "suite": {"name": "s", "hash": "h1"}}


def test_training_flops_relative_to_erm_are_the_cost_column_outside_the_rank():
    """Counted FLOPs, not wall times (sgt's 0.5 s on seed 1 changes nothing); bold and † as any column."""
    runs = [training("erm", s, 2.0, 1000) for s in range(3)] + \
        [training("sgt", s, t, f) for s, (t, f) in enumerate([(6.0, 2700), (1.0, 2900), (5.8, 2800)])]
    board = render_markdown(RECORDS, runs)
    assert "| Method | Architecture | Accuracy ↑ | Train FLOPs ×ERM ↓ | Faithfulness rank ↓ |" in board
    assert "| erm | small\\_cnn | 0.850 ± 0.124 | **1.000 ± 0.000** | **1.00** |" in board
    assert "| sgt | small\\_cnn | **0.900 ± 0.124 †** | 2.800 ± 0.248 † | 2.00 |" in board
    assert board.count("Train FLOPs ×ERM ↓") == 1  # once per task, not in the category tables


def test_a_store_without_flop_counts_shows_a_dash():
    """Training records written before FLOPs were counted (or ERM's missing): – in the cost column, no crash."""
    old = [training("erm", s, 2.0) for s in range(3)] + [training("sgt", s, 6.0) for s in range(3)]
    mixed = old[:3] + [training("sgt", s, 6.0, 2700) for s in range(3)]
    for runs in (old, mixed):
        board = render_markdown(RECORDS, runs)
        assert "| erm | small\\_cnn | 0.850 ± 0.124 | – | **1.00** |" in board
        assert "| sgt | small\\_cnn | **0.900 ± 0.124 †** | – | 2.00 |" in board


def test_csv_has_the_same_cells_unrounded():
    import csv
    import io

    from xaibench.leaderboard.csv_table import render_csv

    rows = list(csv.DictReader(io.StringIO(render_csv(RECORDS))))
    cell = {(r["explainer"], r["method"], r["metric"]): r for r in rows}
    assert len(rows) == 5  # accuracy x 2 methods (once, not per table), deletion x 2 methods, the random control
    erm = cell[("saliency", "erm", "deletion")]
    assert (float(erm["mean"]), erm["n_seeds"], erm["higher_is_better"]) == (summarize([0.2, 0.4, 0.3]).mean, "3", "False")
    assert float(cell[("", "sgt", "accuracy")]["ci95"]) == summarize([0.95, 0.85, 0.90]).ci95
    assert cell[("random", "erm", "deletion")]["mean"] == repr(summarize([0.45, 0.55, 0.50]).mean)


def test_an_infinite_seed_renders_as_infinite_without_a_test():
    """Mean-shift δ is ∞ by definition on an all-zero map; the summary and the paired test must not crash."""
    from xaibench.leaderboard.stats import paired_p_value, summarize

    s = summarize([0.5, float("inf"), 1.0])
    assert (s.mean, s.ci95, s.n_seeds) == (float("inf"), float("inf"), 3)
    assert paired_p_value({0: 1.0, 1: float("inf"), 2: 2.0}, {0: 0.0, 1: 0.0, 2: 0.0}) is None


def test_mprt_gets_a_pass_fail_column_the_fraction_of_seeds_that_pass():
    """METRICS.md: MPRT passes iff the mean ρ after full randomization is below 0.5."""
    mprt = [record("erm", s, "mprt", v, higher=False, category="sanity") for s, v in enumerate([0.2, 0.7, 0.3])]
    text = render_markdown(mprt)
    header = next(line for line in text.splitlines() if line.startswith("| Explainer"))
    assert "Mprt ↓" in header and "MPRT pass ↑" in header
    row = next(line for line in text.splitlines() if line.startswith("| saliency | erm"))
    assert "| 0.667 ± 1.434 |" in row  # passes on seeds 0 and 2: mean 2/3, t-interval of (1, 0, 1)
