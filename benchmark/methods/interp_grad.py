"""Interpretable gradients (Torres Figueroa et al. 2024): pull the input gradient towards the guided-backprop
gradient with double backprop (TRAINING_METHODS.md §4)."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.base import TrainingMethod
from xaibench.methods.hooks import embedded, eval_mode, frozen_bn_stats, guided_relu
from xaibench.ranges import NonNegativeFloat
from xaibench.registries import METHODS

Dist = Literal["cos", "mse", "mae", "hist"]
Norm = Literal["none", "l2", "max_abs"]


def _safe_div(a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """a / d per sample, 0 where d = 0 (a zero vector stays zero)."""
    return a / torch.where(d > 0, d, torch.ones_like(d))


def normalize(a: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Per-sample (N×D) scaling: by the L2 norm, by max |a|, or none.

    >>> normalize(torch.tensor([[3., -4.], [0., 0.]]), "l2").tolist()
    [[0.6000000238418579, -0.800000011920929], [0.0, 0.0]]
    """
    if norm == "l2":
        return _safe_div(a, a.norm(dim=1, keepdim=True))
    if norm == "max_abs":
        return _safe_div(a, a.abs().amax(1, keepdim=True))
    return a


def gradient_distance(a: torch.Tensor, b: torch.Tensor, dist: Dist = "cos", norm: Norm = "none") -> torch.Tensor:
    """Per-sample distance between gradients (flattened): ``cos`` = 1 - cosine (a zero vector gives 1,
    normalization ignored), ``mse`` / ``mae`` = mean squared / absolute difference, ``hist`` = 1 - Σ min(â, b̂)
    with â = |a| / Σ|a| (a zero vector has â = 0).

    >>> a, b = torch.tensor([[1., 0.]]), torch.tensor([[1., 1.]])
    >>> [round(gradient_distance(a, b, d).item(), 4) for d in ("cos", "mse", "mae", "hist")]
    [0.2929, 0.5, 0.5, 0.5]
    """
    a, b = a.flatten(1), b.flatten(1)
    if dist == "cos":
        return 1 - _safe_div((a * b).sum(1), a.norm(dim=1) * b.norm(dim=1))
    a, b = normalize(a, norm), normalize(b, norm)
    if dist == "mse":
        return (a - b).pow(2).mean(1)
    if dist == "mae":
        return (a - b).abs().mean(1)
    ha = _safe_div(a.abs(), a.abs().sum(1, keepdim=True))
    hb = _safe_div(b.abs(), b.abs().sum(1, keepdim=True))
    return 1 - torch.minimum(ha, hb).sum(1)


def guided_distance(model: nn.Module, x: torch.Tensor, y: torch.Tensor, dist: Dist = "cos", norm: Norm = "none",
                    target: Literal["label", "predicted"] = "label", detach_target: bool = True,
                    target_eval_mode: bool = False, create_graph: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, per-sample distance between the plain and the guided-backprop gradient of the target logit).

    ``create_graph``: keep the plain gradient's graph (double backprop, for training); the guided pass runs
    with frozen BatchNorm statistics, in eval mode if ``target_eval_mode``."""
    with embedded(model, x) as (e, forward):
        e0 = e if e.requires_grad else e.detach().requires_grad_(True)
        z = forward(e0)
        c = y if target == "label" else z.argmax(1).detach()
        (g,) = torch.autograd.grad(z.gather(1, c[:, None]).sum(), e0, create_graph=create_graph)
        modes = eval_mode(model) if target_eval_mode else contextlib.nullcontext()
        with guided_relu(model), frozen_bn_stats(model), modes:
            eg = e.detach().requires_grad_(True) if detach_target else e0
            (gg,) = torch.autograd.grad(forward(eg).gather(1, c[:, None]).sum(), eg,
                                        create_graph=create_graph and not detach_target)
        if detach_target:
            gg = gg.detach()
    return z, gradient_distance(g, gg, dist, norm)


PROBE_SIZE = 64  # training samples (the first, in dataset order) of the per-epoch probe


def probe_guided_distance(model: nn.Module, data: Batch, n: int = PROBE_SIZE) -> float:
    """Mean cosine distance between plain and guided gradients of the true-label logit on the first ``n``
    training samples, in eval mode, without a graph: the same figure for every method (ERM's for comparison).

    Leaves weights, modes, BatchNorm statistics and the random state alone (eval mode draws no dropout)."""
    probe = data[:n]
    with eval_mode(model), torch.enable_grad():
        _, d = guided_distance(model, probe.x, probe.y, create_graph=False)
    return d.mean().item()


@METHODS.register
class InterpretableGradients(TrainingMethod):
    """Interpretable gradients (Torres Figueroa et al. 2024): CE + lam * distance(input gradient, guided-backprop gradient).

    >>> InterpretableGradients().cfg.dist, InterpretableGradients().cfg.lam
    ('cos', 0.0075)
    """

    name = "interp_grad"
    version = "2"
    cost = "about 3-4x ERM (double backprop plus a guided pass)"

    @dataclasses.dataclass(frozen=True)
    class Config:
        lam: NonNegativeFloat = 7.5e-3  # the paper's ablation with cosine distance (secondary summary; TRAINING_METHODS.md §4)
        dist: Dist = "cos"
        norm: Norm = "none"
        target: Literal["label", "predicted"] = "label"
        detach_target: bool = True
        target_eval_mode: bool = False  # run the guided pass in eval mode (same dropout-free net)

    def penalty(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, per-sample distance between the plain and the guided target-logit gradient)."""
        c = self.cfg
        return guided_distance(model, x, y, c.dist, c.norm, c.target, c.detach_target, c.target_eval_mode)

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        z, dist = self.penalty(model, batch.x, batch.y)
        self.health.add(train_distance=dist.mean())
        return F.cross_entropy(z, batch.y) + self.cfg.lam * dist.mean()

    def epoch_end(self, model: nn.Module, train_data: Batch) -> None:
        self.health.add(guided_cos_distance=probe_guided_distance(model, train_data))
