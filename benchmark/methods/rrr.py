"""Right for the Right Reasons (Ross, Hughes, Doshi-Velez 2017): penalize input gradients outside the
ground-truth mask (TRAINING_METHODS.md §6)."""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.base import TrainingMethod
from xaibench.methods.hooks import embedded, expand_mask
from xaibench.ranges import NonNegativeFloat
from xaibench.registries import METHODS


def rrr_penalty(g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ ((1 - mask) · g)² / N: the squared input gradient outside the relevant region, averaged over samples.

    >>> g = torch.tensor([[[[1., 2.], [3., 4.]]]])
    >>> rrr_penalty(g, torch.tensor([[[1., 1.], [0., 1.]]])).item()  # only the 3 lies outside
    9.0
    """
    return ((1 - expand_mask(mask, g)) * g).pow(2).sum() / len(g)


@METHODS.register
class RRR(TrainingMethod):
    """Right for the Right Reasons (Ross et al. 2017): CE + lam * squared log-probability input gradients outside the mask.

    >>> RRR().cfg.lam, RRR.requires_mask
    (10.0, True)
    """

    name = "rrr"
    version = "1"
    requires_mask = True
    cost = "about 2-3x ERM (double backprop)"

    @dataclasses.dataclass(frozen=True)
    class Config:
        lam: NonNegativeFloat = 10.0  # ours; the paper's annotation A = 1 - mask and sum over the batch (we average)

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        if batch.mask is None:
            raise ValueError("rrr requires ground-truth masks (Batch.mask); the task provides none")
        with embedded(model, batch.x) as (e, forward):
            e = e if e.requires_grad else e.detach().requires_grad_(True)
            z = forward(e)
            # summed log-probabilities of all classes, as the paper; create_graph: the penalty is trained
            (g,) = torch.autograd.grad(F.log_softmax(z, 1).sum(), e, create_graph=True)
        return F.cross_entropy(z, batch.y) + self.cfg.lam * rrr_penalty(g, batch.mask.to(g.dtype))
