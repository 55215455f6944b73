"""Markdown leaderboard: per task and explainer, mean ± 95% CI over seeds, best per column in bold,
a marker where a method differs from ERM (paired t-test over seeds), control rows, and a rank."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.aggregate import BASELINE_METHOD, Column, Table, aggregate
from xaibench.leaderboard.content import SIGNIFICANCE, Cell, arrow, column_title, layout, provenance
from xaibench.leaderboard.derived import with_derived

LEGEND = (
    "Cells: mean ± half-width of the 95% t-interval over seeds. **Bold**: best in its column. "
    f"†: differs from {BASELINE_METHOD} on the same architecture (two-sided paired t-test over seeds, "
    f"p < {SIGNIFICANCE}, at least 3 seeds). Rank: mean of the row's ranks over the table's columns except "
    "cost (1 = best; ties share the mean rank; control rows not ranked). Train FLOPs ×ERM: training FLOPs "
    "(counted, forward and backward, every pass a method makes) over ERM's on the same task, architecture and "
    "seed: the same on every machine (the training records also keep the wall and CPU times, which depend on the "
    "machine and its load). ↑ higher is better, ↓ lower is better."
)


def escape(text: str) -> str:
    """Make a (possibly plugin-supplied) name safe inside a markdown table cell."""
    out = text.replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def header(column: Column) -> str:
    return f"{escape(column_title(column))} {arrow(column)}"


def _cell(c: Cell) -> str:
    return f"**{c.text()}**" if c.bold else c.text()


def render_table(table: Table) -> str:
    title = f"### {escape(table.explainer)}" if table.explainer else "### predictive metrics only"
    lay = layout(table)
    groups = "; ".join(f"{category}: {', '.join(escape(c.label) for c in cols)}" for category, cols in lay.groups)
    lines = [title, "", f"Columns by category: {groups}.", "",
             f"| Method | Architecture | {' | '.join(map(header, table.columns))} |" + (" Rank |" * lay.ranked),
             "|---|---|" + "---:|" * len(table.columns) + ("---:|" if lay.ranked else "")]
    for line in lay.lines:
        rank = [f"{line.rank:.2f}" if line.rank is not None else "–"] if lay.ranked else []
        names = (f"*control: {escape(line.control)}* | {escape(line.architecture)} (on {escape(line.method)})"
                 if line.control else f"{escape(line.method)} | {escape(line.architecture)}")
        lines.append(f"| {names} | " + " | ".join([_cell(c) for c in line.cells] + rank) + " |")
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
    records = with_derived(records, training)
    parts, current = ["# xaibench leaderboard", LEGEND], None
    for table in aggregate(records):
        if (table.task, table.task_version) != current:
            current = (table.task, table.task_version)
            parts.append(f"## {escape(table.task)} (task v{escape(table.task_version)}), "
                         f"seeds {', '.join(map(str, table.seeds()))}")
        parts.append(render_table(table))
    return "\n\n".join(parts + [footer(records)]) + "\n"


def footer(records: list[dict[str, Any]]) -> str:
    codes, suites, packages = provenance(records)
    return "\n".join([
        "---",
        "",
        f"Code version: {', '.join(codes)}. Suite: {', '.join(escape(s) for s in suites)}. "
        f"{len(records)} records.",
        "",
        f"Packages: {'; '.join(packages)}.",
    ])
