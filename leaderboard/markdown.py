"""Markdown leaderboard: per task an overview (one row per model: the per-model columns once and each
category's mean rank), then one table per category with the explainer as the first row level; mean ± 95% CI
over seeds, best in bold, a marker where a method differs from ERM (paired t-test over seeds). Every table
has at most ``MAX_COLUMNS`` columns (a wider one continues in a second table with the same rows)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from xaibench.leaderboard.aggregate import BASELINE_METHOD, Column
from xaibench.leaderboard.board import Grid, sections
from xaibench.leaderboard.content import SIGNIFICANCE, Cell, arrow, column_title, provenance
from xaibench.leaderboard.derived import with_derived
from xaibench.record import EvaluationRecord, Record, TrainingRecord

MAX_COLUMNS = 12  # what a GitHub page shows without scrolling sideways
LEGEND = (
    "Per task: an **overview**, one row per model (method × architecture) with the metrics scored without "
    "an explainer (accuracy, cost, ...) and each category's rank (the model's mean rank over the category's "
    "metrics and the explainers, controls left out; 1 = best), then one table per category with each "
    "explainer's models and the controls. Cells: mean ± half-width of the 95% t-interval over seeds. **Bold**: "
    "best in its column (among one explainer's models). "
    f"†: differs from {BASELINE_METHOD} on the same architecture (two-sided paired t-test over seeds, "
    f"p < {SIGNIFICANCE}, at least 3 seeds). Rank in a category table: the mean of the model's ranks over that "
    "table's columns among the same explainer's models (ties share the mean rank). Train FLOPs ×ERM: training "
    "FLOPs (counted, forward and backward, every pass a method makes) over ERM's on the same task, architecture "
    "and seed: the same on every machine (the training records also keep the wall and CPU times, which depend on "
    "the machine and its load). ↑ higher is better, ↓ lower is better."
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


def render_grid(grid: Grid) -> str:
    """One table (or its consecutive parts, each at most MAX_COLUMNS wide) under a heading."""
    out = []
    for part in grid.split(MAX_COLUMNS):
        lines = [f"### {escape(part.title)}", ""] + ([escape(part.note), ""] if part.note else [])
        lines += [f"| {' | '.join(part.keys)} | {' | '.join(map(header, part.columns))} |",
                  "|" + "---|" * len(part.keys) + "---:|" * len(part.columns)]
        for line in part.lines:
            names = [escape(n) for n in line.labels]
            if line.control:
                names[0] = f"*{names[0]}*"
            lines.append(f"| {' | '.join(names)} | " + " | ".join(_cell(c) for c in line.cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def render_markdown(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = ()) -> str:
    """The whole leaderboard: a section per task (overview, category tables), a legend and a provenance footer.
    ``training``: the training records, for the cost columns.

    >>> render_markdown([])
    '# xaibench leaderboard\\n\\nNo results yet.\\n'
    """
    records = list(records)
    if not records:
        return "# xaibench leaderboard\n\nNo results yet.\n"
    records = with_derived(records, training)
    parts = ["# xaibench leaderboard", LEGEND]
    for section in sections(records):
        parts.append(f"## {escape(section.task)} (task v{escape(section.task_version)}), "
                     f"seeds {', '.join(map(str, section.seeds))}")
        parts += [render_grid(g) for g in section.grids]
    return "\n\n".join(parts + [footer(records)]) + "\n"


def footer(records: Sequence[Record]) -> str:
    codes, suites, packages = provenance(records)
    return "\n".join([
        "---",
        "",
        f"Code version: {', '.join(codes)}. Suite: {', '.join(escape(s) for s in suites)}. "
        f"{len(records)} records.",
        "",
        f"Packages: {'; '.join(packages)}.",
    ])
