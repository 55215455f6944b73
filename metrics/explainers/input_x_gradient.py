"""Input × Gradient: captum's x ⊙ ∂z_c/∂x on raw inputs."""
from __future__ import annotations

import captum.attr
import torch

from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class InputXGradient(CaptumExplainer):
    """Input × Gradient (Shrikumar et al. 2016): the raw input times the target-logit gradient.

    On a linear model the map is x ⊙ W_c:

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = torch.rand(1, 1, 2, 2)
    >>> A = InputXGradient(model).explain(x, torch.tensor([1]))
    >>> torch.equal(A.flatten(1), x.flatten(1) * model[1].weight[1:2])
    True
    """

    name = "input_x_gradient"
    modalities = frozenset({"image", "time_series", "text"})
    version = "1"
    method = captum.attr.InputXGradient
