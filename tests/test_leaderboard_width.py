"""No markdown table that `xaibench leaderboard` writes for `quick` or `standard` is wider than 12 columns.

The store is made of records in the harness's own format (`RecordStage.evaluation`) for every cell of the suite's
plan, with seeded random values: what a real run writes, without training anything."""
import re

import pytest
import torch

from xaibench.stages.record import RecordStage
from xaibench.cli import main
from xaibench.config import load_suite
from xaibench.leaderboard.board import Grid, Line
from xaibench.leaderboard.content import Cell
from xaibench.leaderboard.aggregate import aggregate
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.markdown import MAX_COLUMNS, header, render_grid
from xaibench.plan import make_plan
from xaibench.store import ResultStore


def fake_store(suite_name: str, root) -> ResultStore:
    """Every record and training record of the suite's plan, values drawn from a seeded generator."""
    suite, store = load_suite(suite_name), ResultStore(root)
    recorder, g = RecordStage(suite, torch.device("cpu"), 1), torch.Generator().manual_seed(0)
    cost = {"wall_time_s": 0.0, "cpu_time_s": 0.0, "peak_memory_mb": 0.0}
    for cell in make_plan(suite):
        store.put("training", cell.key, {"labels": cell.labels(), "wall_time_s": 1 + torch.rand(1, generator=g).item(),
                                         "peak_memory_mb": 1.0, "steps": 10, **recorder.provenance()})
        for e in cell.evals:
            store.put("records", cell.eval_key(e), recorder.evaluation(cell, e, torch.rand(4, generator=g).double(), cost))
    return store


def tables(markdown: str) -> list[list[str]]:
    """The header rows of every markdown table, as lists of cells."""
    lines = markdown.splitlines()
    return [re.split(r"(?<!\\)\|", line)[1:-1] for line, below in zip(lines, lines[1:] + [""])
            if line.startswith("| ") and below.startswith("|---")]


@pytest.mark.parametrize("suite", ["quick", "standard", "examples/quantus_suite.yaml"])
def test_every_markdown_table_fits_12_columns(suite, tmp_path, capsys):
    if suite.startswith("examples"):
        pytest.importorskip("quantus")
        from conftest import REPO

        suite = str(REPO / suite)
    fake_store(suite, tmp_path / "results")
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(tmp_path / "results")]) == 0
    board = capsys.readouterr().out
    widths = [len(header) for header in tables(board)]
    assert widths and max(widths) <= MAX_COLUMNS, (max(widths), suite)
    # one overview per task, except the derived polarity-bias task: no per-model column and one model, so no rank
    assert board.count("### Overview") == len(re.findall(r"^## (?!shapes\\_polarity \(bright vs dark\))", board, re.M))
    if "standard" in suite:  # every category of the suite has its table; predictive and cost columns once per task
        for title in ("Faithfulness", "Localization", "Input bias", "Sanity", "Complexity"):
            assert f"### {title}" in board
        shapes = board.split("## shapes(n\\_train=2000, n\\_test=500)")[1].split("\n## ")[0]
        store = ResultStore(tmp_path / "results")
        tables_ = aggregate(with_derived(store.records(), store.records("training")))
        per_model = {header(c) for t in tables_ if t.task == "shapes(n_train=2000, n_test=500)" for c in t.columns
                     if c.per_model}  # predictive and cost, from the records' metadata
        assert {"Accuracy ↑", "FLINT fidelity ↑"} <= per_model and any(c.startswith("Train") for c in per_model)
        assert all(shapes.count(f"| {h} |") == 1 for h in per_model)
    if "quantus" in suite:
        assert "### Robustness" in board and "Max-Sensitivity (quantus)(nr\\_samples=10)" in board
        assert "Random Logit (quantus)" in board.split("### Sanity")[1]


def test_a_wider_table_continues_in_a_second_one_with_the_same_rows():
    from xaibench.leaderboard.aggregate import Column

    columns = [Column(f"m{i}", "1", f"M{i}", "faithfulness", True) for i in range(14)]
    grid = Grid("Faithfulness", ("Explainer", "Method", "Architecture"), columns,
                [Line(("saliency", "erm", "cnn"), [Cell(i / 10) for i in range(14)])], "A note.")
    text = render_grid(grid)
    assert [len(h) for h in tables(text)] == [12, 8]  # 3 keys + 9 columns, then 3 keys + the other 5
    assert "### Faithfulness (1 of 2)" in text and "### Faithfulness (2 of 2)" in text
    assert "| saliency | erm | cnn | 0.900 | 1.000 | 1.100 | 1.200 | 1.300 |" in text
