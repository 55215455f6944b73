"""Input-bias probes: is an attribution tied to the raw input values rather than to the model? Spec: METRICS.md §3."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.input_bias import (intensity_correlation, mean_shift_delta, mean_shift_maps,
                                                    mean_shift_rank_correlation)
from xaibench.metrics.functional.maps import Pooling
from xaibench.ranges import NonNegativeInt
from xaibench.registries import METRICS


@dataclasses.dataclass(frozen=True)
class MeanShiftConfig:
    shifts: tuple[float, ...] = (-1.0, -0.5, 0.5, 1.0)
    pooling: Pooling = "sum,abs"


class _MeanShift(Metric):
    """Explain f₂ = f₁ with its normalization mean shifted by c on x + c; compare with f₁'s map on x."""

    category = "input_bias"
    requires = frozenset({"explainer"})
    modalities = frozenset({"image", "time_series"})
    Config = MeanShiftConfig

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        per_shift = [self.compare(attributions, mean_shift_maps(model, batch.x, target, self.make_explainer, c,
                                                                batch.index)) for c in self.cfg.shifts]
        return torch.stack(per_shift, 1).mean(1)  # mean over the shifts, per sample

    def compare(self, A1: torch.Tensor, A2: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@METRICS.register
class MeanShiftRankCorrelation(_MeanShift):
    """Mean-shift invariance (Kindermans et al.): Spearman ρ of maps before and after a mean shift (1 = invariant).

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> from xaibench.metrics.explainers.saliency import Saliency
    >>> model = SmallCNN(SmallCNN.Config(width=2), (1, 8, 8), 2)
    >>> batch = Batch(torch.rand(2, 1, 8, 8), torch.tensor([0, 1]))
    >>> metric = MeanShiftRankCorrelation(); metric.make_explainer = Saliency
    >>> metric(model, batch, Saliency(model).explain(batch.x, batch.y), batch.y).tolist()
    [1.0, 1.0]
    """

    name = "mean_shift_rank_corr"
    version = "1"
    higher_is_better = True
    label = "Mean-shift ρ"

    def compare(self, A1: torch.Tensor, A2: torch.Tensor) -> torch.Tensor:
        return mean_shift_rank_correlation(A1, A2, self.cfg.pooling)


@METRICS.register
class MeanShiftDelta(_MeanShift):
    """Mean-shift invariance: max|A₁ − A₂| / max|A₁| between maps before and after a mean shift (0 = invariant).

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> from xaibench.metrics.explainers.saliency import Saliency
    >>> model = SmallCNN(SmallCNN.Config(width=2), (1, 8, 8), 2)
    >>> batch = Batch(torch.rand(2, 1, 8, 8), torch.tensor([0, 1]))
    >>> metric = MeanShiftDelta(); metric.make_explainer = Saliency
    >>> bool((metric(model, batch, Saliency(model).explain(batch.x, batch.y), batch.y) < 1e-5).all())
    True
    """

    name = "mean_shift_delta"
    version = "1"
    higher_is_better = False
    label = "Mean-shift δ"

    def compare(self, A1: torch.Tensor, A2: torch.Tensor) -> torch.Tensor:
        return mean_shift_delta(A1, A2)


@METRICS.register
class IntensityCorrelation(Metric):
    """Intensity bias: |Spearman| between object intensity and the attribution mass on it (0 = unbiased).

    Dataset-level, on the positive samples of a task that stores ``meta["intensity"]``.

    >>> I = torch.linspace(0.1, 1, 4); M = torch.ones(4, 2, 2)
    >>> batch = Batch(torch.rand(4, 1, 2, 2), torch.ones(4, dtype=torch.long), M, meta={"intensity": I})
    >>> IntensityCorrelation()(None, batch, I.view(4, 1, 1, 1) * torch.ones(4, 1, 2, 2), batch.y).tolist()
    [1.0]
    """

    name = "intensity_correlation"
    version = "1"
    category = "input_bias"
    higher_is_better = False
    requires = frozenset({"mask", "intensity"})
    dataset_level = True
    label = "|ρ(intensity, mass)|"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"
        relative: bool = False  # RMA instead of absolute mass: hides the bias (⊙x maps are 0 off-object)
        positive_class: NonNegativeInt = 1

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        positive = batch.y == self.cfg.positive_class
        rho = intensity_correlation(attributions, batch.mask, batch.meta["intensity"], positive,
                                    pooling=self.cfg.pooling, relative=self.cfg.relative)
        return rho.abs()
