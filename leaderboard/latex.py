r"""The leaderboard as LaTeX: the markdown's tables (per task an overview and one per category) in booktabs, with its cells
(mean $\pm$ CI, best in \textbf, $^\dagger$ where a method differs from ERM), for papers.

Needs ``\usepackage{booktabs}``; every name is LaTeX-escaped, as names may come from plugins.
"""
from __future__ import annotations

from collections.abc import Iterable

from xaibench.leaderboard.board import Grid, Section, sections
from xaibench.leaderboard.content import Cell, arrow, column_title, provenance
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.markdown import LEGEND
from xaibench.record import EvaluationRecord, TrainingRecord

SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
           "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
           ">": r"\textgreater{}", "|": r"\textbar{}", "\n": " ",
           # symbols the leaderboard itself writes, which pdflatex does not know as Unicode
           "±": r"$\pm$", "†": r"$^\dagger$", "×": r"$\times$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
           "–": "--"}


def latex_escape(text: str) -> str:
    r"""A name as LaTeX text.

    >>> print(latex_escape("a_b & 50% {x}"))
    a\_b \& 50\% \{x\}
    """
    return "".join(SPECIAL.get(ch, ch) for ch in text)


def cell_tex(c: Cell) -> str:
    r"""The markdown cell's text in LaTeX.

    >>> cell_tex(Cell(0.9, 0.1239, marker=True, bold=True)), cell_tex(Cell())
    ('\\textbf{0.900 $\\pm$ 0.124$^\\dagger$}', '--')
    """
    text = c.text(pm=r" $\pm$ ", dagger=r"$^\dagger$", missing="--")
    return rf"\textbf{{{text}}}" if c.bold else text


def render_grid(section: Section, grid: Grid) -> str:
    keys = len(grid.keys)
    spans, rules, start = [], [], keys + 1
    for category, n in grid.groups():
        spans.append(rf"\multicolumn{{{n}}}{{c}}{{{latex_escape(category)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + n - 1}}}")
        start += n
    titles = [latex_escape(f"{column_title(c)} {arrow(c)}") for c in grid.columns]
    lines = [r"\begin{table}[ht]", r"\centering",
             rf"\caption{{{latex_escape(section.task)} (task v{latex_escape(section.task_version)}), "
             rf"{latex_escape(grid.title.lower())}; seeds {', '.join(map(str, section.seeds))}.}}",
             rf"\begin{{tabular}}{{{'l' * keys}{'r' * len(titles)}}}", r"\toprule",
             "&" * keys + " " + " & ".join(spans) + r" \\", " ".join(rules),
             " & ".join([*grid.keys, *titles]) + r" \\",
             r"\midrule"]
    controls = False
    for line in grid.lines:
        if line.control and not controls:
            lines.append(r"\midrule")
            controls = True
        names = [latex_escape(n) for n in line.labels]
        if line.control:
            names[0] = rf"\textit{{{names[0]}}}"
        lines.append(" & ".join(names + [cell_tex(c) for c in line.cells]) + r" \\")
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}", r"\end{table}"])


def render_latex(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = ()) -> str:
    r"""Every table, after a comment with the legend and the provenance.

    >>> render_latex([])
    '% xaibench leaderboard: no results yet.\n'
    """
    records = list(records)
    if not records:
        return "% xaibench leaderboard: no results yet.\n"
    records = with_derived(records, training)
    codes, suites, packages = provenance(records)
    head = [r"xaibench leaderboard (needs \usepackage{booktabs})", LEGEND.replace("**", ""),
            f"Code version: {', '.join(codes)}. Suite: {', '.join(suites)}. {len(records)} records.",
            f"Packages: {'; '.join(packages)}."]
    comment = "\n".join("% " + line.replace("\n", " ") for line in head)  # a name's newline would end the comment
    return "\n\n".join([comment] + [render_grid(s, g) for s in sections(records) for g in s.grids]) + "\n"
