"""Average drop, increase and gain (Grad-CAM++, Opti-CAM): the model's confidence on x ⊙ minmax(R).

Spec: METRICS.md §1. Y = p_c(x), O = p_c(x ⊙ S), S = minmax(R) multiplied in pixel space.
"""
from __future__ import annotations

import torch
from torch import nn

from .maps import Pooling, chunked, minmax, pool


@torch.no_grad()
def masked_confidence(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                      pooling: Pooling = "sum,abs", eval_batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(Y, O) per sample, float64: the target's softmax probability on x and on x ⊙ S (S built per batch)."""
    def run(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:
        S = minmax(pool(A[sl], pooling)).to(x.dtype).unsqueeze(1)  # n x 1 x H x W, broadcast over channels
        c = target[sl].view(-1, 1)
        return tuple(model(inputs).double().softmax(1).gather(1, c).squeeze(1) for inputs in (x[sl], x[sl] * S))

    return chunked(run, len(x), eval_batch_size)


def average_drop(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AD_i = 100 · max(0, Y − O) / Y (lower is better)."""
    return 100 * (Y - O).clamp(min=0) / Y


def average_increase(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AI_i = 100 · 1[O > Y] (higher is better)."""
    return 100 * (O > Y).double()


def average_gain(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AG_i = 100 · max(0, O − Y) / (1 − Y + 1e-8) (higher is better)."""
    return 100 * (O - Y).clamp(min=0) / (1 - Y + 1e-8)
