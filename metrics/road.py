"""ROAD metrics (Rong et al. 2022): thin classes over ``functional.road``. Spec: METRICS.md §1 "ROAD".

The three metrics read the same curves; the runner calls them one after another on the same model, batch and
attributions, so the last curves are kept (``LastCall``).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric, curve_details
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.last_call import LastCall
from xaibench.metrics.functional.road import PERCENTAGES, RoadCurves, road_auc, road_combined, road_curves
from xaibench.ranges import NonNegativeFloat, OpenFraction, PositiveInt, Seed, check_increasing
from xaibench.registries import METRICS

CURVES: LastCall[RoadCurves] = LastCall()  # shared by the three metrics


@dataclasses.dataclass(frozen=True)
class RoadConfig:
    """Parameters shared by the three ROAD metrics."""

    percentages: tuple[OpenFraction, ...] = PERCENTAGES  # fractions p removed; AUC = trapezoid / (p_max - p_min)
    pooling: Pooling = "sum,abs"  # "sum" = the official signed channel sum
    noise_std: NonNegativeFloat = 0.01
    seed: Seed = 0  # imputation noise, per (seed, dataset index)
    score: Literal["prob", "accuracy"] = "prob"  # p_c, or 1[argmax = acc_target]
    acc_target: Literal["label", "prediction"] = "label"
    eval_batch_size: PositiveInt = 256
    tie_seed: Seed = 0

    def __post_init__(self) -> None:
        check_increasing(self.percentages, "percentages")


class _Road(Metric):
    """Shared plumbing: ``curves`` (cached for the last call) and the metadata of the ROAD family."""

    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "faithfulness"
    Config: ClassVar[type] = RoadConfig

    def curves(self, model: nn.Module, batch: Batch, attributions: torch.Tensor,
               target: torch.Tensor) -> RoadCurves:
        """Per-sample MoRF and LeRF curves (p_c and correctness) for this config."""
        c = self.cfg
        labels = batch.y if c.acc_target == "label" else None
        return CURVES.get((model, batch, attributions, target), dataclasses.replace(c, score="prob"),
                          lambda: road_curves(model, batch.x, attributions, target, labels, index=batch.index,
                                              percentages=c.percentages, pooling=c.pooling, noise_std=c.noise_std,
                                              seed=c.seed, tie_seed=c.tie_seed, eval_batch_size=c.eval_batch_size))

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        rc = self.curves(model, batch, attributions, target)
        morf, lerf = rc.curves(self.cfg.score)
        self.details = curve_details("fraction of pixels removed and imputed",
                                     "p_c" if self.cfg.score == "prob" else "accuracy",
                                     morf=(rc.p, morf), lerf=(rc.p, lerf))
        return self.reduce(rc.p, morf, lerf)

    def reduce(self, p: torch.Tensor, morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@METRICS.register
class RoadMoRF(_Road):
    """ROAD MoRF: area under p_c as the most relevant pixels are imputed (noisy linear); lower is better.

    A model with constant output p scores p (here p = 1/2):

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> RoadMoRF()(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.5, 0.5]
    """

    name = "road_morf"
    higher_is_better = False
    label = "ROAD MoRF"

    def reduce(self, p: torch.Tensor, morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
        return road_auc(p, morf)


@METRICS.register
class RoadLeRF(_Road):
    """ROAD LeRF: area under p_c as the least relevant pixels are imputed (noisy linear); higher is better.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> RoadLeRF({"score": "accuracy", "acc_target": "prediction"})(model, batch, torch.rand(2, 1, 4, 4),
    ...                                                              batch.y).tolist()
    [1.0, 1.0]
    """

    name = "road_lerf"
    higher_is_better = True
    label = "ROAD LeRF"

    def reduce(self, p: torch.Tensor, morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
        return road_auc(p, lerf)


@METRICS.register
class RoadCombined(_Road):
    """ROAD combined: mean over p of (LeRF(p) - MoRF(p)) / 2; higher is better.

    A model that ignores its input scores 0:

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> RoadCombined()(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.0, 0.0]
    """

    name = "road_combined"
    higher_is_better = True
    label = "ROAD combined"

    def reduce(self, p: torch.Tensor, morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
        return road_combined(morf, lerf)
