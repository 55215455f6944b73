"""Runs a plan: trains each missing model once, explains the evaluation subset once per explainer,
scores every missing metric, and writes one record per cell. Finished cells are skipped."""
from __future__ import annotations

import contextlib
import dataclasses
import resource
import time
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import torch

from xaibench.batch import Batch
from xaibench.config import ComponentSpec, Suite
from xaibench.methods.base import TrainingContext
from xaibench.plan import EvalCell, TrainCell, make_plan
from xaibench.progress import Progress
from xaibench.store import ResultStore
from xaibench.tasks.base import TaskMeta
from xaibench.versions import code_version, package_versions


def select_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_inputs(meta: TaskMeta, train: Batch) -> dict[str, Any]:
    """What an architecture needs to know of the data: the vocabulary size for text, otherwise the
    per-channel mean and std of the training inputs (for the model's normalization layer)."""
    if meta.modality == "text":
        return {"vocab_size": meta.vocab_size}
    reduce = [0, *range(2, train.x.dim())]
    return {"mean": train.x.mean(reduce).tolist(), "std": train.x.std(reduce).clamp_min(1e-6).tolist()}


@dataclasses.dataclass
class Cost:
    wall_time_s: float = 0.0
    peak_memory_mb: float = 0.0


@contextlib.contextmanager
def measure(device: torch.device) -> Iterator[Cost]:
    """Wall time, and peak memory: CUDA's allocator peak on GPU, the process's peak RSS on the CPU."""
    cost = Cost()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    yield cost
    cost.wall_time_s = time.perf_counter() - start
    cost.peak_memory_mb = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                           else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


@dataclasses.dataclass
class RunSummary:
    trained: int = 0
    records_written: int = 0
    cells_skipped: int = 0
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    record_keys: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class Runner:
    """Executes a suite against a store, on the local machine.

    >>> from xaibench.config import load_suite
    >>> Runner(load_suite("default"), ResultStore("results"), quiet=True).device.type in ("cpu", "cuda")
    True
    """

    def __init__(self, suite: Suite, store: ResultStore, quiet: bool = False, device: torch.device | None = None):
        self.suite, self.store, self.quiet = suite, store, quiet
        self.device = device or select_device()
        self._data: dict[str, tuple[Batch, Batch]] = {}

    def pending(self) -> tuple[list[tuple[TrainCell, list[EvalCell]]], RunSummary]:
        """The training cells with missing evaluations (and those missing), and a summary of what is done."""
        summary, todo = RunSummary(), []
        for cell in make_plan(self.suite):
            keys = [cell.eval_key(e) for e in cell.evals]
            summary.record_keys += keys
            missing = [e for e, k in zip(cell.evals, keys) if not self.store.has("records", k)]
            summary.cells_skipped += len(cell.evals) - len(missing)
            if missing:
                todo.append((cell, missing))
        return todo, summary

    def run(self) -> RunSummary:
        todo, summary = self.pending()
        totals = {"train": sum(not self.store.has("training", c.key) for c, _ in todo),
                  "evaluate": sum(len(m) for _, m in todo)}
        with Progress(totals, quiet=self.quiet) as progress:
            for cell, missing in todo:
                label = f"{cell.task.label}/{cell.architecture.label}/{cell.method.label}/seed={cell.seed}"
                try:
                    self._run_cell(cell, missing, summary, progress, label)
                    self.store.delete("failures", cell.key)
                except Exception as err:  # one failing cell must not stop the others
                    summary.failures.append((label, f"{type(err).__name__}: {err}"))
                    self.store.put("failures", cell.key, {"cell": label, "error": f"{type(err).__name__}: {err}",
                                                          "traceback": traceback.format_exc()})
        return summary

    # -- stages -----------------------------------------------------------------------------
    def _run_cell(self, cell: TrainCell, missing: list[EvalCell], summary: RunSummary, progress: Progress,
                  label: str) -> None:
        train, test = self._load_data(cell.task)
        model = self._trained_model(cell, train, summary, progress, label)
        model.eval()
        predictions = self._predict(model, test.x)
        subset = test[: self.suite.evaluation.n_samples].to(self.device)
        by_explainer: dict[str | None, list[EvalCell]] = {}
        for e in missing:
            by_explainer.setdefault(e.explainer.label if e.explainer else None, []).append(e)
        for evals in by_explainer.values():
            explainer = evals[0].explainer
            if explainer is None:
                data, target, attributions = test.to(self.device), predictions, None
            else:
                data, target = subset, predictions[: len(subset)]
                attributions = self._attributions(cell, explainer, model, data, target)
            for e in evals:
                metric = e.metric.cls(e.metric.config)
                if explainer is not None:
                    metric.make_explainer = lambda m, spec=explainer: spec.cls(m, spec.config)
                with measure(self.device) as cost:
                    values = metric(model, data, attributions, target)
                self._write_record(cell, e, values, cost)
                summary.records_written += 1
                progress.advance("evaluate", note=f"{label} {e.explainer.label + ' ' if e.explainer else ''}"
                                                  f"{e.metric.label}")

    def _load_data(self, task: ComponentSpec) -> tuple[Batch, Batch]:
        if task.label not in self._data:
            t = task.cls(task.config)
            self._data[task.label] = (t.load("train", self.suite.data_seed), t.load("test", self.suite.data_seed))
        return self._data[task.label]

    def _trained_model(self, cell: TrainCell, train: Batch, summary: RunSummary, progress: Progress,
                       label: str) -> torch.nn.Module:
        arch, meta = cell.architecture, cell.task.cls.meta
        torch.manual_seed(cell.seed)  # weight initialization
        model = arch.cls(arch.config, meta.input_shape, meta.num_classes, **model_inputs(meta, train)).to(self.device)
        method = cell.method.cls(cell.method.config)
        method.prepare(model, train.x[:2].to(self.device))  # auxiliary networks exist before weights load
        weights = self.store.get_tensors("models", cell.key) if self.store.has("training", cell.key) else None
        if weights is not None:
            model.load_state_dict(weights)
            return model
        method.ctx = TrainingContext(
            device=self.device, generator=torch.Generator().manual_seed(cell.seed),
            cam_layer=arch.cls.cam_layer, flint_layers=arch.cls.flint_layers, normalization=model.normalization)
        with measure(self.device) as cost:
            model = method.fit(model, train.to(self.device), self.suite.budget_for(cell.task))
        self.store.put_tensors("models", cell.key, model.state_dict())
        self.store.put("training", cell.key, {"labels": cell.labels(), **dataclasses.asdict(cost),
                                              "steps": method.ctx.total_steps, **self._provenance()})
        summary.trained += 1
        progress.advance("train", note=f"{label} ({cost.wall_time_s:.1f} s)")
        return model

    @torch.no_grad()
    def _predict(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        size = self.suite.evaluation.batch_size
        return torch.cat([model(x[i:i + size].to(self.device)).argmax(1) for i in range(0, len(x), size)])

    def _attributions(self, cell: TrainCell, explainer: ComponentSpec, model: torch.nn.Module,
                      data: Batch, target: torch.Tensor) -> torch.Tensor:
        key = cell.explainer_key(explainer)
        cached = self.store.get_tensors("attributions", key)
        if cached is not None:
            return cached["attributions"].to(self.device)
        size = self.suite.evaluation.batch_size
        with explainer.cls(model, explainer.config) as e:
            attributions = torch.cat([
                e.explain(data.x[i:i + size], target[i:i + size], index=data.index[i:i + size])
                for i in range(0, len(data), size)])
        self.store.put_tensors("attributions", key, {"attributions": attributions})
        return attributions

    def _write_record(self, cell: TrainCell, e: EvalCell, values: torch.Tensor, cost: Cost) -> None:
        m = e.metric.cls
        finite = values[~values.isnan()]
        self.store.put("records", cell.eval_key(e), {
            "labels": {**cell.labels(), "explainer": e.explainer.label if e.explainer else None,
                       "metric": e.metric.label},
            "metric": {"name": m.name, "version": m.version, "label": m.label or m.name, "category": m.category,
                       "higher_is_better": m.higher_is_better},
            "dataset_level": m.dataset_level,
            "value": finite.mean().item() if len(finite) else float("nan"),
            "n": len(finite), "n_excluded": len(values) - len(finite), "values": values.tolist(),
            **dataclasses.asdict(cost), **self._provenance(),
        })

    def _provenance(self) -> dict[str, Any]:
        return {"code_version": code_version(), "versions": package_versions(), "device": self.device.type,
                "suite": {"name": self.suite.name, "hash": self.suite.hash},
                "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
