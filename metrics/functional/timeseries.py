"""AUP / AUR of Ismail et al. (2020): saliency-weighted precision and recall of the most salient cells against the
ground-truth cells, over saliency-mass levels p = 0.1 ... 0.9. Spec: METRICS.md §7.

s = minmax(|A|) per sample over all F·T cells; S_p = the top-X cells, X the smallest in [1, n − 1] whose share of
the saliency mass is ≥ p; TP = Σ_{S_p∩G} s, FP = Σ_{S_p∖G} s, FN = Σ_{G∖S_p} s.

>>> G = torch.zeros(1, 4, 5); G[0, :2] = 1  # |G| = 10 cells
>>> aup(G, G).item(), aur(G, G).item()  # s = G: X = 10p cells, precision 1, recall p
(0.8, 0.4)
"""
from __future__ import annotations

import torch

from .maps import minmax, per_sample_chunks, rank_order

LEVELS = 9  # p = 0.1, ..., 0.9


def mass_levels(device: torch.device | str = "cpu") -> torch.Tensor:
    """p = k/10, k = 1..9 (float64; each the correctly rounded k/10, so mass shares compare exactly)."""
    return torch.arange(1, LEVELS + 1, dtype=torch.float64, device=device) / 10


@per_sample_chunks("A", "mask")
def saliency_precision_recall(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None,
                              tie_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(precision, recall) per sample and level p (N x 9 each, float64); NaN where undefined (an all-zero map, no
    saliency on G, an empty mask or a single cell). Exact ties in s are ordered by §0's seeded permutation.

    >>> A = torch.tensor([[[4., 3., 2., 1., 0.]]]); G = torch.tensor([[[1., 0., 1., 0., 0.]]])
    >>> prec, rec = saliency_precision_recall(A, G)  # s = (1, .75, .5, .25, 0), mass 2.5
    >>> prec[0, [0, 4, 8]].tolist(), rec[0, [0, 4, 8]].tolist()  # X = 1, 2, 3 at p = .1, .5, .9 (shares .4, .7, .9)
    ([1.0, 0.5714285714285714, 0.6666666666666666], [0.6666666666666666, 0.6666666666666666, 1.0])
    """
    if mask.shape != A.shape:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match attributions {tuple(A.shape)}")
    n = A[0].numel()
    s = minmax(A.abs()).flatten(1)
    g = (mask.to(s.device) > 0).flatten(1).double()
    # Cells by exactly decreasing s (§0's ranking), so S_p is always a top-X set of s, as the mass criterion assumes.
    order = rank_order(s, index, tie_seed)
    s_sorted = s.gather(1, order)
    mass = s_sorted.cumsum(1)  # mass[X - 1] = Σ top-X s = TP + FP
    tp = (s_sorted * g.gather(1, order)).cumsum(1)
    total, on_g = mass[:, -1:], (s * g).sum(1, keepdim=True)
    p = mass_levels(s.device)
    # Smallest X with share ≥ p: shares are non-decreasing in X, so X = 1 + #{X' : share_X' < p}, clamped.
    share = mass / torch.where(total > 0, total, 1.0)
    X = (1 + (share.unsqueeze(2) < p).sum(1)).clamp(1, max(n - 1, 1))
    tp_p, sel = tp.gather(1, X - 1), mass.gather(1, X - 1)
    nan = torch.full_like(tp_p, torch.nan)
    ok = (total > 0) & (g.sum(1, keepdim=True) > 0) & torch.tensor(n > 1, device=s.device)
    precision = torch.where(ok & (sel > 0), tp_p / torch.where(sel > 0, sel, 1.0), nan)
    recall = torch.where(ok & (on_g > 0), tp_p / torch.where(on_g > 0, on_g, 1.0), nan)
    return precision, recall


def aup(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """Area under saliency-weighted precision over p = 0.1 ... 0.9 (trapezoid, range [0, 0.8]); NaN if undefined."""
    precision, _ = saliency_precision_recall(A, mask, index=index, tie_seed=tie_seed)
    return torch.trapezoid(precision, mass_levels(precision.device), dim=1)


def aur(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """Area under saliency-weighted recall over p = 0.1 ... 0.9 (trapezoid, range [0, 0.8]); NaN if undefined."""
    _, recall = saliency_precision_recall(A, mask, index=index, tie_seed=tie_seed)
    return torch.trapezoid(recall, mass_levels(recall.device), dim=1)
