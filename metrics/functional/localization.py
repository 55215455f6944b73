"""Localization kernels on N x H x W ground-truth masks (1 = relevant). Spec: METRICS.md §2.

>>> A = torch.zeros(1, 1, 8, 8); A[0, 0, 3, 4] = 1
>>> mask = torch.zeros(1, 8, 8); mask[0, 3, 6] = 1
>>> pointing_game(A, mask, tolerance=1.9).item(), pointing_game(A, mask, tolerance=2).item()
(0.0, 1.0)
"""
from __future__ import annotations

import torch

from .maps import Pooling, minmax, per_sample_chunks, pool, rank_order, rank_positions
from .stats import average_ranks


def _masks(mask: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    if mask.shape != R.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the pooled map {tuple(R.shape)}")
    return mask.to(R.device) > 0


def default_tolerance(h: int, w: int) -> float:
    """The pointing game's default tolerance: TorchRay's 15 px, but 0 on small images (min(H, W) < 64).

    On small images 15 px would cover most of the image, and every point would hit.

    Args:
        h: image height in pixels.
        w: image width in pixels.

    Returns:
        The tolerance in pixels, 0.0 or 15.0.

    Example:
        >>> default_tolerance(32, 32), default_tolerance(224, 224)
        (0.0, 15.0)
    """
    return 0.0 if min(h, w) < 64 else 15.0


@per_sample_chunks("A", "mask")
def pointing_game(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None,
                  tolerance: float | None = None, pooling: Pooling = "sum,abs", tie_seed: int = 0) -> torch.Tensor:
    """Pointing game (Zhang et al. 2018) per sample: a hit iff a mask pixel lies within ``tolerance`` of the map's peak.

    The point is the top-1 of the exact ranking of R = pool(A) (``maps.rank_order``): argmax R, with tied maxima
    picking one seeded point instead of all hitting. Distances are Euclidean, in pixels.

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        tolerance: hit radius in pixels, ≥ 0; default None = ``default_tolerance(H, W)``.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        1.0 (hit) or 0.0 (miss), N, float64; NaN for an empty mask.

    Example:
        >>> A = torch.zeros(1, 1, 8, 8); A[0, 0, 3, 4] = 1
        >>> mask = torch.zeros(1, 8, 8); mask[0, 3, 6] = 1
        >>> pointing_game(A, mask, tolerance=1.9).item(), pointing_game(A, mask, tolerance=2).item()
        (0.0, 1.0)
    """
    R = pool(A, pooling)
    m = _masks(mask, R)
    n, h, w = R.shape
    tol = default_tolerance(h, w) if tolerance is None else float(tolerance)
    # The top of the exact ranking: tied maxima pick one seeded point instead of all hitting.
    point = rank_order(R, index, tie_seed)[:, 0]
    py, px = (point // w).view(n, 1, 1), (point % w).view(n, 1, 1)
    ys = torch.arange(h, device=R.device).view(1, h, 1)
    xs = torch.arange(w, device=R.device).view(1, 1, w)
    dist = ((ys - py) ** 2 + (xs - px) ** 2).double().sqrt()
    hit = ((dist <= tol) & m).flatten(1).any(1).double()
    return torch.where(m.flatten(1).any(1), hit, torch.full_like(hit, float("nan")))


@per_sample_chunks("A", "mask")
def relevance_mass_accuracy(A: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Relevance mass accuracy (Arras et al. 2022) per sample: RMA = Σ_M R / Σ R on the pooled map R = pool(A).

    No minmax: R is used as pooled. A map with Σ R = 0 gives |M| / HW (a uniform map's value).

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.

    Returns:
        RMA, N, float64, in [0, 1] for a nonnegative pooling; NaN for an empty mask.

    Example:
        >>> R = torch.ones(1, 4, 4); M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1; R[M > 0] = 2
        >>> relevance_mass_accuracy(R, M).item(), relevance_mass_accuracy(M, M).item()
        (0.4, 1.0)
    """
    R = pool(A, pooling)
    return _mass_share(R, _masks(mask, R))


@per_sample_chunks("A", "mask")
def energy_pointing_game(A: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Energy-based pointing game (Score-CAM) per sample: Σ_M S / Σ S with S = minmax(pool(A)).

    An all-zero S (a constant map ≤ 0) gives |M| / HW.

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.

    Returns:
        The energy share, N, float64, in [0, 1]; NaN for an empty mask.

    Example:
        >>> R = torch.ones(1, 4, 4); M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1; R[M > 0] = 2
        >>> energy_pointing_game(R, M).item()
        1.0
    """
    R = pool(A, pooling)
    return _mass_share(minmax(R), _masks(mask, R))


def _mass_share(S: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """sum_M S / sum S per sample (float64); zero total -> |M| / HW (a uniform map); empty mask -> NaN."""
    S, m = S.double().flatten(1), m.flatten(1)
    inside, total = (S * m).sum(1), S.sum(1)
    size = m.sum(1).double()
    out = torch.where(total == 0, size / S.shape[1], inside / torch.where(total == 0, 1.0, total))
    return torch.where(size > 0, out, torch.full_like(out, float("nan")))


@per_sample_chunks("A", "mask")
def relevance_rank_accuracy(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None,
                            pooling: Pooling = "sum,abs", tie_seed: int = 0) -> torch.Tensor:
    """Relevance rank accuracy (Arras et al. 2022) per sample: RRA = |top-K ∩ M| / K with K = |M|.

    The top-K are the first K of the exact ranking of R = pool(A) (``maps.rank_positions``; ties in a seeded order).

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        RRA, N, float64, in [0, 1]; NaN for an empty mask.

    Example:
        >>> R = torch.ones(1, 4, 4); M = torch.zeros(1, 4, 4); M[0, :2, :2] = 1; R[M > 0] = 2
        >>> relevance_rank_accuracy(R, M).item()
        1.0
    """
    R = pool(A, pooling)
    m = _masks(mask, R).flatten(1)
    hits = _top_k(R, m.sum(1), index, tie_seed) & m
    size = m.sum(1).double()
    out = hits.sum(1).double() / size.clamp(min=1)
    return torch.where(size > 0, out, torch.full_like(out, float("nan")))


def _top_k(R: torch.Tensor, k: torch.Tensor, index: torch.Tensor | None, tie_seed: int) -> torch.Tensor:
    """Bool N x D (D = H·W): the first k_i of sample i's exact ranking (k may differ per sample)."""
    return rank_positions(R, index, tie_seed).flatten(1) < k.view(-1, 1)


@per_sample_chunks("A", "mask")
def top_k_iou(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None, fraction: float | None = None,
              pooling: Pooling = "sum,abs", tie_seed: int = 0) -> torch.Tensor:
    """IoU of the top-k pixels of the exact ranking of R = pool(A) with the mask, per sample.

    k = |M| (default) or ⌊fraction · HW⌋, the same for every sample. With k = |M|, IoU = RRA / (2 − RRA).

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        fraction: the share of pixels to take, in [0, 1]; default None = k = |M| per sample.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        |top-k ∩ M| / |top-k ∪ M|, N, float64, in [0, 1]; NaN for an empty mask.

    Example:
        >>> R = torch.tensor([[[4., 3.], [2., 1.]]]); M = torch.tensor([[[1., 0.], [1., 0.]]])
        >>> top_k_iou(R, M).item(), top_k_iou(R, M, fraction=0.25).item()  # top-2 = {(0,0), (0,1)}; top-1 = {(0,0)}
        (0.3333333333333333, 0.5)
    """
    R = pool(A, pooling)
    m = _masks(mask, R).flatten(1)
    size = m.sum(1)
    k = size if fraction is None else torch.full_like(size, int(fraction * m.shape[1]))
    top = _top_k(R, k, index, tie_seed)
    iou = (top & m).sum(1).double() / (top | m).sum(1).double().clamp(min=1)
    return torch.where(size > 0, iou, torch.full_like(iou, float("nan")))


@per_sample_chunks("A", "mask")
def pixel_roc_auc(A: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """ROC-AUC of the pooled map R = pool(A) as a pixel classifier of the mask, per sample (Mann-Whitney U).

    AUC = (Σ_{p ∈ M} rank(R_p) − P (P + 1) / 2) / (P · Q) with average ranks, P = |M|, Q = HW − P: ties count 1/2,
    and no tie noise is drawn.

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.

    Returns:
        AUC, N, float64, in [0, 1]; NaN for an empty or full mask.

    Example:
        >>> R = torch.tensor([[[.9, .8, .3, .1]]]); M = torch.tensor([[[1., 0., 1., 0.]]])
        >>> pixel_roc_auc(R, M).item()
        0.75
    """
    R = pool(A, pooling)
    m = _masks(mask, R).flatten(1)
    ranks = average_ranks(R.double().flatten(1))
    pos = m.sum(1).double()
    neg = m.shape[1] - pos
    # U statistic of the positives: sum of their ranks minus the smallest possible sum.
    u = (ranks * m).sum(1) - pos * (pos + 1) / 2
    auc = u / (pos * neg).clamp(min=1)
    return torch.where((pos > 0) & (neg > 0), auc, torch.full_like(auc, float("nan")))

