"""The boards a person reads: per task an overview, then one table per category of explanation metric.

- **Overview** (unless it would have no column): one row per model (method x architecture) with every per-model column (scored without an
  explainer: predictive metrics, cost, ...) once, then each category's headline: the model's mean rank over
  the category's metrics and the explainers (controls left out), 1 = best.
- **One table per category** (faithfulness, localization, input bias, sanity, complexity, and any other a
  metric declares, e.g. quantus's robustness): the explainer is the first row level, so a table has one
  column per metric of the category, whatever the number of explainers; each explainer's block ranks its
  models, and the control explainers (random, constant) follow once, as rows of their own.

Which columns are per-model, and the category of every other, come from the records' metric metadata, never
from metric names. The ranks are computed on the records' frame (`xaibench.results.frame`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.aggregate import BASELINE_METHOD, CONTROLS, Column, Table, aggregate
from xaibench.leaderboard.content import Cell, best_values, cell
from xaibench.record import Record, category_rank

RANK = "rank"  # the category of rank columns (a group of their own in the HTML header)
MODEL_KEYS = ("Method", "Architecture")


@dataclasses.dataclass(frozen=True)
class Line:
    """A table row: its labels (one per key column), its cells (one per value column), and whether it is a
    control explainer's row."""

    labels: tuple[str, ...]
    cells: list[Cell]
    control: bool = False


@dataclasses.dataclass(frozen=True)
class Grid:
    """One table ready to format: title, key headers, value columns, lines, and a sentence on what it shows.

    >>> g = Grid("Overview", MODEL_KEYS, [], [Line(("erm", "small_cnn"), [])], "")
    >>> g.groups(), g.width
    ([], 2)
    """

    title: str
    keys: tuple[str, ...]
    columns: list[Column]
    lines: list[Line]
    note: str

    @property
    def width(self) -> int:
        return len(self.keys) + len(self.columns)

    def groups(self) -> list[tuple[str, int]]:
        """(category, number of consecutive columns) over the value columns."""
        out: list[tuple[str, int]] = []
        for column in self.columns:
            if out and out[-1][0] == column.category:
                out[-1] = (column.category, out[-1][1] + 1)
            else:
                out.append((column.category, 1))
        return out

    def split(self, max_width: int) -> list[Grid]:
        """The same table as consecutive tables of at most ``max_width`` columns, each with the key columns."""
        step = max(1, max_width - len(self.keys))
        if self.width <= max_width:
            return [self]
        parts = []
        for i in range(0, len(self.columns), step):
            parts.append(Grid(f"{self.title} ({i // step + 1} of {-(-len(self.columns) // step)})", self.keys,
                              self.columns[i:i + step],
                              [dataclasses.replace(line, cells=line.cells[i:i + step]) for line in self.lines],
                              self.note if i == 0 else ""))
        return parts


@dataclasses.dataclass(frozen=True)
class Section:
    """One task version: its overview and its category tables."""

    task: str
    task_version: str
    seeds: list[int]
    grids: list[Grid]


def category_title(category: str) -> str:
    """A category as a table title.

    >>> category_title("input_bias")
    'Input bias'
    """
    return category.replace("_", " ").capitalize()


def rank_column(category: str, label: str) -> Column:
    return Column(f"{RANK}:{category}", "1", label, RANK, higher_is_better=False)


def model_ranks(records: list[Record]) -> Any:
    """Each model's rank (1 = best, ties share the mean rank) among the models of its task, per explainer and
    metric column, from its mean over seeds; controls and per-model columns are not ranked. A DataFrame: task,
    task_version, explainer, category, metric, metric_version, variant, method, architecture, rank."""
    from xaibench.results import frame

    df = frame(records)
    df = df[df.explainer.notna() & ~df.explainer.isin(CONTROLS)]
    df = df.assign(score=df.value.where(df.higher_is_better.astype(bool), -df.value))  # higher is better, always
    column = ["task", "task_version", "explainer", "category", "metric", "metric_version", "variant"]
    mean = df.groupby([*column, "method", "architecture"], dropna=False).score.mean().dropna().rename("rank")
    return mean.groupby(level=column, dropna=False).rank(ascending=False).reset_index()


def sections(records: Iterable[Record]) -> list[Section]:
    """Every task's overview and category tables (``records`` include the derived ones)."""
    records = list(records)
    tables, ranks = aggregate(records), model_ranks(records)
    out = []
    for task in dict.fromkeys((t.task, t.task_version) for t in tables):
        own = [t for t in tables if (t.task, t.task_version) == task]
        rank = ranks[(ranks.task == task[0]) & (ranks.task_version == task[1])]
        explained = [t for t in own if t.explainer]
        categories = sorted({c.category for t in explained for c in t.columns if not c.per_model},
                            key=lambda c: (category_rank(c), c))
        headline = rank.groupby(["category", "method", "architecture"])["rank"].mean().to_dict()
        per_explainer = rank.groupby(["explainer", "category", "method", "architecture"])["rank"].mean().to_dict()
        first = overview(own, categories, headline)
        grids = [first] * bool(first.columns) + [category_grid(explained, c, per_explainer) for c in categories]
        out.append(Section(task[0], task[1], own[0].seeds(), grids))
    return out


def overview(own: list[Table], categories: list[str], headline: dict[tuple[str, str, str], float]) -> Grid:
    """Per-model columns once, then each category's mean rank over its metrics and the explainers."""
    rows = sorted({r for t in own for r in t.rows}, key=lambda r: (r[0] != BASELINE_METHOD, r))
    per_model = [c for c in own[0].columns if c.per_model]
    table = Table(own[0].task, own[0].task_version, None, per_model, rows, [], own[0].values)
    best = best_values(table)
    ranked = categories if len(rows) > 1 else []  # a lone model has no rank
    columns = per_model + [rank_column(c, f"{category_title(c)} rank") for c in ranked]
    lines = []
    for row in rows:
        cells = [cell(table, row, c, None, best) for c in per_model]
        for category in ranked:
            value = headline.get((category, *row), float("nan"))
            top = min((v for (c, *_), v in headline.items() if c == category), default=None)
            cells.append(Cell(value, bold=len(rows) > 1 and value == top, digits=2))
        lines.append(Line(row, cells))
    explainers = ", ".join(t.explainer for t in own if t.explainer)
    note = "One row per model" + (f"; a category's rank: the model's mean rank over the category's metrics and "
                                  f"the explainers ({explainers}), 1 = best." if ranked else ".")
    return Grid("Overview", MODEL_KEYS, columns, lines, note)


def category_grid(explained: list[Table], category: str, rank: dict[tuple[str, ...], float]) -> Grid:
    """The explainer as the first row level, one column per metric of the category, and a Rank per explainer."""
    columns = sorted({c for t in explained for c in t.columns if c.category == category and not c.per_model},
                     key=Column.sort_key)
    lines, controls = [], {}
    ranked = len({r for t in explained for r in t.rows}) > 1
    for table in explained:
        best = best_values(table)
        for row in table.rows:
            cells = [cell(table, row, c, table.explainer, best) for c in columns]
            if all(c.mean != c.mean for c in cells):
                continue  # no metric of this category on this model (e.g. ROAR on some methods only)
            value = rank.get((table.explainer, category, *row), float("nan"))
            lines.append(Line((table.explainer, *row), cells + [Cell(value, digits=2)] * ranked))
        for control, row in table.controls:
            cells = [cell(table, row, c, control, {}) for c in columns]
            if any(c.mean == c.mean for c in cells):
                controls.setdefault((control, row), Line((f"control: {control}", *row),
                                                         cells + [Cell(digits=2)] * ranked, control=True))
    note = "Each explainer's models, then the controls (on the model named)" + (
        f"; Rank: the mean rank over the {len(columns)} column{'s' * (len(columns) != 1)} among the same "
        "explainer's models." if ranked else ".")
    return Grid(category_title(category), ("Explainer", *MODEL_KEYS),
                columns + [rank_column(category, "Rank")] * ranked, lines + list(controls.values()), note)
