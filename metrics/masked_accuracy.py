"""The SGT paper's masked-accuracy protocol as a metric: a thin class over ``functional.masked_accuracy``."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric, curve_details
from xaibench.metrics.functional.masked_accuracy import FRACTIONS, masked_accuracy_curve
from xaibench.metrics.functional.roar import normalized_area
from xaibench.ranges import PositiveInt, Seed, UnitInterval, check_increasing
from xaibench.registries import METRICS


@METRICS.register
class MaskedAccuracy(Metric):
    """Masked accuracy (SGT protocol): area under accuracy as the top-d pixels take the top-left value; lower is better.

    No retraining; d = 0, 10, ..., 90 %. A faster drop means the map found what the model uses (the SGT paper's
    reading). The per-sample value is the normalized area of its correctness curve:

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 2, 2), torch.tensor([0, 1]))  # constant logits: always class 0
    >>> MaskedAccuracy()(model, batch, torch.rand(2, 1, 2, 2), batch.y).tolist()
    [1.0, 0.0]
    """

    name = "masked_accuracy"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    category = "faithfulness"
    higher_is_better = False
    label = "Masked acc. (SGT)"

    @dataclasses.dataclass(frozen=True)
    class Config:
        fractions: tuple[UnitInterval, ...] = FRACTIONS
        tie_seed: Seed = 0
        eval_batch_size: PositiveInt = 256

        def __post_init__(self) -> None:
            check_increasing(self.fractions, "fractions")  # the area is normalized by the span

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        correct = masked_accuracy_curve(model, batch.x, attributions, batch.y, fractions=c.fractions,
                                        index=batch.index, tie_seed=c.tie_seed, eval_batch_size=c.eval_batch_size)
        self.details = curve_details("fraction of pixels masked", "accuracy",
                                     masked_accuracy=(torch.tensor(c.fractions), correct))
        return normalized_area(c.fractions, correct)
