"""Records -> per-task tables of values over seeds. A pure function of the stored records.

A column is one (explainer, metric name, metric version): two versions of a metric never share a
column, and two versions of a task never share a table.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable
from typing import Any

CATEGORY_ORDER = ("predictive", "faithfulness", "localization", "input_bias", "sanity", "complexity", "cost")


@dataclasses.dataclass(frozen=True)
class Column:
    explainer: str | None
    metric: str
    version: str
    label: str
    category: str
    higher_is_better: bool

    def sort_key(self) -> tuple[Any, ...]:
        return (CATEGORY_ORDER.index(self.category) if self.category in CATEGORY_ORDER else len(CATEGORY_ORDER),
                self.explainer or "", self.metric, self.version)


@dataclasses.dataclass(frozen=True)
class Summary:
    mean: float
    std: float
    n_seeds: int


@dataclasses.dataclass
class TaskTable:
    task: str
    task_version: str
    columns: list[Column]
    rows: list[tuple[str, str]]  # (method label, architecture label)
    cells: dict[tuple[tuple[str, str], Column], Summary]
    seeds: list[int]
    n_samples: dict[Column, int]

    def best(self, column: Column) -> float | None:
        means = [s.mean for (row, c), s in self.cells.items() if c == column and not math.isnan(s.mean)]
        if not means:
            return None
        return max(means) if column.higher_is_better else min(means)


def summarize(values: list[float]) -> Summary:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Summary(float("nan"), float("nan"), 0)
    return Summary(statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0, len(finite))


def aggregate(records: Iterable[dict[str, Any]]) -> list[TaskTable]:
    """Group records into one table per (task, task version); each cell summarizes the seeds."""
    groups: dict[tuple[str, str], dict[tuple[tuple[str, str], Column], dict[int, float]]] = {}
    seeds: dict[tuple[str, str], set[int]] = {}
    samples: dict[tuple[tuple[str, str], Column], int] = {}
    for rec in records:
        key, labels, metric = rec["key"], rec["labels"], rec["metric"]
        table = (labels["task"], key["task"]["version"])
        column = Column(labels["explainer"], metric["name"], metric["version"], metric["label"],
                        metric["category"], metric["higher_is_better"])
        row = (labels["method"], labels["architecture"])
        groups.setdefault(table, {}).setdefault((row, column), {})[key["seed"]] = rec["value"]
        seeds.setdefault(table, set()).add(key["seed"])
        samples[(table, column)] = max(samples.get((table, column), 0), rec["n"] + rec["n_excluded"])
    tables = []
    for (task, version), cells in sorted(groups.items()):
        columns = sorted({c for _, c in cells}, key=Column.sort_key)
        rows = sorted({r for r, _ in cells})
        tables.append(TaskTable(
            task=task, task_version=version, columns=columns, rows=rows,
            cells={k: summarize([v for _, v in sorted(by_seed.items())]) for k, by_seed in cells.items()},
            seeds=sorted(seeds[(task, version)]),
            n_samples={c: samples[((task, version), c)] for c in columns},
        ))
    return tables
