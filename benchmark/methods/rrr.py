"""Right for the Right Reasons (Ross, Hughes, Doshi-Velez 2017): penalize input gradients on the annotated region
that must not be used (TRAINING_METHODS.md §6)."""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.base import TrainingMethod
from xaibench.methods.hooks import embedded, expand_mask
from xaibench.ranges import NonNegativeFloat
from xaibench.registries import METHODS

# λ·penalty ≈ CE at a trained ERM model, as Ross et al. select λ1 (calibration: docs/method_health.py)
DEFAULT_LAM = 0.125


def rrr_penalty(g: torch.Tensor, annotation: torch.Tensor) -> torch.Tensor:
    """Σ (A · g)² / N: the squared input gradient on the annotation A (1 = must not be used), averaged over samples.

    >>> g = torch.tensor([[[[1., 2.], [3., 4.]]]])
    >>> rrr_penalty(g, torch.tensor([[[0., 0.], [1., 0.]]])).item()  # only the 3 is annotated
    9.0
    """
    return (expand_mask(annotation, g) * g).pow(2).sum() / len(g)


def rrr_terms(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
              annotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(CE, penalty), both per-sample means; the penalty keeps its graph (double backprop) so it can be trained.

    The gradient is that of the summed log-probabilities of all classes w.r.t. the raw input, as
    ``rrr/multilayer_perceptron.py`` (``input_gradients(scale='log', y='sum')``)."""
    with embedded(model, x) as (e, forward):
        e = e if e.requires_grad else e.detach().requires_grad_(True)
        z = forward(e)
        (g,) = torch.autograd.grad(F.log_softmax(z, 1).sum(), e, create_graph=True)
    return F.cross_entropy(z, y), rrr_penalty(g, annotation.to(g.dtype))


@METHODS.register
class RRR(TrainingMethod):
    """Right for the Right Reasons (Ross et al. 2017): CE + lam * squared log-probability input gradients on the annotation.

    The annotation is the region that must not be used: the task's declared ``shortcut_mask`` (on decoy
    Fashion-MNIST the swatch), else 1 - mask (``region=outside_mask`` forces the latter).

    >>> RRR().cfg.lam, RRR.requires_mask
    (0.125, True)
    """

    name = "rrr"
    version = "2"
    requires_mask = True
    cost = "about 2-3x ERM (double backprop)"
    # λ·penalty / CE is calibrated to about 1 at an ERM model: 100x above warns. No lower bound: under RRR the
    # penalty is meant to shrink, and at initialization input gradients are tiny (ratio ~1e-4 in epoch 1).
    health_ranges = {"ratio": (0.0, 100.0)}

    @dataclasses.dataclass(frozen=True)
    class Config:
        lam: NonNegativeFloat = DEFAULT_LAM
        region: Literal["task", "outside_mask"] = "task"

    def annotation(self, batch: Batch) -> torch.Tensor:
        """A (1 = must not be used): ``batch.meta[ctx.shortcut_mask]`` where the task declares one, else 1 - mask."""
        key = self.ctx.shortcut_mask if self.ctx is not None else None
        if self.cfg.region == "task" and key is not None:
            if key not in batch.meta:
                raise ValueError(f"rrr: the task declares shortcut_mask '{key}', but the batch has no meta['{key}']")
            return batch.meta[key]
        if batch.mask is None:
            raise ValueError("rrr requires ground-truth masks (Batch.mask) or a task shortcut_mask; the task has none")
        return 1 - batch.mask

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        ce, penalty = rrr_terms(model, batch.x, batch.y, self.annotation(batch))
        weighted = self.cfg.lam * penalty
        self.health.add(ce=ce, weighted_penalty=weighted, ratio=weighted / ce.clamp_min(1e-12))
        return ce + weighted
