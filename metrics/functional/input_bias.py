"""Input-bias probes for rectified gradients (Brocki & Chung 2020; Kindermans et al. 2017). Spec: METRICS.md §3."""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .maps import EXPLAIN_BATCH, Pooling, chunked, per_sample_chunks, pool, sample_index
from .stats import spearman


def mean_shifted_model(model: nn.Module, c: float, x: torch.Tensor) -> nn.Module:
    """f₂ = f₁ with c added to the normalization layer's mean, so that f₂(x + c) = f₁(x) (checked on x)."""
    shifted = copy.deepcopy(model).eval()
    norm = getattr(shifted, "normalization", None)
    if norm is None or not hasattr(norm, "mean"):
        raise TypeError(f"{type(model).__name__} has no normalization layer with a mean to shift")
    model.eval()

    def logit_gaps(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:  # max |logit|, max |Δlogit| per sample
        before = model(x[sl])
        return before.abs().flatten(1).amax(1), (before - shifted(x[sl] + c)).abs().flatten(1).amax(1)

    with torch.no_grad():
        norm.mean += c
        scale, gap = chunked(logit_gaps, len(x), EXPLAIN_BATCH)  # batches: memory does not grow with N
    gap, scale = gap.max().item(), scale.max().item()
    if gap > 1e-5 * (1 + scale):
        raise ArithmeticError(f"the mean-shifted model is not the same function: max |Δlogit| = {gap:.3g}")
    return shifted


def mean_shift_maps(model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                    make_explainer: Callable[[nn.Module], object], c: float,
                    index: torch.Tensor | None = None) -> torch.Tensor:
    """A₂ = E(f₂, x + c) for the same target, explained in batches of EXPLAIN_BATCH samples."""
    index = sample_index(index, len(x))
    with make_explainer(mean_shifted_model(model, c, x)) as explainer:
        return chunked(lambda sl: explainer.explain(x[sl] + c, target[sl], index=index[sl]), len(x), EXPLAIN_BATCH)


@per_sample_chunks("A1", "A2")
def mean_shift_rank_correlation(A1: torch.Tensor, A2: torch.Tensor, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Spearman ρ of the pooled maps per sample (1 = invariant)."""
    return spearman(pool(A1, pooling), pool(A2, pooling))


@per_sample_chunks("A1", "A2")
def mean_shift_delta(A1: torch.Tensor, A2: torch.Tensor) -> torch.Tensor:
    """δ = max|A₁ − A₂| / max|A₁| per sample (0 = invariant); an all-zero A₁ gives 0 if A₂ is zero too, else inf."""
    num = (A1 - A2).abs().flatten(1).amax(1).double()
    den = A1.abs().flatten(1).amax(1).double()
    return torch.where(den == 0, torch.where(num == 0, 0.0, float("inf")), num / torch.where(den == 0, 1.0, den))


def intensity_correlation(A: torch.Tensor, mask: torch.Tensor, intensity: torch.Tensor, positive: torch.Tensor, *,
                          pooling: Pooling = "sum,abs", relative: bool = False) -> torch.Tensor:
    """Spearman(I, m) over the positive samples, m_i = Σ_M R_i (or RMA with ``relative``): one value.

    >>> A = torch.linspace(0.1, 1, 5).view(5, 1, 1, 1) * torch.ones(5, 1, 2, 2)  # maps scale with I
    >>> I, M = torch.linspace(0.1, 1, 5), torch.ones(5, 2, 2)
    >>> intensity_correlation(A, M, I, torch.ones(5, dtype=torch.bool)).tolist()
    [1.0]
    """
    mass = _masses(A, mask, pooling=pooling, relative=relative)
    keep = positive.to(mass.device) & (mask.flatten(1).to(mass.device) > 0).any(1)
    return spearman(intensity.to(mass.device).double()[keep][None], mass[keep][None])


@per_sample_chunks("A", "mask")
def _masses(A: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling, relative: bool) -> torch.Tensor:
    """m_i = Σ_M R_i (or Σ_M R_i / Σ R_i with ``relative``; a zero map gives |M| / HW), float64."""
    R = pool(A, pooling).double().flatten(1)
    m = mask.flatten(1).to(R.device).double()
    mass = (R * m).sum(1)
    if relative:
        total = R.sum(1)
        mass = torch.where(total == 0, m.mean(1), mass / torch.where(total == 0, 1.0, total))
    return mass
