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
    """The model's score for the target on x and on x ⊙ S, with S = minmax(pool(A)) (METRICS.md §1).

    S is one H x W map per sample in [0, 1], multiplied into every channel; it is built per chunk of
    ``eval_batch_size`` samples, and both scores of a chunk come from forward passes on it.

    Args:
        model: classifier, N x C x H x W -> N x K logits.
        x: inputs, N x C x H x W, floating.
        A: attributions, N x C x H x W (or N x H x W).
        target: class per sample, N, long.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        eval_batch_size: samples per forward pass, default 256.
        score: ``"probability"`` (softmax p_c, default) or ``"logit"`` (z_c).

    Returns:
        (Y, O): the target's score on x and on x ⊙ S, each N, float64.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        >>> x, A = torch.rand(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
        >>> Y, O = masked_confidence(model, x, A, torch.tensor([0, 2]))
        >>> Y.shape, O.dtype, torch.equal(Y, O)  # a constant positive map gives S = 1: x unchanged
        (torch.Size([2]), torch.float64, True)
    """
    def target_score(inputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        out = model(inputs).double()
        return (out if score == "logit" else out.softmax(1)).gather(1, c).squeeze(1)

    def run(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:
        S = minmax(pool(A[sl], pooling)).to(x.dtype).unsqueeze(1)  # n x 1 x H x W, broadcast over channels
        c = target[sl].view(-1, 1)
        return target_score(x[sl], c), target_score(x[sl] * S, c)

    return chunked(run, len(x), eval_batch_size)


def average_drop(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """Average drop per sample (Grad-CAM++): AD = 100 · max(0, Y − O) / Y (lower is better).

    Args:
        Y: the target's probability on x, N, floating (``masked_confidence``).
        O: the target's probability on x ⊙ S, Y's shape.

    Returns:
        AD, Y's shape and dtype, in [0, 100]; Y = 0 gives NaN.

    Example:
        >>> average_drop(torch.tensor([.5, .5]), torch.tensor([.25, .75])).tolist()
        [50.0, 0.0]
    """
    return 100 * (Y - O).clamp(min=0) / Y


def drop_in_confidence(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's ``DropInConfidence`` per sample: max(0, Y − O), not divided by Y.

    Args:
        Y: the target's score on x, N, floating (the target logit in pytorch-grad-cam).
        O: the target's score on x ⊙ S, Y's shape.

    Returns:
        max(0, Y − O), Y's shape and dtype.

    Example:
        >>> drop_in_confidence(torch.tensor([.5, .5]), torch.tensor([.25, .75])).tolist()
        [0.25, 0.0]
    """
    return (Y - O).clamp(min=0)


def average_increase(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """Average increase per sample (Grad-CAM++): AI = 100 · 1[O > Y] (higher is better).

    Args:
        Y: the target's probability on x, N, floating.
        O: the target's probability on x ⊙ S, Y's shape.

    Returns:
        AI, Y's shape, float64, 0 or 100.

    Example:
        >>> average_increase(torch.tensor([.5, .5]), torch.tensor([.25, .75])).tolist()
        [0.0, 100.0]
    """
    return 100 * (O > Y).double()


def average_gain(Y: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """Average gain per sample (Opti-CAM): AG = 100 · max(0, O − Y) / (1 − Y + 1e-8) (higher is better).

    Args:
        Y: the target's probability on x, N, floating.
        O: the target's probability on x ⊙ S, Y's shape.

    Returns:
        AG, Y's shape and dtype, in [0, 100] (the 1e-8 keeps Y = 1 finite).

    Example:
        >>> average_gain(torch.tensor([.5, .5]), torch.tensor([.25, .75])).tolist()
        [0.0, 50.0]
    """
    return 100 * (O - Y).clamp(min=0) / (1 - Y + 1e-8)
