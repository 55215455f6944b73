"""The markdown leaderboard is a pure function of the records."""
import copy

from xaibench.leaderboard.aggregate import aggregate, summarize
from xaibench.leaderboard.markdown import escape, render_markdown


def record(method, seed, metric, value, explainer="saliency", version="1", higher=True, category="faithfulness",
           task_version="1"):
    return {
        "key": {"task": {"name": "shapes", "version": task_version}, "seed": seed},
        "labels": {"task": "shapes", "architecture": "small_cnn", "method": method, "explainer": explainer},
        "metric": {"name": metric, "version": version, "label": metric.title(), "category": category,
                   "higher_is_better": higher},
        "value": value, "n": 4, "n_excluded": 0,
        "code_version": "0.1.0+gabc", "versions": {"torch": "2.13.0"}, "suite": {"name": "s", "hash": "h1"},
    }


RECORDS = [
    *(record("erm", s, "accuracy", v, explainer=None, category="predictive") for s, v in [(0, 0.9), (1, 0.8)]),
    *(record("sgt", s, "accuracy", v, explainer=None, category="predictive") for s, v in [(0, 0.95), (1, 0.85)]),
    *(record("erm", s, "deletion", v, higher=False) for s, v in [(0, 0.2), (1, 0.4)]),
    *(record("sgt", s, "deletion", v, higher=False) for s, v in [(0, 0.5), (1, 0.7)]),
]

EXPECTED = """\
# xaibench leaderboard

## shapes (task v1)

Mean ± std over seeds 0, 1; best per column in bold; ↑ higher is better, ↓ lower is better.

| Method | Architecture | Accuracy ↑ | saliency: Deletion ↓ |
|---|---|---:|---:|
| erm | small\\_cnn | 0.850 ± 0.071 | **0.300 ± 0.141** |
| sgt | small\\_cnn | **0.900 ± 0.071** | 0.600 ± 0.141 |

---

Code version: 0.1.0+gabc. Suite: s (h1). 8 records.

Packages: torch 2.13.0.
"""


def test_renders_exactly():
    assert render_markdown(RECORDS) == EXPECTED


def test_order_of_records_does_not_matter():
    assert render_markdown(reversed(RECORDS)) == EXPECTED


def test_two_metric_versions_never_share_a_column():
    records = RECORDS + [record("erm", 0, "deletion", 0.1, version="2", higher=False)]
    (table,) = aggregate(records)
    assert [(c.metric, c.version) for c in table.columns] == [("accuracy", "1"), ("deletion", "1"), ("deletion", "2")]
    assert "saliency: Deletion v2 ↓" in render_markdown(records)


def test_two_task_versions_get_two_tables():
    records = RECORDS + [record("erm", 0, "accuracy", 0.5, explainer=None, category="predictive", task_version="2")]
    assert [t.task_version for t in aggregate(records)] == ["1", "2"]


def test_plugin_names_are_escaped():
    evil = copy.deepcopy(RECORDS[0])
    evil["labels"]["method"] = "a|b*<script>"
    assert "| a\\|b\\*\\<script\\> |" in render_markdown([evil])
    assert escape("x_y") == "x\\_y"


def test_summary_ignores_nan_seeds():
    s = summarize([1.0, float("nan"), 3.0])
    assert (s.mean, s.n_seeds) == (2.0, 2) and abs(s.std - 2 ** 0.5) < 1e-12
