"""Input-bias probes for rectified gradients (Brocki & Chung 2020; Kindermans et al. 2017). Spec: METRICS.md §3."""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .maps import EXPLAIN_BATCH, Pooling, chunked, per_sample_chunks, pool, sample_index
from .stats import spearman


def mean_shifted_model(model: nn.Module, c: float, x: torch.Tensor) -> nn.Module:
    """A copy f₂ of the model f₁ with c added to its normalization layer's mean, so that f₂(x + c) = f₁(x).

    Kindermans et al. (2017)'s input shift: the two models compute the same function on shifted inputs. Checked on
    x in batches of ``EXPLAIN_BATCH``: max |f₂(x + c) − f₁(x)| ≤ 1e-5 (1 + max |f₁(x)|). Puts ``model`` in eval mode.

    Args:
        model: classifier whose ``normalization`` layer has a ``mean`` buffer (``models.base.Normalize``).
        c: the shift, added to every channel's mean (and later to every input value).
        x: inputs for the check, N x C x ..., floating.

    Returns:
        The shifted deep copy f₂, in eval mode.

    Raises:
        TypeError: the model has no normalization layer with a mean.
        ArithmeticError: f₂(x + c) is not f₁(x) within the tolerance.

    Example:
        >>> from xaibench.testing import example_model
        >>> model, x = example_model("small_cnn", n=2)
        >>> shifted = mean_shifted_model(model, 0.5, x)
        >>> (shifted.normalization.mean - model.normalization.mean).tolist(), torch.allclose(shifted(x + .5), model(x))
        ([0.5], True)
    """
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
    """The maps of the mean-shifted model on the shifted inputs: A₂ = E(f₂, x + c), for the same targets.

    f₂ = ``mean_shifted_model(model, c, x)``; the explainer is built once on f₂ and called in batches of
    ``EXPLAIN_BATCH`` samples with their dataset indices.

    Args:
        model: classifier f₁ with a ``normalization`` layer (see ``mean_shifted_model``).
        x: inputs, N x C x ..., floating.
        target: class per sample, N, long.
        make_explainer: builds an explainer (a context manager with ``explain(x, target, index=...)``) from a model,
            for example an explainer class.
        c: the input shift.
        index: the samples' dataset indices, N, long; default None = 0..N-1.

    Returns:
        A₂, the explainer's output shape for x (N x ...), its dtype.

    Example:
        >>> from xaibench.metrics.explainers.saliency import Saliency
        >>> from xaibench.testing import example_model
        >>> model, x = example_model("small_cnn", n=2)
        >>> A1, A2 = Saliency(model).explain(x, torch.tensor([0, 1])), mean_shift_maps(model, x, torch.tensor([0, 1]),
        ...                                                                               Saliency, 0.5)
        >>> A2.shape, bool((mean_shift_rank_correlation(A1, A2) > 0.99).all())  # gradients ignore the shift
        (torch.Size([2, 1, 32, 32]), True)
    """
    index = sample_index(index, len(x))
    with make_explainer(mean_shifted_model(model, c, x)) as explainer:
        return chunked(lambda sl: explainer.explain(x[sl] + c, target[sl], index=index[sl]), len(x), EXPLAIN_BATCH)


@per_sample_chunks("A1", "A2")
def mean_shift_rank_correlation(A1: torch.Tensor, A2: torch.Tensor, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Spearman ρ between the pooled maps of f₁ and f₂ per sample (1 = invariant to the input shift).

    Args:
        A1: attributions of f₁ on x, N x C x H x W (or N x H x W).
        A2: attributions of f₂ on x + c, A1's shape.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.

    Returns:
        ρ, N, float64, in [-1, 1] (``stats.spearman``).

    Example:
        >>> A1 = torch.tensor([[[[1., 2., 3., 4.]]]])
        >>> mean_shift_rank_correlation(A1, 2 * A1).tolist(), mean_shift_rank_correlation(A1, A1.flip(-1)).tolist()
        ([1.0], [-1.0])
    """
    return spearman(pool(A1, pooling), pool(A2, pooling))


@per_sample_chunks("A1", "A2")
def mean_shift_delta(A1: torch.Tensor, A2: torch.Tensor) -> torch.Tensor:
    """Relative change of the map under the input shift per sample: δ = max |A₁ − A₂| / max |A₁| (0 = invariant).

    Args:
        A1: attributions of f₁ on x, N x ... (any trailing shape), floating.
        A2: attributions of f₂ on x + c, A1's shape.

    Returns:
        δ, N, float64, ≥ 0; an all-zero A₁ gives 0 if A₂ is zero too, else inf.

    Example:
        >>> A1 = torch.tensor([[1., -4.], [0., 0.]])
        >>> mean_shift_delta(A1, torch.tensor([[2., -4.], [0., 1.]])).tolist()
        [0.25, inf]
    """
    num = (A1 - A2).abs().flatten(1).amax(1).double()
    den = A1.abs().flatten(1).amax(1).double()
    return torch.where(den == 0, torch.where(num == 0, 0.0, float("inf")), num / torch.where(den == 0, 1.0, den))


def intensity_correlation(A: torch.Tensor, mask: torch.Tensor, intensity: torch.Tensor, positive: torch.Tensor, *,
                          pooling: Pooling = "sum,abs", relative: bool = False) -> torch.Tensor:
    """Spearman ρ between the input intensities and the maps' mass on the mask, over the positive samples: one value.

    m_i = Σ_{p ∈ M_i} R_i(p) with R = pool(A), or RMA_i = m_i / Σ_p R_i(p) with ``relative`` (a zero map gives
    |M| / HW). Only the samples with ``positive`` true and a nonempty mask take part.

    Args:
        A: attributions, N x C x H x W (or N x H x W).
        mask: ground-truth masks, N x H x W (> 0 = relevant).
        intensity: the input intensity I_i per sample, N, real.
        positive: which samples take part, N, bool.
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        relative: correlate the relevance mass accuracy instead of the mass, default False.

    Returns:
        ρ, shape 1, float64, in [-1, 1] (``stats.spearman``, so never NaN: a constant I or m gives 0 or 1).

    Example:
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
