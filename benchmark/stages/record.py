"""The record stage: every record a cell writes, with its provenance, built by `xaibench.record`'s constructors."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import torch

from xaibench.flops import flops_record
from xaibench.record import (Cost, EvaluationRecord, Provenance, TrainingRecord, evaluation_record, metric_info,
                             training_record)
from xaibench.versions import code_version, machine_info, package_versions

if TYPE_CHECKING:
    from xaibench.config import Suite
    from xaibench.methods.base import TrainingMethod
    from xaibench.plan import EvalCell, TrainCell


class RecordStage:
    """Builds the evaluation and training records of one worker's cells (suite, device and threads fixed).

    >>> from xaibench.config import load_suite
    >>> sorted(RecordStage(load_suite("quick"), torch.device("cpu"), 1).provenance())[:3]
    ['code_version', 'device', 'machine']
    """

    def __init__(self, suite: Suite, device: torch.device, threads: int):
        self.suite, self.device, self.threads = suite, device, threads

    def provenance(self) -> Provenance:
        return {"code_version": code_version(), "versions": package_versions(), "machine": machine_info(),
                "device": self.device.type, "threads": self.threads,
                "suite": {"name": self.suite.name, "hash": self.suite.hash},
                "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def evaluation(self, cell: TrainCell, e: EvalCell, values: torch.Tensor, cost: Cost,
                   details: dict[str, Any] | None = None) -> EvaluationRecord:
        """``values``: per sample (float64, NaN = excluded); the record's value is their finite mean."""
        m = e.metric.cls
        finite = values[~values.isnan()]
        labels = {**cell.labels(), "explainer": e.explainer.label if e.explainer else None, "metric": e.metric.label}
        return evaluation_record(
            labels, metric_info(m.name, m.version, m.label or m.name, m.category, m.higher_is_better),  # type: ignore[arg-type]
            values.tolist(), finite.mean().item() if len(finite) else float("nan"), m.dataset_level, cost,
            self.provenance(), details)

    def training(self, cell: TrainCell, method: TrainingMethod, cost: Cost) -> TrainingRecord:
        """The record of a model ``method`` has just fitted (its context holds the step and FLOP counts)."""
        return training_record(cell.labels(), cost, method.ctx.total_steps,  # type: ignore[arg-type]
                               flops_record(method.ctx.flops, cost["wall_time_s"]), method.health.record(),
                               self.provenance())
