"""The report's statistics: one-sided p-values of the verdict rule, power and seeds needed, Holm's adjustment."""
import math
import statistics

import pytest
from scipy import integrate, stats
from test_reproduction import BY_ID, gini, met

from xaibench.leaderboard.evidence import nearest_boundary, one_sided_p, seeds_needed
from xaibench.leaderboard.reproduction import judge, measure, render_reproduction
from xaibench.leaderboard.stats import Summary, holm, power_one_sided, seeds_for_power, summarize

# R's pwr.t.test(type="one.sample"), as transcribed in statsmodels' statsmodels/stats/tests/test_power.py
# (commit 01143c5c5321a6beb077017b109d322971014717, classes TestTTPowerOneS1-S4): (d, n, alpha, alternative, power)
R_PWR = [(1.0, 30, 0.05, "greater", 0.999892010204909), (0.05, 20, 0.05, "greater", 0.0764888785042198),
         (1.0, 30, 0.05, "two.sided", 0.9995636009612725), (0.2, 20, 0.05, "two.sided", 0.1359562887679666)]


@pytest.mark.parametrize("d, n, alpha, alternative, expected", R_PWR)
def test_power_equals_r_pwr(d, n, alpha, alternative, expected):
    if alternative == "greater":
        assert power_one_sided(d, n, alpha) == pytest.approx(expected, abs=1e-12)
    else:  # two-sided = our one-sided test at alpha/2 (the verdict rule's) plus the far tail, which we leave out
        far = stats.nct.cdf(-stats.t.ppf(1 - alpha / 2, n - 1), n - 1, d * math.sqrt(n))
        assert power_one_sided(d, n, alpha / 2) + far == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("d, n", [(0.5, 10), (0.3, 40), (1.2, 4)])
def test_power_equals_its_integral_form(d, n):
    """Closed form without the noncentral t: T' = (Z + d√n)/√(V/ν), V ~ χ²(ν), so
    power = ∫ P(Z > t_c·√(v/ν) − d√n) f_χ²(v) dv."""
    nu, tc = n - 1, stats.t.ppf(0.975, n - 1)
    value, _ = integrate.quad(lambda v: stats.norm.sf(tc * math.sqrt(v / nu) - d * math.sqrt(n))
                              * stats.chi2.pdf(v, nu), 0, math.inf, epsabs=1e-13)
    assert power_one_sided(d, n, 0.025) == pytest.approx(value, abs=1e-9)


def test_seeds_for_power_is_the_smallest_n_that_reaches_it():
    # R: pwr.t.test(d=0.5, power=0.8, type="one.sample") gives n = 33.367 (two-sided 0.05): 34 seeds
    two_sided = lambda n: (stats.nct.sf(stats.t.ppf(0.975, n - 1), n - 1, 0.5 * math.sqrt(n))  # noqa: E731
                           + stats.nct.cdf(-stats.t.ppf(0.975, n - 1), n - 1, 0.5 * math.sqrt(n)))
    assert two_sided(33.367) == pytest.approx(0.8, abs=1e-4)
    assert seeds_for_power(0.5) == 34
    for d in (0.05, 0.2, 0.8, 1.5, 3.0):
        n = seeds_for_power(d)
        assert power_one_sided(d, n) >= 0.8 and (n == 2 or power_one_sided(d, n - 1) < 0.8), d
    assert seeds_for_power(0.0) is None and seeds_for_power(1e-4, cap=1000) is None
    assert seeds_for_power(20.0) == 2  # decided at the smallest sample with an interval


def test_holm_closed_form():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])  # 3·.01, 2·.03 carried, 4·.005
    assert holm([0.5, 0.3]) == [0.6, 0.6]  # monotone: the larger p keeps the running maximum
    assert holm([0.4, 0.9, 0.02]) == pytest.approx([0.8, 0.9, 0.06])  # min(1, ·) and the step-down order
    assert holm([]) == [] and holm([0.02]) == [0.02]


VALUES = [0.012, 0.02, 0.005, 0.016]


@pytest.mark.parametrize("claim_id, reproduce, contradict", [
    ("sgt-gini-shapes", [(0.0, "greater")], [(0.0, "less")]),  # higher
    ("sgt-sufficiency-sst2", [(0.0, "less")], [(0.0, "greater")]),  # lower
    ("flint-fidelity-shapes", [(0.9, "greater")], [(0.9, "less")]),  # above 0.9
    ("bias-mean-shift-saliency-invariant", [(0.01, "less")], [(0.01, "greater")]),  # below 0.01
    ("sgt-accuracy-shapes", [(-0.015, "greater"), (0.015, "less")], [(-0.015, "less"), (0.015, "greater")]),  # ±m
    ("flint-conciseness-fmnist", [(1.0, "greater"), (1.3, "less")], [(1.0, "less"), (1.3, "greater")]),  # [1, 1.3]
])
def test_one_sided_p_values_are_scipys_t_tests(claim_id, reproduce, contradict):
    claim = BY_ID[claim_id]
    values = [v + (1.1 if claim.direction == "within" else 0.0) for v in VALUES]

    def p(b, side):
        return stats.ttest_1samp(values, b, alternative=side).pvalue

    p_r, p_c = one_sided_p(claim, summarize(values))
    assert p_r == pytest.approx(max(p(b, side) for b, side in reproduce), rel=1e-9)  # TOST for two boundaries
    assert p_c == pytest.approx(min(p(b, side) for b, side in contradict), rel=1e-9)


@pytest.mark.parametrize("claim_id", ["sgt-gini-shapes", "sgt-accuracy-shapes", "flint-fidelity-shapes",
                                      "bias-mean-shift-saliency-invariant", "flint-conciseness-fmnist"])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_the_verdict_rule_is_the_one_sided_tests(claim_id, n):
    """reproduced ⇔ p_reproduce < 0.025, contradicted ⇔ p_contradict < 0.025, over a grid of summaries."""
    claim = BY_ID[claim_id]
    a, b = claim.limits()
    centre = a if math.isfinite(a) else b
    t = stats.t.ppf(0.975, n - 1)
    for mean in [centre + k * 0.004 for k in range(-12, 13)] + [1.15, 0.9]:
        for sd in (0.001, 0.005, 0.02):
            s = Summary(mean, t * sd / math.sqrt(n), n, sd)
            verdict = judge(claim, s)[0]
            p_r, p_c = one_sided_p(claim, s)
            assert (verdict == "reproduced") == (p_r < 0.025), (mean, sd)
            assert (verdict == "contradicted") == (p_c < 0.025), (mean, sd)


def test_seeds_needed_uses_the_distance_to_the_nearest_boundary():
    eq = BY_ID["sgt-accuracy-shapes"]  # within ±0.015
    assert nearest_boundary(eq, 0.01) == 0.015 and nearest_boundary(eq, -0.02) == -0.015
    assert seeds_needed(eq, Summary(0.01, 0.05, 3, 0.02)) == seeds_for_power(0.005 / 0.02)
    higher = BY_ID["sgt-gini-shapes"]
    assert seeds_needed(higher, Summary(-0.03, 0.1, 3, 0.06)) == seeds_for_power(0.5) == 34  # toward contradiction
    assert seeds_needed(higher, Summary(0.03, 0.0, 1)) is None  # one seed: no sd


def test_report_gives_seeds_needed_for_each_inconclusive_setting():
    erm, sgt = [0.30, 0.32, 0.35], [0.33, 0.30, 0.40]  # effects 0.03, −0.02, 0.05: inconclusive
    (o,) = measure(BY_ID["sgt-gini-shapes"], *met(gini("erm", erm) + gini("sgt", sgt)))
    diffs = [s - e for s, e in zip(sgt, erm)]
    d = statistics.fmean(diffs) / statistics.stdev(diffs)
    assert o.verdict == "inconclusive" and o.seeds_needed == seeds_for_power(d) == 28
    p = stats.ttest_1samp(diffs, 0.0, alternative="greater").pvalue  # the paper's only judged setting: Holm p = p
    text = render_reproduction(*met(gini("erm", erm) + gini("sgt", sgt)))
    (row,) = [line for line in text.splitlines() if line.startswith("| sgt-gini-shapes |")]
    assert row.endswith(f"| {p:.3f} | inconclusive | {p:.3f} | inconclusive | 28 |")


def test_report_says_when_no_practical_number_of_seeds_decides():
    erm, sgt = [0.30, 0.32, 0.35], [0.31, 0.30, 0.36]  # effects 0.01, −0.02, 0.01: mean exactly 0, the boundary
    (o,) = measure(BY_ID["sgt-gini-shapes"], *met(gini("erm", erm) + gini("sgt", sgt)))
    assert o.verdict == "inconclusive" and o.seeds_needed == math.inf and o.summary.sd > 0
    text = render_reproduction(*met(gini("erm", erm) + gini("sgt", sgt)))
    (row,) = [line for line in text.splitlines() if line.startswith("| sgt-gini-shapes |")]
    assert row.endswith("| > 1,000,000 |")


def _gini_claims(shapes, fmnist):
    out = []
    for task, (erm, sgt) in (("shapes", shapes), ("fashion_mnist", fmnist)):
        out += gini("erm", erm, task=task) + gini("sgt", sgt, task=task)
    return out


def test_holm_within_a_paper_can_undo_a_raw_verdict():
    erm = [0.30, 0.32, 0.35]
    sgt = [e + d for e, d in zip(erm, [0.10, 0.14, 0.07])]  # one-sided p = 0.0182 in each of two claims
    records, training = met(_gini_claims((erm, sgt), (erm, sgt)))
    p = stats.ttest_1samp([0.10, 0.14, 0.07], 0.0, alternative="greater").pvalue
    assert round(p, 4) == 0.0182
    text = render_reproduction(records, training)
    rows = [line for line in text.splitlines() if line.startswith(("| sgt-gini-shapes |", "| sgt-gini-fmnist |"))]
    assert len(rows) == 2 and all(r.endswith("| 0.018 | reproduced | 0.036 | inconclusive | – |") for r in rows)
    assert "after Holm's adjustment within each paper, 0 reproduced" in text
    # a setting whose precondition fails leaves the family: the other keeps its raw p
    low = [dict(r, value=0.5) if r["labels"]["metric"] == "accuracy" and r["key"]["task"]["name"] == "shapes"
           else r for r in records]
    rows = [line for line in render_reproduction(low, training).splitlines()
            if line.startswith("| sgt-gini-fmnist |")]
    assert rows[0].endswith("| 0.018 | reproduced | 0.018 | reproduced | – |")
