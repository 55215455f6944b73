"""Statistics over seeds: mean with a 95% confidence interval, and the paired test against ERM."""
from __future__ import annotations

import dataclasses
import math
import statistics

from scipy import stats


@dataclasses.dataclass(frozen=True)
class Summary:
    """Mean over seeds and the half-width of its 95% t-interval (0 with one seed)."""

    mean: float
    ci95: float
    n_seeds: int


def summarize(values: list[float]) -> Summary:
    """NaN seeds are left out; an infinite seed (a metric defined as ∞, e.g. mean-shift δ of an all-zero map)
    makes the mean infinite and the interval unbounded.

    >>> s = summarize([1.0, 2.0, 3.0])
    >>> s.mean, round(s.ci95, 4), s.n_seeds
    (2.0, 2.4841, 3)
    >>> summarize([1.0, float("inf")])
    Summary(mean=inf, ci95=inf, n_seeds=2)
    """
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Summary(float("nan"), float("nan"), 0)
    if len(finite) == 1:
        return Summary(finite[0], 0.0, 1)
    infinite = {v for v in finite if math.isinf(v)}
    if infinite:  # the mean is that infinity (+∞ and −∞ together have none)
        return Summary(infinite.pop() if len(infinite) == 1 else float("nan"), float("inf"), len(finite))
    half = stats.t.ppf(0.975, len(finite) - 1) * statistics.stdev(finite) / math.sqrt(len(finite))
    return Summary(statistics.fmean(finite), float(half), len(finite))


def paired_p_value(a: dict[int, float], b: dict[int, float]) -> float | None:
    """Two-sided paired t-test over the seeds both have (None with fewer than 3 pairs or no variance).

    >>> round(paired_p_value({0: 1.0, 1: 2.0, 2: 3.0}, {0: 1.5, 1: 2.4, 2: 3.6}), 4)
    0.0131
    """
    seeds = sorted(s for s in a.keys() & b.keys() if not (math.isnan(a[s]) or math.isnan(b[s])))
    if len(seeds) < 3:
        return None
    diffs = [a[s] - b[s] for s in seeds]
    if not all(map(math.isfinite, diffs)):  # an infinite seed: no t-test
        return None
    if statistics.pstdev(diffs) <= 1e-12 * max(1.0, *map(abs, diffs)):  # constant difference (up to rounding)
        return None if abs(statistics.fmean(diffs)) <= 1e-12 else 0.0
    return float(stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue)
