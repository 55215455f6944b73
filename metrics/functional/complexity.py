"""Complexity of an attribution map. Spec: METRICS.md §5."""
from __future__ import annotations

import torch

from .maps import Pooling, per_sample_chunks, pool


@per_sample_chunks("A")
def gini(A: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Gini index of the pooled map flattened (higher = sparser); an all-zero map gives 0.

    >>> gini(torch.tensor([[[0., 0., 0., 1.]]])).item(), gini(torch.tensor([[[1., 2., 3., 4.]]])).item()
    (0.75, 0.25)
    """
    a = pool(A, pooling).double().flatten(1).abs().sort(dim=1).values  # abs: signed poolings still rank by size
    n = a.shape[1]
    k = torch.arange(1, n + 1, dtype=torch.float64, device=a.device)
    total = a.sum(1)
    g = ((2 * k - n - 1) * a).sum(1) / (n * torch.where(total == 0, 1.0, total))
    return torch.where(total == 0, torch.zeros_like(g), g)
