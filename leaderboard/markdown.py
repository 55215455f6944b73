"""Markdown leaderboard: a table per task, mean ± std over seeds, best per column in bold."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.aggregate import Column, TaskTable, aggregate


def escape(text: str) -> str:
    """Make a (possibly plugin-supplied) name safe inside a markdown table cell."""
    out = text.replace("\\", "\\\\")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def header(column: Column) -> str:
    arrow = "↑" if column.higher_is_better else "↓"
    version = f" v{column.version}" if column.version != "1" else ""
    prefix = f"{column.explainer}: " if column.explainer else ""
    return escape(f"{prefix}{column.label}{version}") + f" {arrow}"


def cell_text(table: TaskTable, row: tuple[str, str], column: Column) -> str:
    summary = table.cells.get((row, column))
    if summary is None or math.isnan(summary.mean):
        return "–"
    text = f"{summary.mean:.3f}" + (f" ± {summary.std:.3f}" if summary.n_seeds > 1 else "")
    best = table.best(column) if len(table.rows) > 1 else None  # a lone row is not "best"
    return f"**{text}**" if best is not None and f"{summary.mean:.3f}" == f"{best:.3f}" else text


def render_table(table: TaskTable) -> str:
    lines = [
        f"## {escape(table.task)} (task v{escape(table.task_version)})",
        "",
        f"Mean ± std over seeds {', '.join(map(str, table.seeds))}; best per column in bold; "
        "↑ higher is better, ↓ lower is better.",
        "",
        "| Method | Architecture | " + " | ".join(header(c) for c in table.columns) + " |",
        "|---|---|" + "---:|" * len(table.columns),
    ]
    for row in table.rows:
        lines.append(f"| {escape(row[0])} | {escape(row[1])} | "
                     + " | ".join(cell_text(table, row, c) for c in table.columns) + " |")
    return "\n".join(lines)


def render_markdown(records: Iterable[dict[str, Any]]) -> str:
    """The whole leaderboard: one section per task and a provenance footer.

    >>> render_markdown([])
    '# xaibench leaderboard\\n\\nNo results yet.\\n'
    """
    records = list(records)
    if not records:
        return "# xaibench leaderboard\n\nNo results yet.\n"
    parts = ["# xaibench leaderboard", *(render_table(t) for t in aggregate(records)), footer(records)]
    return "\n\n".join(parts) + "\n"


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
