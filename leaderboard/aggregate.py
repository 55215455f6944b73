"""Records -> one table per (task, explainer): rows are method x architecture, values per seed.

A pure function of the stored records. A column is one (metric name, metric version): two versions
of a metric never share a column, and two versions of a task never share a table. Predictive
metrics (no explainer) appear in every table of their task; the control explainers (`random`,
`constant`) become rows under every other explainer's table.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from xaibench.record import Record, category_rank

CONTROLS = ("random", "constant")
BASELINE_METHOD = "erm"


@dataclasses.dataclass(frozen=True)
class Column:
    metric: str
    version: str
    label: str
    category: str
    higher_is_better: bool
    variant: str = ""  # the metric's non-default parameters, e.g. "(tau=3.0)": other parameters, other column
    per_model: bool = False  # scored once per model (no explainer): shown in every table of the task

    def sort_key(self) -> tuple[Any, ...]:
        return not self.per_model, category_rank(self.category), self.metric, self.version, self.variant


Row = tuple[str, str]  # (method label, architecture label)


@dataclasses.dataclass
class Table:
    """Values per seed of every (row, column) for one task version and one explainer."""

    task: str
    task_version: str
    explainer: str | None  # None: a task evaluated with predictive metrics only
    columns: list[Column]
    rows: list[Row]
    controls: list[tuple[str, Row]]  # (control explainer, the model row whose values it shows)
    values: dict[tuple[str | None, Row, Column], dict[int, float]]  # (explainer, row, column) -> seed -> value

    def seeds(self) -> list[int]:
        return sorted({s for v in self.values.values() for s in v})


def column_of(record: Record) -> Column:
    """The column a record's value goes in."""
    metric, labels = record["metric"], record["labels"]
    return Column(metric["name"], metric["version"], metric["label"], metric["category"], metric["higher_is_better"],
                  labels["metric"].removeprefix(metric["name"]), labels["explainer"] is None)


def aggregate(records: Iterable[Record]) -> list[Table]:
    """Group records by task version, then explainer; sort rows (ERM first) and columns (by category)."""
    by_task: dict[tuple[str, str], dict[tuple[str | None, Row, Column], dict[int, float]]] = {}
    for rec in records:
        key, labels = rec["key"], rec["labels"]
        cell = (labels["explainer"], (labels["method"], labels["architecture"]), column_of(rec))
        by_task.setdefault((labels["task"], key["task"]["version"]), {}).setdefault(cell, {})[key["seed"]] = \
            rec["value"]
    tables = []
    for (task, version), values in sorted(by_task.items()):
        explainers = sorted({e for e, _, _ in values if e is not None and e not in CONTROLS})
        predictive = sorted({c for e, _, c in values if e is None}, key=Column.sort_key)
        for explainer in explainers or [None]:
            own = {c for e, _, c in values if e == explainer and e is not None}
            rows = sorted({r for e, r, _ in values if e in (None, explainer)},
                          key=lambda r: (r[0] != BASELINE_METHOD, r))
            tables.append(Table(task, version, explainer, predictive + sorted(own, key=Column.sort_key), rows,
                                _control_rows(values, rows) if explainer else [], values))
    return tables


def _control_rows(values: dict[tuple[str | None, Row, Column], dict[int, float]],
                  rows: list[Row]) -> list[tuple[str, Row]]:
    """One row per control explainer and architecture, on that architecture's ERM model (else its first row)."""
    out = []
    for control in CONTROLS:
        explained = {r for e, r, _ in values if e == control}
        for arch in sorted({a for _, a in rows}):
            candidates = [r for r in rows if r[1] == arch and r in explained]
            if candidates:
                out.append((control, candidates[0]))  # rows are sorted with ERM first
    return out
