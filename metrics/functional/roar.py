"""ROAR / KAR (Hooker et al. 2019) kernels: which inputs to remove, the removal itself, the normalized area.

Spec: METRICS.md §1 "ROAR / KAR". ``t`` is always the fraction **removed**: ROAR removes the top-t of the
ranking, KAR the t least important, the random baseline an exact count of t drawn per sample. Removed
entries take the per-channel training mean. Retraining itself is the harness's (``xaibench.retraining``).

>>> x = torch.arange(4.).view(1, 1, 2, 2)
>>> keep_top = removal_mask(x, 0.5, "kar")  # KAR removes the two least relevant pixels
>>> remove(x, keep_top, torch.tensor([9.])).flatten().tolist()
[9.0, 9.0, 2.0, 3.0]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from xaibench.metrics.functional.maps import Pooling, index_draws, pool, rank_positions
from xaibench.metrics.functional.road import removal_counts

FRACTIONS: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
Mode = Literal["roar", "kar", "random"]
RankUnit = Literal["pixel", "value"]


def removal_mask(A: torch.Tensor, fraction: float, mode: Mode, *, rank_unit: RankUnit = "pixel",
                 pooling: Pooling = "sum,abs", squared: bool = False, index: torch.Tensor | None = None,
                 tie_seed: int = 0) -> torch.Tensor:
    """Which entries of x to remove at a fraction: ROAR's top ⌊fraction · K⌋ of the ranking, or KAR's bottom ones.

    The ranking is ``maps.rank_positions``' (exact, ties in a seeded order) over K units per sample: the H·W pixels
    of R = pool(A) (all channels together), or, with ``rank_unit="value"``, the C·H·W entries of A (signed, or
    squared).

    Args:
        A: attributions, N x C x H x W.
        fraction: the share removed, in [0, 1].
        mode: ``"roar"`` (remove the most relevant) or ``"kar"`` (remove the least relevant).
        rank_unit: ``"pixel"`` (default) or ``"value"``.
        pooling: channel pooling for pixel units (``maps.pool``), default ``"sum,abs"``.
        squared: rank value units by A² instead of A, default False.
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        Bool mask (True = remove), N x 1 x H x W for pixels, N x C x H x W for values, on A's device.

    Raises:
        ValueError: ``mode`` is ``"random"`` (``random_removal_mask``) or unknown, or an unknown ``rank_unit``.

    Example:
        >>> A = torch.tensor([[[[0.1, 0.9], [0.5, 0.3]]]])
        >>> removal_mask(A, 0.5, "roar").int().flatten().tolist(), removal_mask(A, 0.5, "kar").int().flatten().tolist()
        ([0, 1, 1, 0], [1, 0, 0, 1])
    """
    if mode not in ("roar", "kar"):
        raise ValueError(f"mode={mode!r}: removal_mask ranks by attribution; use random_removal_mask for 'random'")
    n, c, h, w = A.shape
    if rank_unit == "pixel":
        R, shape = pool(A, pooling), (n, 1, h, w)
    elif rank_unit == "value":
        R, shape = (A.pow(2) if squared else A).reshape(n, c * h, w), A.shape
    else:
        raise ValueError(f"rank_unit={rank_unit!r}: choose from pixel, value")
    pos = rank_positions(R, index, tie_seed).flatten(1)
    units = pos.shape[1]
    k = removal_counts(units, [fraction])[0]
    return (pos < k if mode == "roar" else pos >= units - k).view(shape)


def random_removal_mask(shape: Sequence[int], fraction: float, index: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The random baseline's mask: exactly ⌊fraction · K⌋ of each sample's K units, a uniformly random subset.

    Drawn from the ``"roar-random"`` stream of (seed, dataset index), so a sample's draw ignores batch order.

    Args:
        shape: the mask's shape (N, C', H, W): C' = 1 for pixels, C for values; K = C'·H·W.
        fraction: the share removed, in [0, 1].
        index: the samples' dataset indices, N, long.
        seed: the stream's seed, default 0.

    Returns:
        Bool mask (True = remove), ``shape``, on the CPU.

    Example:
        >>> m = random_removal_mask((3, 1, 4, 4), 0.5, torch.arange(3))
        >>> alone = random_removal_mask((1, 1, 4, 4), 0.5, torch.tensor([2]))  # sample 2 on its own
        >>> m.flatten(1).sum(1).tolist(), torch.equal(m[2], alone[0])
        ([8, 8, 8], True)
    """
    n, *rest = shape
    size = torch.Size(rest).numel()
    scores = index_draws("roar-random", seed, index, lambda g: torch.rand(size, generator=g))
    # The top-k of uniform scores is a uniformly random k-subset. Kept as drawn since v1 (the cached random
    # baseline models stay valid); the rare exact ties between float32 draws go to topk's fixed choice.
    k = removal_counts(size, [fraction])[0]
    out = torch.zeros(scores.shape, dtype=torch.bool)
    if k:
        out.scatter_(1, scores.topk(k, dim=1).indices, True)
    return out.view(n, *rest)


def remove(x: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """x with the masked entries replaced by the per-channel ``fill`` (the training mean).

    Args:
        x: inputs, N x C x ..., floating.
        mask: True = remove, N x 1 x ... (broadcast over channels) or x's shape, bool.
        fill: the value per channel, C (cast to x's dtype and device).

    Returns:
        The inputs after removal, x's shape, dtype and device.

    Example:
        >>> x, mask = torch.zeros(1, 2, 1, 2), torch.tensor([[[[True, False]]]])
        >>> remove(x, mask, torch.tensor([5., 7.])).tolist()
        [[[[5.0, 0.0]], [[7.0, 0.0]]]]
    """
    return torch.where(mask.to(x.device), fill.to(x).view(1, -1, *([1] * (x.dim() - 2))), x)


def normalized_area(t: Sequence[float], values: torch.Tensor) -> torch.Tensor:
    """Normalized area of each curve: the trapezoid area over t divided by the span t[-1] − t[0].

    A constant curve's area is the constant (0.8 is the span of the default fractions).

    Args:
        t: the fractions removed, T increasing values.
        values: the curves, N x T, real.

    Returns:
        Areas, N, float64.

    Example:
        >>> area = normalized_area([0.1, 0.3, 0.9], torch.tensor([[1., 1., 1.], [1., 0., 0.]]))
        >>> [round(v, 12) for v in area.tolist()]
        [1.0, 0.125]
    """
    grid = torch.tensor(t, dtype=torch.float64, device=values.device)
    span = torch.trapezoid(torch.ones_like(grid), grid)  # = t[-1] - t[0], summed as the area is: 1 stays 1
    return torch.trapezoid(values.double(), grid, dim=-1) / span
