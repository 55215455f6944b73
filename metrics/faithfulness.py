"""Faithfulness metrics: thin classes over ``xaibench.metrics.functional.faithfulness``. Spec: METRICS.md §1."""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric, curve_details
from xaibench.metrics.functional import faithfulness as F
from xaibench.metrics.functional.confidence import (average_drop, average_gain, average_increase, drop_in_confidence,
                                                    masked_confidence)
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.functional.faithfulness import Start, Substrate
from xaibench.metrics.last_call import LastCall
from xaibench.ranges import PositiveInt, Seed
from xaibench.registries import METRICS


def _training_mean(model: nn.Module) -> torch.Tensor:
    # The model's Normalize layer holds the training mean in pixel space (models/base.py).
    norm = getattr(model, "normalization", None)
    if norm is None or not hasattr(norm, "mean"):
        raise ValueError("substrate='mean' needs Config.mean or a model with a normalization layer")
    return norm.mean


@METRICS.register
class DeletionAUC(Metric):
    """Deletion AUC (RISE): area under p_c as the most relevant pixels go to the substrate; lower is better.

    A model with constant output p scores p (here p = 1/2):

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> DeletionAUC({"n_steps": 4})(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.5, 0.5]
    """

    name = "deletion_auc"
    version = "3"  # 2: the blur substrate in elementwise passes (last-bit changes); 3: exact ranking (§0)
    category = "faithfulness"
    higher_is_better = False
    label = "Deletion AUC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_steps: PositiveInt = 100
        substrate: Substrate = "zeros"
        mean: tuple[float, ...] | None = None  # per-channel pixel-space mean; None = the model's normalization mean
        pooling: Pooling = "sum,abs"
        eval_batch_size: PositiveInt = 256
        tie_seed: Seed = 0

    def curves(self, model: nn.Module, batch: Batch, attributions: torch.Tensor,
               target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, curves): the grid t_k (n + 1) and p_c(x_k) per sample (N x (n + 1))."""
        c = self.cfg
        mean = c.mean if c.mean is not None or c.substrate != "mean" else _training_mean(model)
        return F.deletion_curve(model, batch.x, attributions, target, index=batch.index, n_steps=c.n_steps,
                                substrate=c.substrate, mean=mean, pooling=c.pooling,
                                eval_batch_size=c.eval_batch_size, tie_seed=c.tie_seed)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        t, curves = self.curves(model, batch, attributions, target)
        self.details = curve_details("fraction of pixels removed", "p_c", deletion=(t, curves))
        return F.auc(t, curves)


@METRICS.register
class InsertionAUC(Metric):
    """Insertion AUC (RISE): area under p_c as the most relevant pixels return into blur(x); higher is better.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> InsertionAUC({"start": "zeros"})(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.5, 0.5]
    """

    name = "insertion_auc"
    version = "3"  # 2: the blur start in elementwise passes (last-bit changes); 3: exact ranking (§0)
    category = "faithfulness"
    higher_is_better = True
    label = "Insertion AUC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_steps: PositiveInt = 100
        start: Start = "blur"
        pooling: Pooling = "sum,abs"
        eval_batch_size: PositiveInt = 256
        tie_seed: Seed = 0

    def curves(self, model: nn.Module, batch: Batch, attributions: torch.Tensor,
               target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, curves): the grid t_k (n + 1) and p_c(x_k) per sample (N x (n + 1))."""
        c = self.cfg
        return F.insertion_curve(model, batch.x, attributions, target, index=batch.index, n_steps=c.n_steps,
                                 start=c.start, pooling=c.pooling, eval_batch_size=c.eval_batch_size,
                                 tie_seed=c.tie_seed)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        t, curves = self.curves(model, batch, attributions, target)
        self.details = curve_details("fraction of pixels inserted", "p_c", insertion=(t, curves))
        return F.auc(t, curves)


CONFIDENCES: LastCall[tuple[torch.Tensor, torch.Tensor]] = LastCall()  # (Y, O), shared by AD, AI and AG


class _ConfidenceMetric(Metric):
    """Shared by AD, AI and AG: Y = p_c(x) and O = p_c(x ⊙ minmax(R)), then ``formula(Y, O)``."""

    category = "faithfulness"
    formula: ClassVar = staticmethod(average_drop)

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"
        eval_batch_size: PositiveInt = 256

    def confidences(self, model: nn.Module, batch: Batch, attributions: torch.Tensor, target: torch.Tensor,
                    score: str = "prob") -> tuple[torch.Tensor, torch.Tensor]:
        """(Y, O), computed once for the metrics of a cell that share pooling, batch size and score."""
        c = self.cfg
        return CONFIDENCES.get((model, batch.x, attributions, target), (c.pooling, c.eval_batch_size, score),
                               lambda: masked_confidence(model, batch.x, attributions, target, pooling=c.pooling,
                                                         eval_batch_size=c.eval_batch_size, score=score))

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return self.formula(*self.confidences(model, batch, attributions, target))


@METRICS.register
class AverageDrop(_ConfidenceMetric):
    """Average drop (Grad-CAM++): 100·max(0, Y − O)/Y, the confidence lost on x ⊙ minmax(map).

    Switch ``reference="pytorch_grad_cam"``: its ``DropInConfidence``, max(0, Y − O) on the target logits, not
    divided by Y. A map of ones keeps the input, so nothing is lost:

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batch = Batch(torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 0]))
    >>> AverageDrop()(model, batch, torch.ones(3, 1, 2, 2), batch.y).tolist()
    [0.0, 0.0, 0.0]
    >>> AverageDrop({"reference": "pytorch_grad_cam"})(model, batch, torch.ones(3, 1, 2, 2), batch.y).tolist()
    [0.0, 0.0, 0.0]
    """

    name = "average_drop"
    version = "1"
    higher_is_better = False
    label = "Avg drop"
    formula = staticmethod(average_drop)

    @dataclasses.dataclass(frozen=True)
    class Config(_ConfidenceMetric.Config):
        reference: Literal["grad_cam_pp", "pytorch_grad_cam"] = "grad_cam_pp"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        if self.cfg.reference == "grad_cam_pp":
            return super().compute(model, batch, attributions, target)
        return drop_in_confidence(*self.confidences(model, batch, attributions, target, score="logit"))


@METRICS.register
class AverageIncrease(_ConfidenceMetric):
    """Average increase (Grad-CAM++): 100·1[O > Y], how often x ⊙ minmax(map) raises the confidence.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batch = Batch(torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 0]))
    >>> AverageIncrease()(model, batch, torch.ones(3, 1, 2, 2), batch.y).tolist()
    [0.0, 0.0, 0.0]
    """

    name = "average_increase"
    version = "1"
    higher_is_better = True
    label = "Avg increase"
    formula = staticmethod(average_increase)


@METRICS.register
class AverageGain(_ConfidenceMetric):
    """Average gain (Opti-CAM): 100·max(0, O − Y)/(1 − Y), the confidence won on x ⊙ minmax(map).

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batch = Batch(torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 0]))
    >>> AverageGain()(model, batch, torch.ones(3, 1, 2, 2), batch.y).tolist()
    [0.0, 0.0, 0.0]
    """

    name = "average_gain"
    version = "1"
    higher_is_better = True
    label = "Avg gain"
    formula = staticmethod(average_gain)
