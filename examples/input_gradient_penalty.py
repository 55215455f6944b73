"""A complete training-method plugin in one file: cross-entropy plus an L2 penalty on input gradients.

Run it beside the built-ins:

    xaibench run examples/plugin_suite.yaml --plugin examples/input_gradient_penalty.py
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from xaibench import METHODS, TrainingMethod


@METHODS.register
class InputGradientPenalty(TrainingMethod):
    """Cross-entropy + lam * mean squared input gradient of the log-likelihood (double backprop)."""

    name = "input_grad_l2"
    version = "1"
    cost = "about 2x ERM (double backprop)"

    @dataclasses.dataclass(frozen=True)
    class Config:
        lam: float = 1.0

    def loss(self, model, batch, step):
        x = batch.x.detach().requires_grad_(True)
        ce = F.cross_entropy(model(x), batch.y)
        # create_graph=True: the penalty itself is differentiated in the backward pass
        (grad,) = torch.autograd.grad(ce, x, create_graph=True)
        return ce + self.cfg.lam * grad.pow(2).flatten(1).sum(1).mean()
