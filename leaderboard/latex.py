r"""The leaderboard as LaTeX: one booktabs table per task and explainer, with the markdown's cells
(mean $\pm$ CI, best in \textbf, $^\dagger$ where a method differs from ERM), for papers.

Needs ``\usepackage{booktabs}``; every name is LaTeX-escaped, as names may come from plugins.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.aggregate import Table, aggregate
from xaibench.leaderboard.content import Cell, arrow, column_title, layout, provenance
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.markdown import LEGEND

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


def render_table(table: Table) -> str:
    lay = layout(table)
    spans, rules, start = [], [], 3
    for category, cols in lay.groups:
        spans.append(rf"\multicolumn{{{len(cols)}}}{{c}}{{{latex_escape(category)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + len(cols) - 1}}}")
        start += len(cols)
    titles = [latex_escape(f"{column_title(c)} {arrow(c)}") for c in table.columns] + (["Rank"] if lay.ranked else [])
    explainer = f"explainer {latex_escape(table.explainer)}" if table.explainer else "predictive metrics only"
    lines = [r"\begin{table}[ht]", r"\centering",
             rf"\caption{{{latex_escape(table.task)} (task v{latex_escape(table.task_version)}), {explainer}; "
             rf"seeds {', '.join(map(str, table.seeds()))}.}}",
             rf"\begin{{tabular}}{{ll{'r' * len(titles)}}}", r"\toprule",
             "& & " + " & ".join(spans) + (" &" if lay.ranked else "") + r" \\", " ".join(rules),
             " & ".join(["Method", "Architecture", *titles]) + r" \\",
             r"\midrule"]
    controls = False
    for line in lay.lines:
        if line.control and not controls:
            lines.append(r"\midrule")
            controls = True
        names = ([rf"\textit{{control: {latex_escape(line.control)}}}",
                  f"{latex_escape(line.architecture)} (on {latex_escape(line.method)})"] if line.control
                 else [latex_escape(line.method), latex_escape(line.architecture)])
        cells = [cell_tex(c) for c in line.cells]
        cells += [f"{line.rank:.2f}" if line.rank is not None else "--"] if lay.ranked else []
        lines.append(" & ".join(names + cells) + r" \\")
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}", r"\end{table}"])


def render_latex(records: Iterable[dict[str, Any]], training: Iterable[dict[str, Any]] = ()) -> str:
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
    return "\n\n".join([comment] + [render_table(t) for t in aggregate(records)]) + "\n"
