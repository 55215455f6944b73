"""Saliency: captum's input gradient of the target logit."""
from __future__ import annotations

import dataclasses

import captum.attr
import torch

from xaibench.metrics.explainers.base import Explainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class Saliency(Explainer):
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
    version = "1"

    @dataclasses.dataclass(frozen=True)
    class Config:
        abs: bool = False  # True gives captum's own default, |dz_c/dx|

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        # captum differentiates with torch.autograd.grad, so parameter .grad stays None. It would set
        # requires_grad on (and zero .grad of) the caller's x: give it a fresh leaf that already requires grad.
        inputs = x.detach().requires_grad_(True)
        return captum.attr.Saliency(self.model).attribute(inputs, target=target, abs=self.cfg.abs)
