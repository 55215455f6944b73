"""Markdown leaderboard: per task and explainer, mean ± 95% CI over seeds, best per column in bold,
a marker where a method differs from ERM (paired t-test over seeds), control rows, and a rank."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.aggregate import BASELINE_METHOD, Column, Row, Table, aggregate
from xaibench.leaderboard.derived import polarity_bias_records, training_cost_records
from xaibench.leaderboard.stats import paired_p_value, summarize

SIGNIFICANCE = 0.05

LEGEND = (
    "Cells: mean ± half-width of the 95% t-interval over seeds. **Bold**: best in its column. "
    f"†: differs from {BASELINE_METHOD} on the same architecture (two-sided paired t-test over seeds, "
    f"p < {SIGNIFICANCE}, at least 3 seeds). Rank: mean of the row's ranks over the table's columns except "
    "cost (1 = best; ties share the mean rank; control rows not ranked). Train time ×ERM: training wall time "
    "over ERM's on the same task, architecture and seed. ↑ higher is better, ↓ lower is better."
)


def escape(text: str) -> str:
    """Make a (possibly plugin-supplied) name safe inside a markdown table cell."""
    out = text.replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def header(column: Column) -> str:
    version = f" v{column.version}" if column.version != "1" else ""
    return escape(f"{column.label}{column.variant}{version}") + (" ↑" if column.higher_is_better else " ↓")


def _explainer_of(table: Table, column: Column) -> str | None:
    return None if column.per_model else table.explainer


def _means(table: Table, column: Column) -> dict[Row, float]:
    out = {}
    for row in table.rows:
        seeds = table.values.get((_explainer_of(table, column), row, column))
        if seeds:
            out[row] = summarize(list(seeds.values())).mean
    return {r: m for r, m in out.items() if not math.isnan(m)}


def _ranks(table: Table) -> dict[Row, float]:
    """Mean over columns of each row's rank (1 = best, ties averaged)."""
    per_row: dict[Row, list[float]] = {r: [] for r in table.rows}
    for column in (c for c in table.columns if c.category != "cost"):
        means = _means(table, column)
        ordered = sorted(means.values(), reverse=column.higher_is_better)
        for row, m in means.items():
            positions = [i + 1 for i, v in enumerate(ordered) if v == m]
            per_row[row].append(sum(positions) / len(positions))
    return {r: sum(v) / len(v) for r, v in per_row.items() if v}


def cell_text(table: Table, row: Row, column: Column, explainer: str | None, best: dict[Column, float]) -> str:
    seeds = table.values.get((explainer, row, column))
    summary = summarize(list(seeds.values())) if seeds else None
    if summary is None or math.isnan(summary.mean):
        return "–"
    text = f"{summary.mean:.3f}" + (f" ± {summary.ci95:.3f}" if summary.n_seeds > 1 else "")
    if explainer not in (None, table.explainer):  # a control row: no bold, no test
        return text
    if row[0] != BASELINE_METHOD:
        p = paired_p_value(seeds, table.values.get((explainer, (BASELINE_METHOD, row[1]), column), {}))
        text += " †" if p is not None and p < SIGNIFICANCE else ""
    return f"**{text}**" if column in best and f"{summary.mean:.3f}" == f"{best[column]:.3f}" else text


def render_table(table: Table) -> str:
    title = f"### {escape(table.explainer)}" if table.explainer else "### predictive metrics only"
    best = {}
    if len(table.rows) > 1:  # a lone row is not "best"
        for column in table.columns:
            means = _means(table, column)
            if means:
                best[column] = (max if column.higher_is_better else min)(means.values())
    ranks = _ranks(table) if len(table.rows) > 1 else {}
    groups = []
    for column in table.columns:
        if not groups or groups[-1][0] != column.category:
            groups.append((column.category, []))
        groups[-1][1].append(column.label)
    lines = [title, "", "Columns by category: " + "; ".join(f"{c}: {', '.join(map(escape, labels))}"
                                                           for c, labels in groups) + ".", "",
             "| Method | Architecture | " + " | ".join(map(header, table.columns)) + (" | Rank |" if ranks else " |"),
             "|---|---|" + "---:|" * len(table.columns) + ("---:|" if ranks else "")]
    for row in table.rows:
        cells = [cell_text(table, row, c, _explainer_of(table, c), best) for c in table.columns]
        rank = [f"{ranks[row]:.2f}" if row in ranks else "–"] if ranks else []
        lines.append(f"| {escape(row[0])} | {escape(row[1])} | " + " | ".join(cells + rank) + " |")
    for control, row in table.controls:
        cells = ["–" if c.per_model else cell_text(table, row, c, control, best) for c in table.columns]
        lines.append(f"| *control: {escape(control)}* | {escape(row[1])} (on {escape(row[0])}) | "
                     + " | ".join(cells + (["–"] if ranks else [])) + " |")
    return "\n".join(lines)


def render_markdown(records: Iterable[dict[str, Any]], training: Iterable[dict[str, Any]] = ()) -> str:
    """The whole leaderboard: a section per task, a table per explainer, a legend and a provenance footer.
    ``training``: the training records, for the training-time column.

    >>> render_markdown([])
    '# xaibench leaderboard\\n\\nNo results yet.\\n'
    """
    records = list(records)
    if not records:
        return "# xaibench leaderboard\n\nNo results yet.\n"
    records += polarity_bias_records(records) + training_cost_records(training)
    parts, current = ["# xaibench leaderboard", LEGEND], None
    for table in aggregate(records):
        if (table.task, table.task_version) != current:
            current = (table.task, table.task_version)
            parts.append(f"## {escape(table.task)} (task v{escape(table.task_version)}), "
                         f"seeds {', '.join(map(str, table.seeds()))}")
        parts.append(render_table(table))
    return "\n\n".join(parts + [footer(records)]) + "\n"


def footer(records: list[dict[str, Any]]) -> str:
    codes = sorted({r["code_version"] for r in records})
    suites = sorted({f"{r['suite']['name']} ({r['suite']['hash']})" for r in records})
    packages = sorted({", ".join(f"{k} {v}" for k, v in sorted(r["versions"].items())) for r in records})
    return "\n".join([
        "---",
        "",
        f"Code version: {', '.join(codes)}. Suite: {', '.join(escape(s) for s in suites)}. "
        f"{len(records)} records.",
        "",
        f"Packages: {'; '.join(packages)}.",
    ])
