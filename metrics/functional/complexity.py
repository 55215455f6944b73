"""Complexity of an attribution map. Spec: METRICS.md §5."""
from __future__ import annotations

import torch

from .maps import Pooling, per_sample_chunks, pool


@per_sample_chunks("A")
def gini(A: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Gini index of each sample's pooled map (METRICS.md §5; higher = sparser).

    With a_(1) ≤ ... ≤ a_(n) the sorted |R| values of the n = H·W pixels, G = Σ_k (2k − n − 1) a_(k) / (n Σ_k a_(k));
    an all-zero map gives 0.

    Args:
        A: attributions, N x C x H x W (or N x H x W), floating.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``; a signed pooling is ranked by |R|.

    Returns:
        G, N, float64, in [0, 1 − 1/n]: 0 for a uniform map, 1 − 1/n for a single nonzero pixel.

    Example:
        >>> gini(torch.tensor([[[0., 0., 0., 1.]]])).item(), gini(torch.tensor([[[1., 2., 3., 4.]]])).item()
        (0.75, 0.25)
    """
    a = pool(A, pooling).double().flatten(1).abs().sort(dim=1).values  # abs: signed poolings still rank by size
    n = a.shape[1]
    k = torch.arange(1, n + 1, dtype=torch.float64, device=a.device)
    total = a.sum(1)
    g = ((2 * k - n - 1) * a).sum(1) / (n * torch.where(total == 0, 1.0, total))
    return torch.where(total == 0, torch.zeros_like(g), g)
