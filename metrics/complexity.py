"""Complexity metrics: properties of the map itself, not of its quality. Spec: METRICS.md §5."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.complexity import gini
from xaibench.metrics.functional.maps import Pooling
from xaibench.registries import METRICS


@METRICS.register
class Gini(Metric):
    """Gini sparsity of the pooled attribution (1 = all relevance on one pixel, 0 = uniform).

    >>> batch = Batch(torch.rand(1, 1, 1, 4), torch.tensor([0]))
    >>> Gini()(None, batch, torch.tensor([[[[0., 0., 0., 1.]]]]), batch.y).tolist()
    [0.75]
    """

    name = "gini"
    version = "1"
    category = "complexity"
    higher_is_better = True
    modalities = frozenset({"image", "time_series"})
    label = "Gini"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return gini(attributions, pooling=self.cfg.pooling)
