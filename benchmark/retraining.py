"""What remove-and-retrain metrics (ROAR, KAR) get from the harness, and the keys of retrained models.

A retrained model is ERM from scratch (same architecture, the task's budget, the cell's seed) on a training
set with inputs removed. It is cached in the store under a key of everything that decides it, so ROAR and KAR
share their random-baseline models, every method and explainer of a (task, architecture, seed) shares the
random ones, and a rerun after a crash trains only what is missing. Workers never write: they return new
retrained models to the driver (``CellOutput.retrained``), which stores them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.component import stable_hash
from xaibench.record import Key, RetrainedRecord, TrainingRecord, retrained_record

if TYPE_CHECKING:
    from xaibench.config import ComponentSpec
    from xaibench.plan import EvalCell, TrainCell

PROTOCOL = "1"  # bump when retraining changes: it invalidates every cached retrained model


def retrained_key(cell: TrainCell, explainer: ComponentSpec | None, mode: str, t: float,
                  ranking: dict[str, Any]) -> dict[str, Any]:
    """The key of one retrained model. The random baseline's ranking depends on neither the trained model
    nor the explainer, so its key leaves both out (one set per task, architecture and seed)."""
    base = {k: v for k, v in cell.key.items() if mode != "random" or k != "method"}
    return {"retrained": PROTOCOL, **base, "explainer": None if mode == "random" else explainer.key,
            "mode": mode, "fraction": t, "ranking": ranking}


def retraining_keys(cell: TrainCell, e: EvalCell) -> list[dict[str, Any]]:
    """Keys of every retrained model an evaluation needs (none for ordinary metrics)."""
    if "retraining" not in e.metric.cls.requires:
        return []
    metric = e.metric.cls(e.metric.config)
    return [retrained_key(cell, e.explainer, mode, t, metric.ranking_key(mode)) for mode, t in metric.runs()]


@dataclasses.dataclass
class RetrainingContext:
    """The evaluated model's world, for one (model, explainer) pair.

    ``retrained(mode, t, ranking, make_train)`` returns the model retrained at fraction ``t`` (from
    ``cached`` by key, else trained on ``make_train()`` through ``fit`` and recorded in ``new``);
    ``attributions(split)`` explains the whole split once, on first use.
    """

    cell: TrainCell
    explainer: ComponentSpec
    train: Batch
    test: Batch
    fill: torch.Tensor  # per-channel training mean, pixel space
    device: torch.device
    explain: Callable[[Batch], torch.Tensor]
    fit: Callable[[Batch], tuple[nn.Module, TrainingRecord]]  # ERM from scratch -> (model, training record)
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    load: Callable[[dict[str, torch.Tensor]], nn.Module]  # weights -> model
    cached: dict[str, dict[str, torch.Tensor]]  # stable_hash(key) -> weights
    new: list[tuple[Key, dict[str, torch.Tensor], RetrainedRecord]]  # (key, weights, record)
    _attributions: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)

    def attributions(self, split: str) -> torch.Tensor:
        """The explainer's attributions of the whole ``split`` ("train" or "test"), computed on first use."""
        if split not in self._attributions:
            self._attributions[split] = self.explain(getattr(self, split))
        return self._attributions[split]

    def retrained(self, mode: str, t: float, ranking: dict[str, Any], make_train: Callable[[], Batch]) -> nn.Module:
        key = retrained_key(self.cell, self.explainer, mode, t, ranking)
        h = stable_hash(key)
        if h in self.cached:
            return self.load(self.cached[h])
        data = make_train()
        model, record = self.fit(data)
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        self.cached[h] = weights  # shared with the next metric of this cell (ROAR and KAR share "random")
        self.new.append((key, weights, retrained_record(record, mode, t)))
        return model
