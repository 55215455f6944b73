"""Text metrics (ERASER): thin classes over ``functional.text``. Attributions are embedding-level (N x L x E).

Spec: METRICS.md §6.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional import text as F
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.localization import _mask
from xaibench.ranges import Fraction, PositiveInt, Seed
from xaibench.registries import METRICS


class _ErasureMetric(Metric):
    """Shared by comprehensiveness and sufficiency: p_c(x) minus p_c of x with its top-k_b tokens erased or kept."""

    category = "faithfulness"
    modalities = frozenset({"text"})
    kernel: ClassVar = staticmethod(F.comprehensiveness)

    @dataclasses.dataclass(frozen=True)
    class Config:
        bins: tuple[Fraction, ...] = F.BINS  # fractions b of the document's tokens: k_b = max(1, ⌈b·L⌉)
        mask_token: PositiveInt | None = None  # None deletes tokens and re-pads; an id (e.g. unk = 1) replaces them
        aopc_norm: F.AopcNorm = "bins"  # "eraser": the ERASER paper's 1/(|B|+1) with a k = 0 term
        pooling: Pooling = "sum,abs"
        eval_batch_size: PositiveInt = 256
        tie_seed: Seed = 0

        def __post_init__(self) -> None:
            F.check_erasure_params(self.mask_token, self.bins, self.aopc_norm)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        return self.kernel(model, batch.x, attributions, target, index=batch.index, bins=c.bins, pooling=c.pooling,
                           mask_token=c.mask_token, aopc_norm=c.aopc_norm, eval_batch_size=c.eval_batch_size,
                           tie_seed=c.tie_seed)


@METRICS.register
class Comprehensiveness(_ErasureMetric):
    """Comprehensiveness (ERASER): how much p_c drops when the top-ranked tokens are deleted, mean over bins.

    A model with constant output loses nothing:

    >>> model = nn.Sequential(nn.Embedding(10, 2), nn.Flatten(), nn.Linear(8, 2)); _ = nn.init.zeros_(model[2].weight)
    >>> batch = Batch(torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), torch.tensor([0, 1]))
    >>> Comprehensiveness()(model, batch, torch.rand(2, 4, 2), batch.y).tolist()
    [0.0, 0.0]
    """

    name = "comprehensiveness"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    higher_is_better = True
    label = "Comprehensiveness"
    kernel = staticmethod(F.comprehensiveness)


@METRICS.register
class Sufficiency(_ErasureMetric):
    """Sufficiency (ERASER): how much p_c drops when only the top-ranked tokens are kept, mean over bins.

    >>> model = nn.Sequential(nn.Embedding(10, 2), nn.Flatten(), nn.Linear(8, 2)); _ = nn.init.zeros_(model[2].weight)
    >>> batch = Batch(torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), torch.tensor([0, 1]))
    >>> Sufficiency({"aopc_norm": "eraser"})(model, batch, torch.rand(2, 4, 2), batch.y).tolist()
    [0.0, 0.0]
    """

    name = "sufficiency"
    version = "2"  # 2: exact ranking, seeded ties (METRICS.md §0)
    higher_is_better = False
    label = "Sufficiency"
    kernel = staticmethod(F.sufficiency)


@METRICS.register
class TokenAUPRC(Metric):
    """Token AUPRC: area under the precision-recall curve of the token scores against the rationale tokens.

    >>> x = torch.tensor([[3, 4, 5, 6, 0]]); rationale = torch.tensor([[0., 1., 0., 1., 0.]])
    >>> batch = Batch(x, torch.tensor([1]), rationale)
    >>> A = torch.tensor([[.1, .9, .2, .8, 0.]]).unsqueeze(-1).expand(1, 5, 3)  # N x L x E
    >>> TokenAUPRC()(None, batch, A, batch.y).tolist()
    [1.0]
    """

    name = "token_auprc"
    version = "1"
    category = "localization"
    higher_is_better = True
    requires = frozenset({"mask"})
    modalities = frozenset({"text"})
    label = "Token AUPRC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return F.token_auprc(attributions, batch.x, _mask(batch), pooling=self.cfg.pooling)
