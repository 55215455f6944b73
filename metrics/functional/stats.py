"""Rank statistics on rows of a tensor (batched, float64)."""
from __future__ import annotations

import torch

from .maps import per_sample_chunks


def average_ranks(v: torch.Tensor) -> torch.Tensor:
    """1-based ranks within each row, ties given their average rank (``scipy.stats.rankdata(method="average")``).

    Args:
        v: values, N x D, float64 (the rank sums accumulate in v's dtype; other dtypes raise).

    Returns:
        Ranks, N x D, float64, on v's device.

    Example:
        >>> average_ranks(torch.tensor([[3., 1., 3., 2.]], dtype=torch.float64)).tolist()
        [[3.5, 1.0, 3.5, 2.0]]
    """
    sorted_v, order = v.sort(dim=1, stable=True)
    n = v.shape[1]
    pos = torch.arange(1, n + 1, device=v.device, dtype=torch.float64).expand_as(sorted_v)
    new_group = torch.ones_like(sorted_v, dtype=torch.bool)
    new_group[:, 1:] = sorted_v[:, 1:] != sorted_v[:, :-1]
    group = new_group.cumsum(1) - 1
    sums = torch.zeros_like(sorted_v).scatter_add_(1, group, pos)
    counts = torch.zeros_like(sorted_v).scatter_add_(1, group, torch.ones_like(pos))
    avg = sums.gather(1, group) / counts.gather(1, group)
    return torch.empty_like(avg).scatter_(1, order, avg)


@per_sample_chunks("a", "b")
def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation per row (METRICS.md §0): the Pearson correlation of a's and b's average ranks.

    ρ = Σ (r_a − r̄_a)(r_b − r̄_b) / (Σ (r_a − r̄_a)² · Σ (r_b − r̄_b)²)^½. Never NaN: two equal constant rows
    give 1, any other pair with a constant row gives 0.

    Args:
        a: values, N x ... (flattened per row), real.
        b: values, a's shape.

    Returns:
        ρ, N, float64, in [-1, 1].

    Example:
        >>> spearman(torch.tensor([[1., 2., 3.], [1., 1., 1.]]), torch.tensor([[3., 2., 1.], [1., 1., 1.]])).tolist()
        [-1.0, 1.0]
    """
    ra, rb = average_ranks(a.double().flatten(1)), average_ranks(b.double().flatten(1))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    denom = (ra.pow(2).sum(1) * rb.pow(2).sum(1)).sqrt()
    rho = (ra * rb).sum(1) / torch.where(denom == 0, 1.0, denom)
    both_constant_equal = (denom == 0) & (a.flatten(1) == b.flatten(1)).all(1)
    return torch.where(denom == 0, both_constant_equal.double(), rho)
