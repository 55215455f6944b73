"""Integrated Gradients: captum's path integral from the black baseline, Gauss-Legendre steps."""
from __future__ import annotations

import dataclasses
from typing import Literal

import captum.attr
import torch

from xaibench.metrics.explainers.captum_adapter import CaptumExplainer, quiet_captum
from xaibench.ranges import PositiveInt
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class IntegratedGradients(CaptumExplainer):
    """Integrated Gradients (Sundararajan et al. 2017): (x − 0) ⊙ the mean gradient along the straight path.

    ``completeness_gap`` holds captum's convergence delta Σ A − (z_c(x) − z_c(0)) of the last call.

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = torch.rand(2, 1, 2, 2)
    >>> with IntegratedGradients(model, {"n_steps": 4}) as e:
    ...     A = e.explain(x, torch.tensor([0, 2]))
    >>> torch.allclose(A.flatten(1), x.flatten(1) * model[1].weight[[0, 2]]), e.completeness_gap.shape
    (True, torch.Size([2]))
    """

    name = "integrated_gradients"
    modalities = frozenset({"image", "time_series", "text"})
    version = "1"
    method = captum.attr.IntegratedGradients

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_steps: PositiveInt = 32
        method: Literal["gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
                        "riemann_middle"] = "gausslegendre"
        internal_batch_size: PositiveInt = 64  # path points per forward/backward pass

    completeness_gap: torch.Tensor | None = None

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        inputs = x.detach().requires_grad_(True)
        with quiet_captum():
            A, delta = captum.attr.IntegratedGradients(self.model).attribute(
                inputs, baselines=0.0, target=target, n_steps=self.cfg.n_steps, method=self.cfg.method,
                internal_batch_size=self.cfg.internal_batch_size, return_convergence_delta=True)
        self.completeness_gap = delta.detach()
        return A
