"""Leaderboard figures as PNG, per task: a gallery of stored attribution maps, the metrics' curves, and
accuracy versus each faithfulness metric with its Pareto front.

Rendered once on matplotlib's Agg canvas (no display, no pyplot state); `write_figures` saves the bytes
and the HTML page embeds the same bytes.
"""
from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from xaibench.errors import XaibenchError
from xaibench.leaderboard.aggregate import CONTROLS, Column, Table, aggregate, column_of
from xaibench.leaderboard.content import arrow, column_title, means
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.pareto import pareto_front
from xaibench.metrics.functional.maps import minmax, pool
from xaibench.record import EvaluationRecord, Record, TrainingRecord

TaskId = tuple[str, str]  # (task label, task version): how the tables group records
GALLERY_SAMPLES = 3
COLORS = [f"C{i}" for i in range(10)]
STYLES = ["-", "--", ":", "-."]


@dataclasses.dataclass(frozen=True)
class Png:
    """One rendered figure: its task, kind ("gallery", "curves" or "scatter"), caption, file name and bytes.

    >>> [p.name for p in render_figures([])]
    []
    """

    task: TaskId
    kind: str
    caption: str
    name: str
    data: bytes


def render_figures(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = (),
                   store_root: str | Path | None = None) -> list[Png]:
    """Every figure, task by task; the gallery only with a store (``store_root``) to read attributions from."""
    records = list(records)
    tables = aggregate(with_derived(records, training))
    out: list[Png] = []
    for task in sorted({task_id(r) for r in records}):
        own = [r for r in records if task_id(r) == task]
        title = f"{task[0]} (task v{task[1]})"
        figures = [("gallery", f"{title}: attribution maps", "gallery", gallery(own, store_root))]
        figures += [("curves", f"{title}: {column_title(c)} curves", f"curves-{_slug(column_title(c))}", fig)
                    for c, fig in curves(own)]
        figures.append(("scatter", f"{title}: accuracy versus faithfulness", "scatter",
                        scatter([t for t in tables if (t.task, t.task_version) == task])))
        for kind, caption, suffix, fig in figures:
            if fig is not None:
                out.append(Png(task, kind, caption, f"{_slug(task[0])}-v{_slug(task[1])}-{suffix}", _png(fig)))
    names: dict[str, int] = {}
    for i, p in enumerate(out):  # two names may slug alike: number the later ones
        names[p.name] = names.get(p.name, 0) + 1
        if names[p.name] > 1:
            out[i] = dataclasses.replace(p, name=f"{p.name}-{names[p.name]}")
    return [dataclasses.replace(p, name=p.name + ".png") for p in out]


def write_figures(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord],
                  store_root: str | Path | None, out_dir: str | Path) -> list[Path]:
    """Render every figure into ``out_dir``; returns the written paths."""
    from xaibench.store import write_atomic

    paths = []
    for p in render_figures(records, training, store_root):
        paths.append(Path(out_dir) / p.name)
        write_atomic(paths[-1], p.data)
    return paths


def task_id(record: Record) -> TaskId:
    return record["labels"]["task"], record["key"]["task"]["version"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _text(name: str) -> str:
    """A (plugin-supplied) name as matplotlib text: a '$' would start math mode."""
    return name.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})  # no version stamp: same bytes
    return buf.getvalue()


def _explainer_order(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=lambda e: (e in CONTROLS, e))  # controls last


# --- gallery -----------------------------------------------------------------------------------------------


def attribution_maps(attributions: torch.Tensor) -> np.ndarray:
    """Per-sample 2-D maps in [0, 1]: channels pooled (`sum,abs`); a sequence N x L becomes N x 1 x L."""
    a = attributions if attributions.dim() > 2 else attributions[:, None]
    return minmax(pool(a.float())).float().numpy()


def task_inputs(record: Record, n: int) -> torch.Tensor | None:
    """The first ``n`` test inputs of the record's task (where its evaluation subset starts); None when the
    task is not registered at that version, its data are unavailable, or its inputs are token ids."""
    from xaibench.registries import TASKS

    name, version = record["key"]["task"]["name"], record["key"]["task"]["version"]
    if name not in TASKS or TASKS.get(name).version != version:
        return None
    try:
        task = TASKS.get(name)(record["labels"].get("task_config") or {})
        task.check_available()
        x = task.load("test", record["key"].get("data_seed", 0)).x[:n]
    except XaibenchError:  # data missing, or a config this version no longer accepts
        return None
    return x if x.is_floating_point() else None


def _input_image(x: torch.Tensor) -> np.ndarray:
    if x.dim() == 3:  # C x H x W
        return (x.permute(1, 2, 0) if x.shape[0] == 3 else x.mean(0)).numpy()
    return (x if x.dim() == 2 else x[None]).numpy()  # features x time


def gallery(records: list[EvaluationRecord], store_root: str | Path | None,
            n: int = GALLERY_SAMPLES) -> Figure | None:
    """Rows: the first samples of seed 0's evaluation subset x (method, architecture); columns: the input
    (when the task's data load) then one map per explainer."""
    from xaibench.store import ResultStore

    explained = [r for r in records if r["labels"].get("explainer") and "explainer" in r["key"]]
    if store_root is None or not explained:
        return None
    store, seed = ResultStore(store_root), min(r["key"]["seed"] for r in explained)
    maps: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for r in (r for r in explained if r["key"]["seed"] == seed):
        model, explainer = (r["labels"]["method"], r["labels"]["architecture"]), r["labels"]["explainer"]
        if explainer not in maps.get(model, {}):
            # the attributions' key is the record's key without its metric (TrainCell.explainer_key)
            stored = store.get_tensors("attributions", {k: v for k, v in r["key"].items() if k != "metric"})
            if stored is not None:
                maps.setdefault(model, {})[explainer] = attribution_maps(stored["attributions"][:n])
    if not maps:
        return None
    n = min(n, *(len(m) for by in maps.values() for m in by.values()))
    inputs = task_inputs(explained[0], n)
    explainers = _explainer_order(e for by in maps.values() for e in by)
    columns = (["input"] if inputs is not None else []) + explainers
    rows = [(i, model) for i in range(n) for model in sorted(maps)]
    fig = Figure(figsize=(1.2 + 1.6 * len(columns), 0.3 + 1.5 * len(rows)))
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    for r, (i, model) in enumerate(rows):
        for c, name in enumerate(columns):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if name == "input":
                ax.imshow(_input_image(inputs[i]), cmap="gray", aspect="auto")
            elif name in maps[model]:
                ax.imshow(maps[model][name][i], cmap="inferno", vmin=0, vmax=1, aspect="auto")
            else:
                ax.set_axis_off()
            if r == 0:
                ax.set_title(_text(name), fontsize=8)
        axes[r, 0].set_ylabel(_text(f"#{i} {model[0]}\n{model[1]}"), fontsize=7)
    fig.tight_layout()
    return fig


# --- curves ------------------------------------------------------------------------------------------------


def mean_curve(runs: list[tuple[list[float], list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """The mean over seeds of curves (x, y), each interpolated on the first one's x.

    >>> mean_curve([([0, 1], [1.0, 0.0]), ([0, 0.5, 1], [1.0, 0.0, 0.0])])[1].tolist()
    [1.0, 0.0]
    """
    x = np.asarray(runs[0][0], dtype=float)
    return x, np.mean([np.interp(x, rx, ry) for rx, ry in runs], axis=0)


def curves(records: list[EvaluationRecord]) -> list[tuple[Column, Figure]]:
    """One figure per metric column with curves in its records' details: a panel per explainer, a line per
    (method, architecture) and series, the mean over seeds."""
    found: dict[Column, dict[str, dict[tuple[str, str], dict[str, list[Any]]]]] = {}
    labels: dict[Column, tuple[str, str]] = {}
    for r in records:
        spec = (r.get("details") or {}).get("curves")
        if not spec or not r["labels"].get("explainer"):
            continue
        column = column_of(r)
        labels[column] = spec.get("x_label", ""), spec.get("y_label", "")
        model = r["labels"]["method"], r["labels"]["architecture"]
        series = found.setdefault(column, {}).setdefault(r["labels"]["explainer"], {}).setdefault(model, {})
        for name, xy in spec["series"].items():
            series.setdefault(name, []).append((xy["x"], xy["y"]))
    out = []
    for column in sorted(found, key=Column.sort_key):
        explainers = _explainer_order(found[column])
        models = sorted({m for by in found[column].values() for m in by})
        fig = Figure(figsize=(0.5 + 3.6 * len(explainers), 3.2))
        for ax, explainer in zip(fig.subplots(1, len(explainers), squeeze=False)[0], explainers):
            for model, by_series in sorted(found[column][explainer].items()):
                for j, (name, runs) in enumerate(sorted(by_series.items())):
                    x, y = mean_curve(runs)
                    ax.plot(x, y, STYLES[j % len(STYLES)], color=COLORS[models.index(model) % len(COLORS)],
                            label=_text(f"{model[0]}/{model[1]} {name}"))
            ax.set_title(_text(f"{column_title(column)}: {explainer}"), fontsize=9)
            ax.set_xlabel(_text(labels[column][0]), fontsize=8), ax.set_ylabel(_text(labels[column][1]), fontsize=8)
            ax.legend(fontsize=6)
        fig.tight_layout()
        out.append((column, fig))
    return out


# --- accuracy versus faithfulness --------------------------------------------------------------------------


Panel = tuple[Table, Column, Column, dict[tuple[str, str], tuple[float, float]]]


def scatter_panels(tables: list[Table]) -> list[Panel]:
    """(table, accuracy column, faithfulness column, row -> (accuracy, metric) means over seeds) per panel."""
    panels = []
    for table in (t for t in tables if t.explainer):
        accuracy = next((c for c in table.columns if c.metric == "accuracy"), None)
        if accuracy is None:
            continue
        xs = means(table, accuracy)
        for column in (c for c in table.columns if c.category == "faithfulness"):
            ys = means(table, column)
            points = {r: (xs[r], ys[r]) for r in table.rows if r in xs and r in ys}
            if points:
                panels.append((table, accuracy, column, points))
    return panels


def scatter(tables: list[Table]) -> Figure | None:
    """A panel per explainer and faithfulness metric: a point per (method, architecture), the Pareto front dashed."""
    panels = scatter_panels(tables)
    if not panels:
        return None
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(0.5 + 3.6 * cols, 0.3 + 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    for ax, (table, accuracy, column, points) in zip(axes, panels):
        xy = list(points.values())
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], color=[COLORS[i % len(COLORS)] for i in range(len(xy))])
        for row, (x, y) in points.items():
            ax.annotate(_text(f"{row[0]}/{row[1]}"), (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        front = pareto_front(xy, accuracy.higher_is_better, column.higher_is_better)
        ax.plot([xy[i][0] for i in front], [xy[i][1] for i in front], "--o", color="gray", mfc="none", ms=11,
                label="Pareto front")
        ax.set_xlabel(_text(f"{column_title(accuracy)} {arrow(accuracy)}"), fontsize=8)
        ax.set_ylabel(_text(f"{column_title(column)} {arrow(column)}"), fontsize=8)
        ax.set_title(_text(f"{table.explainer}: {column_title(column)}"), fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
