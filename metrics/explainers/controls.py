"""Control explainers (EXPLAINERS.md §4): model-independent maps every metric also reports."""
from __future__ import annotations

import dataclasses
import itertools

import torch

from xaibench.metrics.explainers.base import Explainer, per_sample_noise
from xaibench.ranges import Seed
from xaibench.registries import EXPLAINERS

_calls = itertools.count(1)  # reseed_per_call: a new draw on every call in this process


@EXPLAINERS.register
class RandomControl(Explainer):
    """Random control: A ~ U(0, 1) i.i.d., from generators seeded by (seed, dataset index).

    >>> from torch import nn
    >>> A = RandomControl(nn.Identity()).explain(torch.zeros(3, 1, 2, 2), torch.zeros(3, dtype=torch.long),
    ...                                 index=torch.tensor([4, 5, 6]))
    >>> B = RandomControl(nn.Identity()).explain(torch.zeros(1, 1, 2, 2), torch.zeros(1, dtype=torch.long),
    ...                                 index=torch.tensor([5]))
    >>> torch.equal(A[1:2], B), bool(((A >= 0) & (A < 1)).all())
    (True, True)
    """

    name = "random"
    version = "1"
    stochastic = True
    mean_shift_invariant = True  # model-independent
    modalities = frozenset({"image", "time_series", "text"})

    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: Seed = 0
        reseed_per_call: bool = False  # True: fresh noise at every call (passes MPRT, showing it proves little)

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        seed = self.cfg.seed + (next(_calls) << 32 if self.cfg.reseed_per_call else 0)
        return per_sample_noise(torch.rand, tuple(x.shape[1:]), len(x), seed, index).to(x.device)


@EXPLAINERS.register
class ConstantControl(Explainer):
    """Constant control: A = 1 everywhere (ties broken by the metrics' own noise).

    >>> ConstantControl(torch.nn.Identity()).explain(torch.rand(1, 1, 1, 2), torch.tensor([0])).tolist()
    [[[[1.0, 1.0]]]]
    """

    name = "constant"
    version = "1"
    mean_shift_invariant = True
    modalities = frozenset({"image", "time_series", "text"})

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        return torch.ones(x.shape, dtype=torch.float32, device=x.device)
