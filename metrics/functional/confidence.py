"""Average drop, increase and gain (Grad-CAM++, Opti-CAM): the model's confidence on x ⊙ minmax(R).

Spec: METRICS.md §1. Y = p_c(x), O = p_c(x ⊙ S), S = minmax(R) multiplied in pixel space.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .maps import Pooling, chunked, minmax, pool


Score = Literal["probability", "logit"]


@torch.no_grad()
def masked_confidence(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                      pooling: Pooling = "sum,abs", eval_batch_size: int = 256,
                      score: Score = "probability") -> tuple[torch.Tensor, torch.Tensor]:
    """(Y, O) per sample, float64: the target's softmax probability (or its logit) on x and on x ⊙ S (S built per
    batch)."""
    def target_score(inputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        out = model(inputs).double()
        return (out if score == "logit" else out.softmax(1)).gather(1, c).squeeze(1)

    def run(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:
        S = minmax(pool(A[sl], pooling)).to(x.dtype).unsqueeze(1)  # n x 1 x H x W, broadcast over channels
        c = target[sl].view(-1, 1)
        return target_score(x[sl], c), target_score(x[sl] * S, c)

    return chunked(run, len(x), eval_batch_size)


def average_drop(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AD_i = 100 · max(0, Y − O) / Y (lower is better)."""
    return 100 * (Y - O).clamp(min=0) / Y


def drop_in_confidence(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's ``DropInConfidence``: max(0, Y − O), not divided by Y (Y, O: target logits there)."""
    return (Y - O).clamp(min=0)


def average_increase(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AI_i = 100 · 1[O > Y] (higher is better)."""
    return 100 * (O > Y).double()


def average_gain(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """AG_i = 100 · max(0, O − Y) / (1 − Y + 1e-8) (higher is better)."""
    return 100 * (O - Y).clamp(min=0) / (1 - Y + 1e-8)
