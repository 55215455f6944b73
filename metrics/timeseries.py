"""Time-series localization metrics (Ismail et al. 2020): thin classes over ``functional.timeseries``.

Spec: METRICS.md §7.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional import timeseries as F
from xaibench.metrics.localization import _mask
from xaibench.ranges import Seed
from xaibench.registries import METRICS


class _SaliencyAreaMetric(Metric):
    """Shared by AUP and AUR: a trapezoid over saliency-mass levels p = 0.1 ... 0.9 of N x F x T maps."""

    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    modalities = frozenset({"time_series"})
    kernel: ClassVar = staticmethod(F.aup)

    @dataclasses.dataclass(frozen=True)
    class Config:
        tie_seed: Seed = 0

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return self.kernel(attributions, _mask(batch), index=batch.index, tie_seed=self.cfg.tie_seed)


@METRICS.register
class AUP(_SaliencyAreaMetric):
    """AUP (Ismail et al. 2020): area under saliency-weighted precision of the top-mass cells (max 0.8).

    >>> G = torch.zeros(1, 2, 10); G[0, 0] = 1  # 10 relevant cells, saliency s = G
    >>> batch = Batch(torch.rand(1, 2, 10), torch.tensor([0]), G)
    >>> AUP()(None, batch, G, batch.y).tolist()
    [0.8]
    """

    name = "aup"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    label = "AUP"
    kernel = staticmethod(F.aup)


@METRICS.register
class AUR(_SaliencyAreaMetric):
    """AUR (Ismail et al. 2020): area under saliency-weighted recall of the top-mass cells (max 0.8).

    >>> G = torch.zeros(1, 2, 10); G[0, 0] = 1
    >>> batch = Batch(torch.rand(1, 2, 10), torch.tensor([0]), G)
    >>> AUR()(None, batch, G, batch.y).tolist()
    [0.4]
    """

    name = "aur"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    label = "AUR"
    kernel = staticmethod(F.aur)
