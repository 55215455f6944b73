"""Saliency: captum's input gradient of the target logit."""
from __future__ import annotations

import dataclasses
from typing import Any

import captum.attr
import torch

from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class Saliency(CaptumExplainer):
    """Saliency (Simonyan et al. 2014): the signed gradient of the target logit w.r.t. the raw input.

    On a linear model z = Wx + b the map is the row W_c:

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> with Saliency(model) as e:
    ...     A = e.explain(torch.rand(1, 1, 2, 2), torch.tensor([2]))
    >>> torch.equal(A.flatten(1), model[1].weight[2:3])
    True
    """

    name = "saliency"
    modalities = frozenset({"image", "time_series", "text"})
    version = "1"
    mean_shift_invariant = True
    method = captum.attr.Saliency

    @dataclasses.dataclass(frozen=True)
    class Config:
        abs: bool = False  # True gives captum's own default, |dz_c/dx|

    def captum_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        return {"abs": self.cfg.abs}
