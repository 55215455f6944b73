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
    """x with its ⌊fraction · HW⌋ most relevant pixels set to the image's top-left pixel (SGT's masking).

    Pixels are ranked by mean_c |A| (the ``l1-norm`` pooling ranks identically) in the exact order of
    ``maps.rank_positions``, all channels of a pixel together (``roar.removal_mask``).

    Args:
        x: images, N x C x H x W, floating.
        A: attributions, N x C x H x W.
        fraction: the share of pixels to mask, in [0, 1].
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        The masked images, x's shape, dtype and device.

    Example:
        >>> x = torch.arange(4.).view(1, 1, 2, 2) + 1
        >>> masked_inputs(x, torch.tensor([[[[0., 3.], [2., 1.]]]]), 0.25).flatten().tolist()  # the top pixel only
        [1.0, 1.0, 3.0, 4.0]
    """
    mask = removal_mask(A, fraction, "roar", pooling="l1-norm", index=index, tie_seed=tie_seed)
    return torch.where(mask.to(x.device), x[:, :, :1, :1], x)


def masked_accuracy_curve(model: nn.Module, x: torch.Tensor, A: torch.Tensor, y: torch.Tensor, *,
                          fractions: Sequence[float] = FRACTIONS, index: torch.Tensor | None = None,
                          tie_seed: int = 0, eval_batch_size: int = 256) -> torch.Tensor:
    """Correctness 1[argmax f(x_d) = y] per sample and masked fraction d, without retraining (SGT protocol).

    x_d = ``masked_inputs(x, A, d)``; each chunk of ``eval_batch_size`` samples is ranked once for every fraction.

    Args:
        model: classifier, N x C x H x W -> N x K logits.
        x: images, N x C x H x W, floating.
        A: attributions, N x C x H x W.
        y: the true class per sample, N, long.
        fractions: the masked shares d, D values in [0, 1], default ``FRACTIONS`` (0, 0.1, ..., 0.9).
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        tie_seed: seed of the tie-breaking order, default 0.
        eval_batch_size: samples per forward pass (one pass per fraction), default 256.

    Returns:
        1.0 (correct) or 0.0, N x D, float64; the column mean is the accuracy at d.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        >>> x, A = torch.rand(4, 1, 4, 4), torch.rand(4, 1, 4, 4)
        >>> masked_accuracy_curve(model, x, A, model(x).argmax(1), fractions=(0, 0.5))[:, 0].tolist()  # d = 0: x
        [1.0, 1.0, 1.0, 1.0]
    """
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
