"""A complete explainer plugin in one file: the squared input gradient of the target logit.

`attribute` gets the raw input batch, the class to explain per sample and the samples' dataset indices; the base
class opens the ``with`` block, puts the model in eval mode, enables gradients and restores everything after.
Check it with ``xaibench.testing.check_explainer``.
"""
from __future__ import annotations

import dataclasses

import torch

from xaibench import EXPLAINERS, Explainer
from xaibench.ranges import PositiveInt


@EXPLAINERS.register
class SquaredGradient(Explainer):
    """Squared gradient: (dz_c/dx)^2, optionally times the input's distance from a baseline."""

    name = "squared_gradient"
    version = "1"
    modalities = frozenset({"image", "time_series", "text"})
    mean_shift_invariant = True  # a gradient only: a shift of the input and the mean leaves it

    @dataclasses.dataclass(frozen=True)
    class Config:
        power: PositiveInt = 2

    def attribute(self, x, target, index):
        x = x.detach().requires_grad_(True)
        logits = self.model(x)
        (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), x)
        return grad.abs() ** self.cfg.power
