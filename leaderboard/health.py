"""The training methods' health figures per model (each training record's ``"health"``): one HTML table per task,
the last epoch's value of each figure, warnings marked (TRAINING_METHODS.md §0, "Health figures")."""
from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from xaibench.record import TrainingRecord


def last_values(health: dict[str, Any]) -> dict[str, float]:
    """Each figure's last recorded per-epoch mean.

    >>> last_values({"per_epoch": {"kl": [0.5, 0.25], "ess": [None, 90.0, None]}})
    {'kl': 0.25, 'ess': 90.0}
    """
    out = {}
    for name, values in health.get("per_epoch", {}).items():
        recorded = [v for v in values if v is not None]
        if recorded:
            out[name] = recorded[-1]
    return out


def render_health(training: Iterable[TrainingRecord]) -> str:
    """A section with one table per task: method, architecture, seed, the figures and the warnings ("" if none).

    >>> rec = {"labels": {"task": "t", "method": "rrr", "architecture": "cnn"}, "key": {"seed": 0},
    ...        "health": {"per_epoch": {"ratio": [2.0, 5000.0]}, "warnings": ["rrr: 'ratio' ..."]}}
    >>> "<td>rrr</td><td>cnn</td><td>0</td><td>ratio 5e+03</td>" in render_health([rec])
    True
    """
    rows: dict[str, list[str]] = {}
    for r in training:
        health = r.get("health")
        if not health or not health.get("per_epoch"):
            continue
        labels = r["labels"]
        figures = ", ".join(f"{escape(k)} {v:.3g}" for k, v in last_values(health).items())
        warnings = "; ".join(escape(w) for w in health.get("warnings", []))
        rows.setdefault(labels["task"], []).append(
            f"<tr><td>{escape(labels['method'])}</td><td>{escape(labels['architecture'])}</td>"
            f"<td>{escape(str(r.get('key', {}).get('seed', '')))}</td><td>{figures}</td>"
            f'<td class="warn">{warnings}</td></tr>')
    if not rows:
        return ""
    parts = ['<section id="health"><h2>Training health</h2><p class="legend">Each method\'s own diagnostics '
             "(last epoch's mean; TRAINING_METHODS.md §0). A figure outside its sane range is listed under "
             "warnings.</p>"]
    for task, lines in sorted(rows.items()):
        parts += [f"<h3>{escape(task)}</h3>", '<table class="board"><thead><tr><th>Method</th><th>Architecture</th>'
                  "<th>Seed</th><th>Health figures</th><th>Warnings</th></tr></thead><tbody>", *sorted(lines),
                  "</tbody></table>"]
    return "\n".join(parts + ["</section>"])
