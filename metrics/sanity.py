"""Sanity checks: does the explanation depend on the model? Spec: METRICS.md §4."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.functional.sanity import mprt_curve
from xaibench.ranges import Seed
from xaibench.registries import METRICS

MPRT_PASS_THRESHOLD = 0.5  # pass iff the mean ρ after full randomization is below this [D]


@METRICS.register
class MPRT(Metric):
    """Cascading model parameter randomization: Spearman ρ between the map and the fully randomized model's map.

    Lower is better; the check passes when the mean ρ is below 0.5. A model-independent map fails:

    >>> from xaibench.metrics.explainers.base import Explainer
    >>> class Ones(Explainer):
    ...     def attribute(self, x, target, index):
    ...         return torch.ones_like(x)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batch = Batch(torch.rand(2, 1, 2, 2), torch.tensor([0, 1]))
    >>> metric = MPRT(); metric.make_explainer = Ones
    >>> metric(model, batch, torch.ones(2, 1, 2, 2), batch.y).tolist()
    [1.0, 1.0]
    """

    name = "mprt"
    version = "1"
    category = "sanity"
    higher_is_better = False
    requires = frozenset({"explainer"})
    modalities = frozenset({"image", "time_series"})
    label = "MPRT ρ"

    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: Seed = 0
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        curve = mprt_curve(model, batch.x, target, attributions, self.make_explainer, index=batch.index,
                           seed=self.cfg.seed, pooling=self.cfg.pooling)
        return curve[:, -1]
