"""Masked accuracy, the SGT protocol (Ismail et al. 2021; METRICS.md §1): accuracy as the top-d pixels by
mean_c|A| are replaced by the image's top-left pixel, without retraining.

>>> x = torch.arange(4.).view(1, 1, 2, 2) + 1
>>> A = torch.tensor([[[[0., 3.], [2., 1.]]]])
>>> masked_inputs(x, A, 0.5).flatten().tolist()  # pixels 1 and 2 take the top-left value 1
[1.0, 1.0, 1.0, 4.0]
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from xaibench.metrics.functional.maps import chunked, pool, rank_positions, sample_index
from xaibench.metrics.functional.road import removal_counts
from xaibench.metrics.functional.roar import removal_mask

FRACTIONS: tuple[float, ...] = tuple(d / 10 for d in range(10))  # 0, 10, ..., 90 % removed


def masked_inputs(x: torch.Tensor, A: torch.Tensor, fraction: float, index: torch.Tensor | None = None,
                  tie_seed: int = 0) -> torch.Tensor:
    """x with its ⌊fraction·HW⌋ most relevant pixels (mean_c|A|, all channels together) set to x[:, :, 0, 0]."""
    mask = removal_mask(A, fraction, "roar", pooling="l1-norm", index=index, tie_seed=tie_seed)
    return torch.where(mask.to(x.device), x[:, :, :1, :1], x)


def masked_accuracy_curve(model: nn.Module, x: torch.Tensor, A: torch.Tensor, y: torch.Tensor, *,
                          fractions: Sequence[float] = FRACTIONS, index: torch.Tensor | None = None,
                          tie_seed: int = 0, eval_batch_size: int = 256) -> torch.Tensor:
    """Correctness 1[argmax f(x_d) = y] per sample (rows) and fraction d (columns), float64."""
    index = sample_index(index, len(x))

    hw = x.shape[-2] * x.shape[-1]
    counts = removal_counts(hw, fractions)

    def run(sl: slice) -> torch.Tensor:
        # Ranked once per chunk for every fraction: the masks equal masked_inputs' (removal_mask's rule).
        pos = rank_positions(pool(A[sl], "l1-norm"), index[sl], tie_seed).unsqueeze(1).to(x.device)
        xs, corner = x[sl], x[sl][:, :, :1, :1]
        cols = [model(torch.where(pos < k, corner, xs)).argmax(1) == y[sl].to(x.device) for k in counts]
        return torch.stack(cols, 1).double()

    return chunked(run, len(x), eval_batch_size)
