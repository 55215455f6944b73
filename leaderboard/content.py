"""What every leaderboard format shows, before formatting: the cells of a table (mean, CI, best, the
marker of a paired test against ERM) and the provenance. `board` arranges the cells into tables; the
markdown, HTML and LaTeX renderers only format those, so their cells are the same by construction.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from xaibench.leaderboard.aggregate import BASELINE_METHOD, Column, Row, Table
from xaibench.leaderboard.stats import paired_p_value, summarize
from xaibench.record import Record

SIGNIFICANCE = 0.05


@dataclasses.dataclass(frozen=True)
class Cell:
    """One table cell: the mean over seeds, the CI half-width (None with one seed), the † marker, bold.

    >>> Cell(0.85, 0.1239, marker=True).text(), Cell(0.5).text(), Cell().text(missing="--"), Cell(1.5, digits=2).text()
    ('0.850 ± 0.124 †', '0.500', '--', '1.50')
    """

    mean: float = math.nan  # NaN: no value
    ci95: float | None = None
    marker: bool = False
    bold: bool = False
    digits: int = 3  # ranks: 2

    def text(self, pm: str = " ± ", dagger: str = " †", missing: str = "–") -> str:
        if math.isnan(self.mean):
            return missing
        ci = f"{pm}{self.ci95:.{self.digits}f}" if self.ci95 is not None else ""
        return f"{self.mean:.{self.digits}f}{ci}" + (dagger if self.marker else "")


def column_title(column: Column) -> str:
    """The header text without the arrow: label, non-default parameters, version if not 1."""
    return f"{column.label}{column.variant}" + (f" v{column.version}" if column.version != "1" else "")


def arrow(column: Column) -> str:
    return "↑" if column.higher_is_better else "↓"


def explainer_of(table: Table, column: Column) -> str | None:
    return None if column.per_model else table.explainer


def means(table: Table, column: Column) -> dict[Row, float]:
    """Each model row's mean over seeds in ``column`` (rows without a finite value left out)."""
    out = {}
    for row in table.rows:
        seeds = table.values.get((explainer_of(table, column), row, column))
        if seeds:
            out[row] = summarize(list(seeds.values())).mean
    return {r: m for r, m in out.items() if not math.isnan(m)}


def best_values(table: Table) -> dict[Column, float]:
    """The best mean of each column; none in a one-row table (a lone row is not "best")."""
    best = {}
    if len(table.rows) > 1:
        for column in table.columns:
            values = means(table, column)
            if values:
                best[column] = (max if column.higher_is_better else min)(values.values())
    return best


def cell(table: Table, row: Row, column: Column, explainer: str | None, best: dict[Column, float]) -> Cell:
    seeds = table.values.get((explainer, row, column))
    s = summarize(list(seeds.values())) if seeds else None
    if s is None or math.isnan(s.mean):
        return Cell()
    ci = s.ci95 if s.n_seeds > 1 else None
    if explainer not in (None, table.explainer):  # a control row: no bold, no test
        return Cell(s.mean, ci)
    marker = False
    if row[0] != BASELINE_METHOD:
        p = paired_p_value(seeds, table.values.get((explainer, (BASELINE_METHOD, row[1]), column), {}))
        marker = p is not None and p < SIGNIFICANCE
    bold = column in best and f"{s.mean:.3f}" == f"{best[column]:.3f}"  # ties at the shown precision
    return Cell(s.mean, ci, marker, bold)


def provenance(records: Sequence[Record]) -> tuple[list[str], list[str], list[str]]:
    """Code versions, suites ("name (hash)") and package version sets of the records."""
    codes = sorted({r["code_version"] for r in records})
    suites = sorted({f"{r['suite']['name']} ({r['suite']['hash']})" for r in records})
    packages = sorted({", ".join(f"{k} {v}" for k, v in sorted(r["versions"].items())) for r in records})
    return codes, suites, packages
