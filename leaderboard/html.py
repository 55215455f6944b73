"""The leaderboard as one self-contained HTML page: the markdown's tables (sortable by clicking a column
header), the figures of `plots` embedded as data URIs, the legend and the provenance footer.

Tables keep every column (the markdown splits wide ones) and fit the screen: headers wrap, a table wider
than the page scrolls sideways inside its own box, and its first column stays in view.

Inline CSS and vanilla JS only: the page needs no network to view. Every name is HTML-escaped, as
methods, explainers, metrics and tasks may come from plugins.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable
from html import escape
from pathlib import Path

from xaibench.leaderboard.board import RANK, Grid, sections
from xaibench.leaderboard.content import Cell, arrow, column_title, provenance
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.health import render_health
from xaibench.leaderboard.markdown import LEGEND
from xaibench.leaderboard.plots import Png, render_figures
from xaibench.record import EvaluationRecord, TrainingRecord

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
.scroll { overflow-x: auto; max-width: 100%; margin: .5em 0 1.5em; }
table.board { border-collapse: separate; border-spacing: 0; font-size: 13px; }
.board th, .board td { padding: .25em .5em; border-bottom: 1px solid #ddd; }
.board td { white-space: nowrap; }
.board th { white-space: normal; vertical-align: bottom; min-width: 4em; max-width: 9em; }
.board tr > :first-child { position: sticky; left: 0; z-index: 1; background: #fff; box-shadow: 1px 0 #ddd; }
.board thead tr > :first-child { background: #f4f4f4; }
.board td.num { text-align: right; font-variant-numeric: tabular-nums; }
.board tr.groups th { font-weight: normal; font-style: italic; color: #666; border-bottom: 1px solid #999; }
.board th[data-col] { cursor: pointer; user-select: none; background: #f4f4f4; }
.board th[aria-sort=ascending]::after { content: " ▲"; }
.board th[aria-sort=descending]::after { content: " ▼"; }
.board tbody.controls td { color: #777; font-style: italic; }
p.note { margin: .2em 0; color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
.legend, footer { color: #555; max-width: 70em; }
.board td.warn { color: #b00; white-space: normal; }
"""

# Click a header: sort the model rows by that column (numbers by the mean; missing values last), again: reverse.
JS = """
function sortBy(th) {
  const body = th.closest("table").tBodies[0], col = Number(th.dataset.col), text = th.dataset.type === "text";
  const asc = th.getAttribute("aria-sort") !== "ascending";
  for (const h of th.parentNode.children) h.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  const key = row => {
    const c = row.cells[col];
    return text ? c.textContent : (c.dataset.value === undefined ? NaN : Number(c.dataset.value));
  };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b);
    if (text) return asc ? x.localeCompare(y) : y.localeCompare(x);
    if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
    return asc ? x - y : y - x;
  });
  for (const row of rows) body.appendChild(row);
}
document.addEventListener("click", e => {
  const th = e.target.closest && e.target.closest("th[data-col]");
  if (th) sortBy(th);
});
document.addEventListener("keydown", e => {
  const th = e.target.closest && e.target.closest("th[data-col]");
  if (th && e.key === "Enter") sortBy(th);
});
"""


def render_html(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = (),
                store_root: str | Path | None = None) -> str:
    """The whole page; ``store_root``: the result store, for the gallery of attribution maps.

    >>> "No results yet." in render_html([])
    True
    """
    records, training = list(records), list(training)
    body = ["<h1>xaibench leaderboard</h1>"]
    if not records:
        return _page(body + ["<p>No results yet.</p>"])
    figures = render_figures(records, training, store_root)
    all_records = with_derived(records, training)
    tasks = sections(all_records)
    body.append(f'<p class="legend">{escape(LEGEND).replace("**Bold**", "<b>Bold</b>")}</p>'.replace(
        "**overview**", "<b>overview</b>"))
    body.append("<nav>" + " · ".join(f'<a href="#task-{i}">{escape(f"{t.task} (task v{t.task_version})")}</a>'
                                     for i, t in enumerate(tasks)) + "</nav>")
    for i, section in enumerate(tasks):
        body.append(f'<section id="task-{i}"><h2>{escape(section.task)} (task v{escape(section.task_version)}), '
                    f'seeds {", ".join(map(str, section.seeds))}</h2>')
        body += [render_grid(g) for g in section.grids]
        body += [_figure(p) for p in figures if p.task == (section.task, section.task_version)]
        body.append("</section>")
    body.append(render_health(training))
    codes, suites, packages = provenance(all_records)
    body.append(f"<footer><hr><p>Code version: {escape(', '.join(codes))}. Suite: {escape(', '.join(suites))}. "
                f"{len(all_records)} records.</p><p>Packages: {escape('; '.join(packages))}.</p></footer>")
    return _page(body)


def render_grid(grid: Grid) -> str:
    """One table in its scroll box: a header row of category groups, a sortable header row, model rows, then
    control rows."""
    keys = len(grid.keys)
    groups = [f'<tr class="groups"><th colspan="{keys}"></th>',
              *(f'<th colspan="{n}">{escape(category if category != RANK else "rank")}</th>'
                for category, n in grid.groups()), "</tr>"]
    heads = [f'<th data-col="{j}" data-type="text" tabindex="0">{escape(k)}</th>' for j, k in enumerate(grid.keys)]
    heads += [f'<th data-col="{j + keys}" tabindex="0" title="{escape(f"{c.metric} v{c.version}{c.variant}")}">'
              f"{escape(column_title(c))} {arrow(c)}</th>" for j, c in enumerate(grid.columns)]
    models, controls = [], []
    for line in grid.lines:
        row = "".join(f"<td>{escape(n)}</td>" for n in line.labels) + "".join(map(_cell, line.cells))
        (controls if line.control else models).append(f"<tr>{row}</tr>")
    note = [f'<p class="note">{escape(grid.note)}</p>'] if grid.note else []
    return "\n".join([f"<h3>{escape(grid.title)}</h3>", *note, '<div class="scroll"><table class="board"><thead>',
                      "".join(groups), f"<tr>{''.join(heads)}</tr></thead>", "<tbody>", *models, "</tbody>",
                      '<tbody class="controls">', *controls, "</tbody></table></div>"])


def _cell(c: Cell) -> str:
    """A value cell: the markdown's text, its mean in data-value for sorting."""
    if c.mean != c.mean:  # NaN: no value, sorted last
        return '<td class="num">–</td>'
    text = escape(c.text())
    return f'<td class="num" data-value="{c.mean!r}">' + (f"<b>{text}</b>" if c.bold else text) + "</td>"


def _figure(p: Png) -> str:
    data = base64.b64encode(p.data).decode()
    return (f'<figure class="{p.kind}"><img src="data:image/png;base64,{data}" alt="{escape(p.caption)}">'
            f"<figcaption>{escape(p.caption)}</figcaption></figure>")


def _page(body: list[str]) -> str:
    return "\n".join(['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      "<title>xaibench leaderboard</title>", f"<style>{CSS}</style>", f"<script>{JS}</script>",
                      "</head><body>", *body, "</body></html>"]) + "\n"
