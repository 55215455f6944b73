"""Localization kernels on N x H x W ground-truth masks (1 = relevant). Spec: METRICS.md §2.

>>> A = torch.zeros(1, 1, 8, 8); A[0, 0, 3, 4] = 1
>>> mask = torch.zeros(1, 8, 8); mask[0, 3, 6] = 1
>>> pointing_game(A, mask, tolerance=1.9).item(), pointing_game(A, mask, tolerance=2).item()
(0.0, 1.0)
"""
from __future__ import annotations

import torch

from .maps import Pooling, pool, rank_scores


def _masks(mask: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    if mask.shape != R.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the pooled map {tuple(R.shape)}")
    return mask.to(R.device) > 0


def default_tolerance(h: int, w: int) -> float:
    """TorchRay's 15 px, but 0 on small images (min(H, W) < 64) where 15 px would cover most of the image."""
    return 0.0 if min(h, w) < 64 else 15.0


def pointing_game(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None,
                  tolerance: float | None = None, pooling: Pooling = "sum,abs", tie_seed: int = 0) -> torch.Tensor:
    """Hit (1.0) iff a mask pixel lies within Euclidean ``tolerance`` of argmax r, else 0.0; empty mask -> NaN."""
    R = pool(A, pooling)
    m = _masks(mask, R)
    n, h, w = R.shape
    tol = default_tolerance(h, w) if tolerance is None else float(tolerance)
    # argmax of r (tie noise included) so tied maxima pick one seeded point instead of all hitting.
    point = rank_scores(R, index, tie_seed).flatten(1).argmax(1)
    py, px = (point // w).view(n, 1, 1), (point % w).view(n, 1, 1)
    ys = torch.arange(h, device=R.device).view(1, h, 1)
    xs = torch.arange(w, device=R.device).view(1, 1, w)
    dist = ((ys - py) ** 2 + (xs - px) ** 2).double().sqrt()
    hit = ((dist <= tol) & m).flatten(1).any(1).double()
    return torch.where(m.flatten(1).any(1), hit, torch.full_like(hit, float("nan")))


def relevance_mass_accuracy(A: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """RMA = sum_M R / sum R on the pooled map (no minmax); sum R = 0 -> |M| / HW; empty mask -> NaN.

    >>> R = torch.ones(1, 4, 4); M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1; R[M > 0] = 2
    >>> relevance_mass_accuracy(R, M).item(), relevance_mass_accuracy(M, M).item()
    (0.4, 1.0)
    """
    R = pool(A, pooling)
    m = _masks(mask, R).flatten(1)
    R = R.double().flatten(1)
    inside, total = (R * m).sum(1), R.sum(1)
    size = m.sum(1).double()
    # Zero total relevance: the value of a uniform map, i.e. the mask's area fraction.
    out = torch.where(total == 0, size / R.shape[1], inside / torch.where(total == 0, 1.0, total))
    return torch.where(size > 0, out, torch.full_like(out, float("nan")))
