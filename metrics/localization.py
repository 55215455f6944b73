"""Localization metrics (need a ground-truth mask): thin classes over ``functional.localization``. Spec: §2."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.localization import (energy_pointing_game, pixel_roc_auc, pointing_game,
                                                      relevance_mass_accuracy, relevance_rank_accuracy, top_k_iou)
from xaibench.metrics.functional.maps import Pooling
from xaibench.ranges import Fraction, NonNegativeFloat, Seed
from xaibench.registries import METRICS


def _mask(batch: Batch) -> torch.Tensor:
    if batch.mask is None:
        raise ValueError("this metric requires a ground-truth mask (Batch.mask)")
    return batch.mask


@METRICS.register
class PointingGame(Metric):
    """Pointing game: 1 if the attribution's maximum falls on (or within tolerance of) the mask, else 0.

    >>> A = torch.zeros(1, 1, 8, 8); A[0, 0, 3, 4] = 1
    >>> mask = torch.zeros(1, 8, 8); mask[0, 3, 6] = 1
    >>> batch = Batch(torch.rand(1, 1, 8, 8), torch.tensor([0]), mask)
    >>> PointingGame()(None, batch, A, batch.y).tolist()  # tolerance 0 px below 64 px
    [0.0]
    >>> PointingGame({"tolerance": 2})(None, batch, A, batch.y).tolist()
    [1.0]
    """

    name = "pointing_game"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "Pointing game"

    @dataclasses.dataclass(frozen=True)
    class Config:
        tolerance: NonNegativeFloat | None = None  # px; None = 0 if min(H, W) < 64, else 15 (TorchRay)
        pooling: Pooling = "sum,abs"
        tie_seed: Seed = 0

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        return pointing_game(attributions, _mask(batch), index=batch.index, tolerance=c.tolerance,
                             pooling=c.pooling, tie_seed=c.tie_seed)


@METRICS.register
class RelevanceMassAccuracy(Metric):
    """Relevance mass accuracy: the share of the pooled attribution's total that lies inside the mask.

    >>> M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1
    >>> batch = Batch(torch.rand(1, 1, 4, 4), torch.tensor([0]), M)
    >>> RelevanceMassAccuracy()(None, batch, (1 + M).unsqueeze(1), batch.y).tolist()
    [0.4]
    """

    name = "relevance_mass_accuracy"
    version = "1"
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "Relevance mass"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return relevance_mass_accuracy(attributions, _mask(batch), pooling=self.cfg.pooling)


@METRICS.register
class DecoyMass(Metric):
    """Decoy mass: the share of the pooled attribution's total on a decoy patch (a training-only shortcut).

    The relevance mass of ``meta["decoy_mask"]`` instead of the object mask; lower is better.

    >>> D = torch.zeros(1, 4, 4); D[0, 0, 0] = 1
    >>> batch = Batch(torch.rand(1, 1, 4, 4), torch.tensor([0]), meta={"decoy_mask": D})
    >>> DecoyMass()(None, batch, (1 + 3 * D).unsqueeze(1), batch.y).tolist() == [4 / 19]  # 4 of 15 + 4
    True
    """

    name = "decoy_mass"
    version = "1"
    category = "localization"
    higher_is_better = False
    requires = frozenset({"decoy_mask"})
    label = "Decoy mass"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return relevance_mass_accuracy(attributions, batch.meta["decoy_mask"], pooling=self.cfg.pooling)


@METRICS.register
class EnergyPointingGame(Metric):
    """Energy-based pointing game (Score-CAM): the share of minmax(R)'s energy inside the mask.

    >>> M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1
    >>> batch = Batch(torch.rand(1, 1, 4, 4), torch.tensor([0]), M)
    >>> EnergyPointingGame()(None, batch, 1 + M[:, None], batch.y).tolist()
    [1.0]
    """

    name = "energy_pointing_game"
    version = "1"
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "Energy PG"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return energy_pointing_game(attributions, _mask(batch), pooling=self.cfg.pooling)


@METRICS.register
class RelevanceRankAccuracy(Metric):
    """Relevance rank accuracy: the share of the |M| top-ranked pixels that lie inside the mask.

    >>> M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1
    >>> batch = Batch(torch.rand(1, 1, 4, 4), torch.tensor([0]), M)
    >>> RelevanceRankAccuracy()(None, batch, 1 + M[:, None], batch.y).tolist()
    [1.0]
    """

    name = "relevance_rank_accuracy"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "Relevance rank"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"
        tie_seed: Seed = 0

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return relevance_rank_accuracy(attributions, _mask(batch), index=batch.index, pooling=self.cfg.pooling,
                                       tie_seed=self.cfg.tie_seed)


@METRICS.register
class PixelROCAUC(Metric):
    """Pixel ROC-AUC: how well the pooled attribution separates mask pixels from the rest (0.5 = chance).

    >>> M = torch.tensor([[[1., 0., 1., 0.]]])
    >>> batch = Batch(torch.rand(1, 1, 1, 4), torch.tensor([0]), M)
    >>> PixelROCAUC()(None, batch, torch.tensor([[[[.9, .8, .3, .1]]]]), batch.y).tolist()
    [0.75]
    """

    name = "pixel_roc_auc"
    version = "1"
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "Pixel ROC-AUC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return pixel_roc_auc(attributions, _mask(batch), pooling=self.cfg.pooling)


@METRICS.register
class TopKIoU(Metric):
    """Top-k IoU: intersection over union of the k top-ranked pixels (k = |M| by default) and the mask.

    >>> M = torch.tensor([[[1., 0.], [1., 0.]]])
    >>> batch = Batch(torch.rand(1, 1, 2, 2), torch.tensor([0]), M)
    >>> TopKIoU()(None, batch, torch.tensor([[[[4., 3.], [2., 1.]]]]), batch.y).tolist()
    [0.3333333333333333]
    """

    name = "top_k_iou"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    label = "IoU@k"

    @dataclasses.dataclass(frozen=True)
    class Config:
        fraction: Fraction | None = None  # k = ⌊fraction · HW⌋ instead of |M|
        pooling: Pooling = "sum,abs"
        tie_seed: Seed = 0

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        return top_k_iou(attributions, _mask(batch), index=batch.index, fraction=c.fraction, pooling=c.pooling,
                         tie_seed=c.tie_seed)
