"""Predictive metrics: scored once per trained model, on the whole test split."""
from __future__ import annotations

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.registries import METRICS


@METRICS.register
class Accuracy(Metric):
    """Test accuracy: 1[argmax f(x) = y] per sample."""

    name = "accuracy"
    version = "1"
    category = "predictive"
    higher_is_better = True
    modalities = frozenset({"image", "time_series", "text"})
    label = "Accuracy"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return (target == batch.y.to(target.device)).double()
