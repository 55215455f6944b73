"""Statistics over seeds: mean with a 95% confidence interval, the paired test against ERM, one-sided t-tests
against a boundary, their power and the seeds they need, and Holm's step-down adjustment."""
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
    sd: float = math.nan  # sample standard deviation over seeds (NaN with fewer than 2)


def summarize(values: list[float]) -> Summary:
    """NaN seeds are left out; an infinite seed (a metric defined as ∞, e.g. mean-shift δ of an all-zero map)
    makes the mean infinite and the interval unbounded.

    >>> s = summarize([1.0, 2.0, 3.0])
    >>> s.mean, round(s.ci95, 4), s.n_seeds
    (2.0, 2.4841, 3)
    >>> summarize([1.0, float("inf")])
    Summary(mean=inf, ci95=inf, n_seeds=2, sd=inf)
    """
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Summary(float("nan"), float("nan"), 0)
    if len(finite) == 1:
        return Summary(finite[0], 0.0, 1)
    infinite = {v for v in finite if math.isinf(v)}
    if infinite:  # the mean is that infinity (+∞ and −∞ together have none)
        return Summary(infinite.pop() if len(infinite) == 1 else float("nan"), float("inf"), len(finite), math.inf)
    sd = statistics.stdev(finite)
    half = stats.t.ppf(0.975, len(finite) - 1) * sd / math.sqrt(len(finite))
    return Summary(statistics.fmean(finite), float(half), len(finite), sd)


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


def p_above(s: Summary, boundary: float, inclusive: bool = False) -> float:
    """One-sided t-test p-value for H1: mean > ``boundary`` (H0: mean ≤ boundary), from a summary of ≥ 2 seeds.

    It is below 0.025 exactly when the summary's 95% interval lies above the boundary. With no spread (sd 0) the
    p-value is 0 or 1; a mean on the boundary counts as above only when ``inclusive``. ``p_below`` is the mirror:
    ``p_below(s, b) = p_above(−s, −b)``.

    >>> s = Summary(0.1, float("nan"), 4, 0.1)  # t = 0.1 / (0.1 / 2) = 2 on 3 degrees of freedom
    >>> round(p_above(s, 0.0), 6), round(p_below(s, 0.0), 6)
    (0.069663, 0.930337)
    """
    if s.sd == 0:
        return 0.0 if s.mean > boundary or (inclusive and s.mean == boundary) else 1.0
    return float(stats.t.sf((s.mean - boundary) / (s.sd / math.sqrt(s.n_seeds)), s.n_seeds - 1))


def p_below(s: Summary, boundary: float, inclusive: bool = False) -> float:
    return p_above(dataclasses.replace(s, mean=-s.mean), -boundary, inclusive)


def power_one_sided(d: float, n: int, alpha: float = 0.025) -> float:
    """Power of a one-sided one-sample (paired) t-test at level ``alpha`` with n samples and standardized effect
    d = effect / sd ≥ 0 in the tested direction: P(T > t_{1−α, n−1}) for T noncentral t (n − 1 df, d·√n).

    >>> round(power_one_sided(1.0, 30, 0.05), 6)  # R pwr.t.test(d=1, n=30, type="one.sample", "greater")
    0.999892
    """
    df = n - 1
    return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, d * math.sqrt(n)))


SEEDS_CAP = 1_000_000  # seeds beyond which seeds_for_power gives up: no experiment would run that many


def seeds_for_power(d: float, power: float = 0.8, alpha: float = 0.025, cap: int = SEEDS_CAP) -> int | None:
    """The fewest seeds n ≥ 2 at which ``power_one_sided(d, n, alpha)`` reaches ``power`` (None: d ≤ 0, or more
    than ``cap`` seeds). Power grows with n, so a doubling search then bisection finds it.

    >>> seeds_for_power(0.5, 0.8, 0.025)  # Cohen's table, d = 0.5, two-sided 0.05 (one tail), power 0.8: 34
    34
    """
    if not d > 0 or not math.isfinite(d):
        return 2 if d == math.inf else None
    low, high = 1, 2  # power(low) < power ≤ power(high) once found
    while power_one_sided(d, high, alpha) < power:
        low, high = high, high * 2
        if high > cap:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if power_one_sided(d, mid, alpha) < power else (low, mid)
    return max(high, 2)


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: sorted ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)); a
    hypothesis is rejected at family-wise level α when p̃ < α.

    >>> holm([0.01, 0.04, 0.03, 0.005])
    [0.03, 0.06, 0.06, 0.02]
    """
    m, out, running = len(p), [0.0] * len(p), 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p[i])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
