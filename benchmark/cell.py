"""One training cell's work, with no access to the store: what every executor runs.

`CellWorker.execute` trains the model (or loads the given weights), explains the evaluation subset
once per explainer (or takes the given attributions), scores the missing metrics and returns
everything as a `CellOutput`; the driver alone writes the store.
"""
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
from xaibench.flops import flops_record
from xaibench.methods.base import TrainingContext
from xaibench.plan import EvalCell, TrainCell
from xaibench.registries import METHODS
from xaibench.retraining import RetrainingContext
from xaibench.tasks.base import TaskMeta
from xaibench.versions import code_version, machine_info, package_versions


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
    cpu_time_s: float = 0.0  # the process's CPU time, all threads
    peak_memory_mb: float = 0.0


@contextlib.contextmanager
def measure(device: torch.device) -> Iterator[Cost]:
    """Wall time, process CPU time, and peak memory: CUDA's allocator peak on GPU, the process's peak RSS on
    the CPU. All three depend on the machine and its load; the deterministic cost is the FLOP count."""
    cost = Cost()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start, cpu = time.perf_counter(), time.process_time()
    yield cost
    cost.wall_time_s = time.perf_counter() - start
    cost.cpu_time_s = time.process_time() - cpu
    cost.peak_memory_mb = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                           else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


@dataclasses.dataclass
class CellOutput:
    """What a cell produced: new weights and their training record, new attributions, metric records,
    newly retrained models, and the failure that stopped it (its finished parts are kept)."""

    cell_key: dict[str, Any]
    label: str
    weights: dict[str, torch.Tensor] | None = None
    training_record: dict[str, Any] | None = None
    attributions: list[tuple[dict[str, Any], torch.Tensor]] = dataclasses.field(default_factory=list)
    records: list[tuple[dict[str, Any], dict[str, Any]]] = dataclasses.field(default_factory=list)
    retrained: list[tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]] = \
        dataclasses.field(default_factory=list)  # ROAR/KAR models: (key, weights, training record)
    failure: dict[str, str] | None = None


class CellWorker:
    """Executes training cells of one suite; keeps each task's data loaded between cells.

    >>> from xaibench.config import load_suite
    >>> CellWorker(load_suite("quick")).device.type in ("cpu", "cuda")
    True
    """

    def __init__(self, suite: Suite, device: torch.device | None = None, threads: int | None = None):
        self.suite = suite
        self.device = device or select_device()
        self.threads = threads or torch.get_num_threads()
        self._data: dict[str, tuple[Batch, Batch]] = {}

    def execute(self, cell: TrainCell, missing: list[EvalCell], weights: dict[str, torch.Tensor] | None = None,
                attributions: dict[str, torch.Tensor] | None = None,
                retrained: dict[str, dict[str, torch.Tensor]] | None = None) -> CellOutput:
        """Never raises for the cell's own errors: they come back in ``CellOutput.failure``.

        ``retrained``: stored ROAR/KAR models by the stable hash of their key (``xaibench.retraining``)."""
        torch.set_num_threads(self.threads)  # results may depend on it: the same everywhere, and recorded
        out = CellOutput(cell.key, f"{cell.task.label}/{cell.architecture.label}/{cell.method.label}/seed={cell.seed}")
        try:
            self._execute(cell, missing, weights, attributions or {}, dict(retrained or {}), out)
        except Exception as err:  # one failing cell must not stop the others
            out.failure = {"cell": out.label, "error": f"{type(err).__name__}: {err}",
                           "traceback": traceback.format_exc()}
        return out

    def _execute(self, cell: TrainCell, missing: list[EvalCell], weights: dict[str, torch.Tensor] | None,
                 cached: dict[str, torch.Tensor], retrained: dict[str, dict[str, torch.Tensor]],
                 out: CellOutput) -> None:
        train, test = self._load_data(cell.task)
        model = self._model(cell, train, weights, out)
        model.eval()
        predictions = self._predict(model, test.x)
        subset = test[: self.suite.evaluation.n_samples].to(self.device)
        by_explainer: dict[str | None, list[EvalCell]] = {}
        for e in missing:
            by_explainer.setdefault(e.explainer.label if e.explainer else None, []).append(e)
        for label, evals in by_explainer.items():
            explainer = evals[0].explainer
            plain = [e for e in evals if "retraining" not in e.metric.cls.requires]
            if explainer is None:
                data, target, attributions = test.to(self.device), predictions, None
            elif plain:
                data, target = subset, predictions[: len(subset)]
                attributions = cached.get(label)
                if attributions is None:
                    attributions = self._explain(explainer, model, data, target)
                    out.attributions.append((cell.explainer_key(explainer), attributions))
                attributions = attributions.to(self.device)
            for e in plain:
                metric = e.metric.cls(e.metric.config)
                if explainer is not None:
                    metric.make_explainer = lambda m, spec=explainer: spec.cls(m, spec.config)
                with measure(self.device) as cost:
                    values = metric(model, data, attributions, target)
                out.records.append((cell.eval_key(e), self._record(cell, e, values, cost, metric.details)))
            context = None  # one per explainer: ROAR and KAR share its explanations and random-baseline models
            for e in (e for e in evals if e not in plain):
                metric = e.metric.cls(e.metric.config)
                context = context or self._retraining(cell, explainer, model, train, test, retrained, out)
                with measure(self.device) as cost:
                    values = metric.compute_retrained(context).detach().to("cpu", torch.float64)
                out.records.append((cell.eval_key(e), self._record(cell, e, values, cost, metric.details)))

    def _load_data(self, task: ComponentSpec) -> tuple[Batch, Batch]:
        if task.label not in self._data:
            t = task.cls(task.config)
            self._data[task.label] = (t.load("train", self.suite.data_seed), t.load("test", self.suite.data_seed))
        return self._data[task.label]

    def _new_model(self, cell: TrainCell, method: Any, train: Batch) -> torch.nn.Module:
        """The architecture, seeded by the cell, with the method's auxiliary networks (before weights load)."""
        arch, meta = cell.architecture, cell.task.cls.meta
        torch.manual_seed(cell.seed)  # weight initialization
        model = arch.cls(arch.config, meta.input_shape, meta.num_classes, **model_inputs(meta, train)).to(self.device)
        method.prepare(model, train.x[:2].to(self.device))
        if self.device.type == "cuda" and meta.modality == "image":
            model = model.to(memory_format=torch.channels_last)  # cuDNN's fast convolution layout; same values
        return model

    def _fit(self, cell: TrainCell, method: Any, train: Batch) -> tuple[torch.nn.Module, dict[str, Any]]:
        """Train a new model of ``cell``'s architecture with ``method``; returns it and its training record."""
        model = self._new_model(cell, method, train)
        arch = cell.architecture
        budget = self.suite.budget_for(cell.task)
        method.ctx = TrainingContext(
            device=self.device, generator=torch.Generator().manual_seed(cell.seed),
            cam_layer=arch.cls.cam_layer, flint_layers=arch.cls.flint_layers, normalization=model.normalization,
            precision=budget.precision, shortcut_mask=cell.task.cls.meta.shortcut_mask)
        with measure(self.device) as cost:
            model = method.fit(model, train.to(self.device), budget)
        return model, {"labels": cell.labels(), **dataclasses.asdict(cost), "steps": method.ctx.total_steps,
                       "flops": flops_record(method.ctx.flops, cost.wall_time_s), "health": method.health.record(),
                       **self._provenance()}

    def _model(self, cell: TrainCell, train: Batch, weights: dict[str, torch.Tensor] | None,
               out: CellOutput) -> torch.nn.Module:
        method = cell.method.cls(cell.method.config)
        if weights is not None:
            model = self._new_model(cell, method, train)
            model.load_state_dict(weights)
            return model
        model, out.training_record = self._fit(cell, method, train)
        out.weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return model

    def _retraining(self, cell: TrainCell, explainer: ComponentSpec, model: torch.nn.Module, train: Batch,
                    test: Batch, cached: dict[str, dict[str, torch.Tensor]], out: CellOutput) -> RetrainingContext:
        """ROAR/KAR's view of this model: its explanations of both splits and ERM retraining from scratch."""
        erm = METHODS.get("erm")
        reduce = [0, *range(2, train.x.dim())]

        def explain(data: Batch) -> torch.Tensor:
            data = data.to(self.device)
            return self._explain(explainer, model, data, self._predict(model, data.x))

        def load(weights: dict[str, torch.Tensor]) -> torch.nn.Module:
            retrained = self._new_model(cell, erm(None), train)
            retrained.load_state_dict(weights)
            return retrained.eval()

        def fit(data: Batch) -> tuple[torch.nn.Module, dict[str, Any]]:
            retrained, record = self._fit(cell, erm(None), data)
            return retrained.eval(), record

        return RetrainingContext(
            cell=cell, explainer=explainer, train=train, test=test, fill=train.x.mean(reduce),
            device=self.device, explain=explain, fit=fit, predict=self._predict, load=load,
            cached=cached, new=out.retrained)

    @torch.no_grad()
    def _predict(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        size = self.suite.evaluation.batch_size
        return torch.cat([model(x[i:i + size].to(self.device)).argmax(1) for i in range(0, len(x), size)])

    def _explain(self, explainer: ComponentSpec, model: torch.nn.Module, data: Batch,
                 target: torch.Tensor) -> torch.Tensor:
        size = self.suite.evaluation.batch_size
        with explainer.cls(model, explainer.config) as e:
            return torch.cat([e.explain(data.x[i:i + size], target[i:i + size], index=data.index[i:i + size])
                              for i in range(0, len(data), size)]).cpu()

    def _record(self, cell: TrainCell, e: EvalCell, values: torch.Tensor, cost: Cost,
                details: dict[str, Any] | None = None) -> dict[str, Any]:
        m = e.metric.cls
        finite = values[~values.isnan()]
        return {
            "labels": {**cell.labels(), "explainer": e.explainer.label if e.explainer else None,
                       "metric": e.metric.label},
            "metric": {"name": m.name, "version": m.version, "label": m.label or m.name, "category": m.category,
                       "higher_is_better": m.higher_is_better},
            "dataset_level": m.dataset_level,
            "value": finite.mean().item() if len(finite) else float("nan"),
            "n": len(finite), "n_excluded": len(values) - len(finite), "values": values.tolist(),
            **({"details": details} if details else {}),
            **dataclasses.asdict(cost), **self._provenance(),
        }

    def _provenance(self) -> dict[str, Any]:
        return {"code_version": code_version(), "versions": package_versions(), "machine": machine_info(),
                "device": self.device.type, "threads": self.threads, "suite": {"name": self.suite.name, "hash": self.suite.hash},
                "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
