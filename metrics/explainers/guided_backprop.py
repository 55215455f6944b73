"""Guided Backpropagation: captum's ReLU backward rule relu(grad_out)·1[input > 0]."""
from __future__ import annotations

import captum.attr
import torch

from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class GuidedBackprop(CaptumExplainer):
    """Guided Backpropagation (Springenberg et al. 2015): only positive gradients pass each ReLU.

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> A = GuidedBackprop(model).explain(torch.rand(2, 1, 2, 2), torch.tensor([0, 1]))
    >>> A.shape
    torch.Size([2, 1, 2, 2])
    """

    name = "guided_backprop"
    version = "1"
    requires = frozenset({"relu_modules"})
    mean_shift_invariant = True
    method = captum.attr.GuidedBackprop
