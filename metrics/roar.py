"""ROAR and KAR (Hooker et al. 2019): retrain on data with inputs removed by the ranking, then test.

Spec: METRICS.md §1 "ROAR / KAR". These metrics need retrained models, so instead of ``compute`` they
implement ``compute_retrained`` over a ``RetrainingContext`` the harness provides (``xaibench.retraining``):
it holds the task's train and full test split, explains them with the evaluated model and explainer, and
trains (or takes from the store) ERM models from scratch with the task's budget and the cell's seed.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from xaibench.metrics.base import Metric, curve_details
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.functional.roar import (FRACTIONS, Mode, RankUnit, normalized_area, random_removal_mask,
                                              remove, removal_mask)
from xaibench.ranges import OpenFraction, Seed, check_increasing
from xaibench.registries import METRICS

if TYPE_CHECKING:
    from xaibench.retraining import RetrainingContext

class _RemoveAndRetrain(Metric):
    """Shared by ROAR and KAR: one retrained model per fraction for the ranking and for the random baseline."""

    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "faithfulness"
    requires = frozenset({"retraining"})
    mode: ClassVar[Mode]

    @dataclasses.dataclass(frozen=True)
    class Config:
        fractions: tuple[OpenFraction, ...] = FRACTIONS  # fractions removed
        rank_unit: RankUnit = "pixel"  # "value": rank C·H·W entries, as the reference code
        squared: bool = False  # with rank_unit="value": rank squared attributions
        pooling: Pooling = "sum,abs"  # with rank_unit="pixel"
        tie_seed: Seed = 0
        random_seed: Seed = 0  # the random baseline's draws

        def __post_init__(self) -> None:
            check_increasing(self.fractions, "fractions")

    def runs(self) -> list[tuple[Mode, float]]:
        """The retrained models this metric needs: (mode, fraction), the random baseline's included."""
        return [(mode, t) for mode in (self.mode, "random") for t in self.cfg.fractions]

    def ranking_key(self, mode: Mode) -> dict[str, Any]:
        """What, besides the model and explainer, decides which inputs ``mode`` removes (part of the cache key)."""
        c = self.cfg
        if mode == "random":
            return {"shape": c.rank_unit, "random_seed": c.random_seed}
        unit = {"squared": c.squared} if c.rank_unit == "value" else {"pooling": c.pooling}
        # "ranking": the rule (METRICS.md §0), so models retrained on v1's tie-noise rankings are not reused.
        return {"rank_unit": c.rank_unit, **unit, "tie_seed": c.tie_seed, "ranking": "exact"}

    def removed(self, ctx: RetrainingContext, split: str, mode: Mode, t: float) -> torch.Tensor:
        """The inputs of ``split`` with the fraction ``t`` removed by ``mode`` (the training mean put in)."""
        c, data = self.cfg, getattr(ctx, split)
        if mode == "random":
            shape = data.x.shape if c.rank_unit == "value" else (len(data), 1, *data.x.shape[2:])
            mask = random_removal_mask(shape, t, data.index, c.random_seed)
        else:
            mask = removal_mask(ctx.attributions(split), t, mode, rank_unit=c.rank_unit, pooling=c.pooling,
                                squared=c.squared, index=data.index, tie_seed=c.tie_seed)
        return remove(data.x, mask, ctx.fill)

    def compute_retrained(self, ctx: RetrainingContext) -> torch.Tensor:
        """Per-sample area under correctness-versus-fraction of the test set, each fraction scored by the
        model retrained at that fraction; ``details`` holds the mean curves of the mode and the random baseline."""
        curves = {}
        for mode in (self.mode, "random"):
            correct = []
            for t in self.cfg.fractions:
                # the training set is built only when the model is not cached
                model = ctx.retrained(mode, t, self.ranking_key(mode), lambda mode=mode, t=t: dataclasses.replace(
                    ctx.train, x=self.removed(ctx, "train", mode, t)))
                hits = ctx.predict(model, self.removed(ctx, "test", mode, t)) == ctx.test.y.to(ctx.device)
                correct.append(hits.double())
            curves[mode] = torch.stack(correct, 1).cpu()
        grid = torch.tensor(self.cfg.fractions)
        self.details = curve_details("fraction of inputs removed", "test accuracy (retrained)",
                                     **{m: (grid, c) for m, c in curves.items()})
        self.details["random_value"] = normalized_area(self.cfg.fractions, curves["random"]).mean().item()
        return normalized_area(self.cfg.fractions, curves[self.mode])

    def compute(self, *args: Any) -> torch.Tensor:
        raise TypeError(f"{self.name} retrains models: the harness calls compute_retrained(ctx)")


@METRICS.register
class Roar(_RemoveAndRetrain):
    """ROAR: test accuracy of models retrained without the top-t relevant inputs, area over t; lower is better.

    >>> Roar().runs()[:2], Roar.requires
    ([('roar', 0.1), ('roar', 0.3)], frozenset({'retraining'}))
    """

    name = "roar"
    label = "ROAR"
    higher_is_better = False
    mode = "roar"


@METRICS.register
class Kar(_RemoveAndRetrain):
    """KAR: test accuracy of models retrained without the t least relevant inputs, area over t; higher is better.

    >>> Kar({"fractions": [0.5, 0.9]}).runs()
    [('kar', 0.5), ('kar', 0.9), ('random', 0.5), ('random', 0.9)]
    """

    name = "kar"
    label = "KAR"
    higher_is_better = True
    mode = "kar"
