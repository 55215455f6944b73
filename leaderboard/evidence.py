"""The one-sided t-tests that the verdict rule implies, and the seeds an undecided claim would need.

A claim's region (``Claim.limits``) has one or two finite boundaries. The 95% t-interval lies on one side of a
boundary b exactly when the one-sided t-test of "mean beyond b on that side" has p < 0.025, so the verdict rule is:

- **reproduced** when p_reproduce < 0.025, with p_reproduce the largest over the region's finite boundaries of the
  p-value for "mean on the region's side of b" (one boundary for higher/lower/above/below; both, as in a TOST
  equivalence test, for equivalent/within);
- **contradicted** when p_contradict < 0.025, with p_contradict the smallest over the boundaries of the p-value for
  "mean on the far side of b".

Holm's adjustment (reproduction.py) runs on each outcome's deciding p-value, min(p_reproduce, p_contradict).
"""
from __future__ import annotations

import math

from xaibench.leaderboard.claims import Claim
from xaibench.leaderboard.stats import Summary, p_above, p_below, seeds_for_power

ALPHA = 0.025  # each one-sided test of the two-sided 95% interval
POWER = 0.8


def _closed(claim: Claim) -> bool:
    return claim.direction in ("equivalent", "within")  # "lies inside ±m" includes the boundary


def one_sided_p(claim: Claim, s: Summary) -> tuple[float, float] | None:
    """(p_reproduce, p_contradict) of ``claim`` on summary ``s`` (None with fewer than 2 seeds or an infinite
    value: no t-test).

    >>> from xaibench.leaderboard.claims import CLAIMS
    >>> higher = next(c for c in CLAIMS if c.direction == "higher")
    >>> [round(p, 6) for p in one_sided_p(higher, Summary(0.1, float("nan"), 4, 0.1))]  # t = 2, 3 df
    [0.069663, 0.930337]
    """
    if s.n_seeds < 2 or not (math.isfinite(s.mean) and math.isfinite(s.sd)):
        return None
    (a, b), closed = claim.limits(), _closed(claim)
    inside, outside = [], []
    if math.isfinite(a):
        inside.append(p_above(s, a, closed))
        outside.append(p_below(s, a))
    if math.isfinite(b):
        inside.append(p_below(s, b, closed))
        outside.append(p_above(s, b))
    return max(inside), min(outside)


def nearest_boundary(claim: Claim, mean: float) -> float:
    """The finite boundary of the claim's region closest to ``mean``."""
    return min((b for b in claim.limits() if math.isfinite(b)), key=lambda b: abs(mean - b))


def seeds_needed(claim: Claim, s: Summary) -> float | None:
    """Seeds at which the one-sided t-test (α = 0.025, the verdict rule's) against the boundary nearest the
    observed mean reaches power 0.8, if the true effect were the observed distance to it and the true sd the
    observed one; ``math.inf`` if no number up to ``SEEDS_CAP`` does (the mean on or next to the boundary); None
    if it cannot be computed (fewer than 2 seeds, no spread).

    For a two-boundary region with the mean inside, reproducing needs both one-sided tests; the nearest boundary's
    is the binding one, so the figure is a lower bound (tight unless the mean is near the middle).

    >>> from xaibench.leaderboard.claims import CLAIMS
    >>> higher = next(c for c in CLAIMS if c.direction == "higher")
    >>> seeds_needed(higher, Summary(0.05, float("nan"), 3, 0.1))  # d = 0.5
    34
    """
    if s.n_seeds < 2 or not (math.isfinite(s.mean) and math.isfinite(s.sd)) or s.sd == 0:
        return None
    n = seeds_for_power(abs(s.mean - nearest_boundary(claim, s.mean)) / s.sd, POWER, ALPHA)
    return math.inf if n is None else n
