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
    """The saliency-mass levels p = k/10, k = 1..9.

    Each is the correctly rounded k/10, so mass shares compare exactly against it.

    Args:
        device: where the levels go, default ``"cpu"``.

    Returns:
        p, 9, float64.

    Example:
        >>> mass_levels()[[0, 4, 8]].tolist()
        [0.1, 0.5, 0.9]
    """
    return torch.arange(1, LEVELS + 1, dtype=torch.float64, device=device) / 10


@per_sample_chunks("A", "mask")
def saliency_precision_recall(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None,
                              tie_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Saliency-weighted precision and recall of the top-X cells at each mass level p (Ismail et al. 2020).

    s = minmax(|A|) per sample; S_p = the top-X cells of §0's exact ranking of s (ties in a seeded order), X the
    smallest in [1, n − 1] whose share of Σ s is ≥ p; precision = TP / (TP + FP), recall = TP / (TP + FN) with
    TP = Σ_{S_p ∩ G} s, FP = Σ_{S_p ∖ G} s, FN = Σ_{G ∖ S_p} s.

    Args:
        A: attributions, N x F x T (any trailing shape; n cells per sample), real.
        mask: ground-truth cells G, A's shape (> 0 = relevant).
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        (precision, recall), each N x 9, float64, in [0, 1]; NaN where undefined: an all-zero map, no saliency
        on G, an empty mask or a single cell.

    Raises:
        ValueError: ``mask`` is not A's shape.

    Example:
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
    """AUP per sample: the area under saliency-weighted precision over p = 0.1 ... 0.9 (trapezoid; higher is better).

    Args:
        A, mask, index, tie_seed: as in ``saliency_precision_recall``.

    Returns:
        AUP, N, float64, in [0, 0.8]; NaN where the precision is undefined.

    Example:
        >>> G = torch.zeros(2, 4, 5); G[:, :2] = 1  # |G| = 10 cells
        >>> aup(G, G).tolist(), aup(torch.zeros_like(G), G).tolist()[0]  # s = G: precision 1; an all-zero map
        ([0.8, 0.8], nan)
    """
    precision, _ = saliency_precision_recall(A, mask, index=index, tie_seed=tie_seed)
    return torch.trapezoid(precision, mass_levels(precision.device), dim=1)


def aur(A: torch.Tensor, mask: torch.Tensor, *, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """AUR per sample: the area under saliency-weighted recall over p = 0.1 ... 0.9 (trapezoid; higher is better).

    Args:
        A, mask, index, tie_seed: as in ``saliency_precision_recall``.

    Returns:
        AUR, N, float64, in [0, 0.8]; NaN where the recall is undefined.

    Example:
        >>> G = torch.zeros(1, 4, 5); G[0, :2] = 1  # s = G: X = 10p cells, recall p
        >>> aur(G, G).item()
        0.4
    """
    _, recall = saliency_precision_recall(A, mask, index=index, tie_seed=tie_seed)
    return torch.trapezoid(recall, mass_levels(recall.device), dim=1)
