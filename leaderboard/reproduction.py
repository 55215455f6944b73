"""The reproduction report: each testable claim of the seed papers (``claims.py``), measured on stored records.

The verdict rule is ``VERDICT_RULE`` just below; every report prints it.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard import evidence
from xaibench.leaderboard.claims import CLAIMS, NOT_TESTED, Claim, Side
from xaibench.leaderboard.derived import signed_polarity_records, with_derived
from xaibench.leaderboard.markdown import escape, footer
from xaibench.leaderboard.preconditions import Check, check, ident as _ident
from xaibench.leaderboard.stats import SEEDS_CAP, Summary, holm, summarize
from xaibench.record import EvaluationRecord, Record, TrainingRecord

VERDICT_RULE = (
    "Per seed, the measured quantity is the paired effect (the claim's method minus ERM, or explainer A minus "
    "explainer B, on the same task configuration, architecture, data seed, budget and seed) or, for an absolute "
    "claim, the metric itself; seeds with a NaN value are left out. Its mean and 95% t-interval over seeds "
    "(CI) decide. Higher / lower: **reproduced** if the CI excludes 0 (or the threshold the claim names) in the "
    "claimed direction, **contradicted** if it excludes it in the opposite direction. Equivalent within ±m: "
    "reproduced if the CI lies inside [−m, m], "
    "contradicted if it lies entirely outside. Above / below a threshold t: reproduced if the CI lies entirely on "
    "the claimed side of t, contradicted if entirely on the other. Within a range [a, b]: reproduced if the CI "
    "lies inside, contradicted if it lies entirely outside. Anything else is **inconclusive**, and so is a setting "
    "with fewer than 2 seeds (no interval). **Not run**: the store has no records for one side of the comparison. "
    "**Precondition failed**: a precondition the claim declares (claims.py: ERM's accuracy on the task, the task's "
    "shortcut or shift gap, FLINT's f accuracy, the method's health figures in their sane ranges, and for a claim "
    "that a method costs no accuracy a budget at which the methods' gap has closed, claims.CONVERGED_EPOCHS) does "
    "not hold "
    "on the models measured, mean over the claim's seeds, or its records are absent; the claim is then not "
    "judged, whatever its interval. "
    "The interval lies on one side of a boundary exactly when the one-sided t-test of that side has p < 0.025, so "
    "each verdict is a one-sided test: p is the smaller of p(reproduce), the largest over the region's boundaries "
    "of the p-value for the claimed side (both boundaries of an equivalence or range, as in TOST), and "
    "p(contradict), the smallest over the boundaries of the p-value for the far side. **Holm**: within each "
    "paper, the p of every judged setting (2 or more seeds, preconditions met) is Holm-adjusted; a verdict holds "
    "after adjustment if its adjusted p is below 0.025, else it becomes inconclusive. **Seeds for power 0.8**: for "
    "an inconclusive setting, the seeds at which that one-sided t-test (α = 0.025) against the boundary nearest "
    "the observed mean would decide it with probability 0.8, if the true effect were the observed distance to "
    "that boundary and the true sd the observed one (noncentral t; a lower bound for a two-boundary region); "
    f"> {SEEDS_CAP:,}: the observed mean is so close to the boundary that no practical number of seeds decides it."
)

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = "reproduced", "contradicted", "inconclusive", "not run"
PRECONDITION_FAILED = "precondition failed"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, PRECONDITION_FAILED, NOT_RUN)
KEY_PARTS = ("task", "data_seed", "architecture", "budget", "evaluation")  # both sides of a pair share these


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One claim measured in one setting (a configuration of task, architecture, method and explainer).

    ``values``: seed -> effect (relative claims) or metric value (absolute claims); empty when not run.
    ``checks``: the claim's preconditions on these models; ``p_value``: the deciding one-sided p (evidence.py),
    ``holm_p`` and ``holm_verdict`` after Holm's adjustment within the paper (``adjust``); ``seeds_needed``: for
    an inconclusive outcome, the seeds for power 0.8; ``treated``: the treatment's records, one per seed.

    >>> (o,) = measure(CLAIMS[0], [])
    >>> o.verdict, o.reason
    ('not run', 'no records of sgt, accuracy on shapes / small_cnn')
    """

    claim: Claim
    setting: str
    values: dict[int, float]
    summary: Summary | None
    verdict: str
    reason: str
    checks: tuple[Check, ...] = ()
    p_value: float | None = None
    holm_p: float | None = None
    holm_verdict: str = ""
    seeds_needed: float | None = None  # an int, or math.inf beyond SEEDS_CAP
    treated: tuple[dict[str, Any], ...] = ()


def judge(claim: Claim, summary: Summary) -> tuple[str, str]:
    """The verdict of VERDICT_RULE and its reason.

    >>> from xaibench.leaderboard.claims import CLAIMS
    >>> judge(CLAIMS[0], Summary(0.002, 0.005, 3))[0], judge(CLAIMS[0], Summary(0.1, 0.05, 3))[0]
    ('reproduced', 'contradicted')
    """
    if summary.n_seeds < 2:
        return INCONCLUSIVE, f"{summary.n_seeds} seed(s) with a finite value: no interval (needs at least 2)"
    low, high = summary.mean - summary.ci95, summary.mean + summary.ci95
    a, b = claim.limits()
    closed = claim.direction in ("equivalent", "within")  # "excludes 0" is strict, "lies inside ±m" is not
    inside = (a <= low and high <= b) if closed else (a < low and high < b)
    ci = f"95% CI [{_num(low)}, {_num(high)}]"
    if inside:
        return REPRODUCED, f"{ci} is inside the claimed region"
    if high < a or low > b:
        return CONTRADICTED, f"{ci} is entirely outside the claimed region"
    return INCONCLUSIVE, f"{ci} straddles a boundary of the claimed region"


def _matches(rec: Record, claim: Claim, side: Side) -> bool:
    key, labels = rec["key"], rec["labels"]
    config = labels.get("task_config") or {}
    return (key["task"]["name"] == claim.task and all(config.get(k) == v for k, v in claim.task_params)
            and (key.get("architecture") or {}).get("name") == claim.architecture
            and (key.get("method") or {}).get("name") == side.method
            and (key.get("explainer") or {}).get("name") == side.explainer  # None: a per-model metric
            and labels.get("metric") == side.metric)


def _context(rec: Record, claim: Claim) -> tuple[str, ...]:
    """What both records of a pair share: the key parts the claim's sides do not vary, and the seed."""
    key, t, r = rec["key"], claim.treatment, claim.reference
    parts = list(KEY_PARTS)
    if r is not None:
        parts += [p for p, same in (("method", t.method == r.method), ("explainer", t.explainer == r.explainer),
                                    ("metric", t.metric == r.metric)) if same]
    return (*(_ident(key.get(p)) for p in parts), _ident(key["seed"]))


def _by_setting(records: list[Record], claim: Claim, side: Side) -> dict[str, dict[tuple[str, ...], Record]]:
    """Matching records grouped by their key without the seed, then by pairing context."""
    out: dict[str, dict[tuple[str, ...], Any]] = {}
    for rec in records:
        if _matches(rec, claim, side):
            setting = _ident({k: v for k, v in rec["key"].items() if k != "seed"})
            out.setdefault(setting, {})[_context(rec, claim)] = rec
    return out


def _label(rec: Record, claim: Claim, reference: Record | None) -> str:
    """Task and architecture labels, plus the labels of methods and explainers run with non-default parameters."""
    labels = rec["labels"]
    version = rec["key"]["task"]["version"]
    parts = [labels["task"] + (f" v{version}" if version != "1" else ""), labels["architecture"]]
    for side, r in ((claim.treatment, rec), (claim.reference, reference)):
        if side is not None and r is not None:
            parts += [label for label, name in ((r["labels"]["method"], side.method),
                                                (r["labels"].get("explainer"), side.explainer)) if label != name]
    return ", ".join(dict.fromkeys(parts))


def _where(claim: Claim) -> str:
    params = ", ".join(f"{k}={v}" for k, v in claim.task_params)
    return f"{claim.task}{f'({params})' if params else ''} / {claim.architecture}"


def _judged(claim: Claim, setting: str, values: dict[int, float], checks: list[Check],
            treated: list[dict[str, Any]]) -> Outcome:
    summary = summarize(list(values.values()))
    failed = [c for c in checks if not c.met]
    if failed:
        return Outcome(claim, setting, values, summary, PRECONDITION_FAILED, "; ".join(c.line() for c in failed),
                       tuple(checks), treated=tuple(treated))
    verdict, reason = judge(claim, summary)
    p = evidence.one_sided_p(claim, summary)
    return Outcome(claim, setting, values, summary, verdict, reason, tuple(checks), None if p is None else min(p),
                   seeds_needed=evidence.seeds_needed(claim, summary) if verdict == INCONCLUSIVE else None,
                   treated=tuple(treated))


def measure(claim: Claim, records: list[Record], training: list[TrainingRecord] = ()) -> list[Outcome]:
    """One outcome per setting in which the claim's records were found (a single 'not run' outcome if none);
    ``training``: the training records (the health preconditions read them)."""
    sides = [claim.treatment] + ([claim.reference] if claim.reference else [])
    found = [_by_setting(records, claim, side) for side in sides]
    for side, settings in zip(sides, found):
        if not settings:
            return [Outcome(claim, "–", {}, None, NOT_RUN, f"no records of {side.describe()} on {_where(claim)}")]
    treated, references = found[0], (found[1] if claim.reference else {"": {}})
    out = []
    for setting in sorted(treated):
        pairs = [(treated[setting], ref, sorted(treated[setting].keys() & ref.keys() if claim.reference
                                                else treated[setting]))
                 for ref in (references[r] for r in sorted(references))]
        pairs = [(t, ref, contexts) for t, ref, contexts in pairs if contexts]
        if not pairs:
            out.append(Outcome(claim, _label(next(iter(treated[setting].values())), claim, None), {}, None, NOT_RUN,
                               f"no records of {sides[-1].describe()} on the same task configuration, architecture, "
                               "budget and seeds"))
        for t, ref, contexts in pairs:
            values = {json.loads(c[-1]): t[c]["value"] - (ref[c]["value"] if ref else 0.0) for c in contexts}
            treated_recs, ref_recs = [t[c] for c in contexts], [ref[c] for c in contexts if c in ref]
            checks = check(claim, treated_recs, ref_recs, records, list(training))
            out.append(_judged(claim, _label(t[contexts[0]], claim, ref.get(contexts[0])), values, checks,
                               treated_recs))
    return sorted(out, key=lambda o: o.setting)


def adjust(outcomes: list[Outcome]) -> list[Outcome]:
    """Holm's adjustment over the judged outcomes of one paper (those with a p-value); a decided verdict holds if
    its adjusted p is below 0.025 (or unchanged by the adjustment), else it becomes inconclusive.

    >>> from xaibench.leaderboard.claims import CLAIMS
    >>> o = Outcome(CLAIMS[4], "s", {}, Summary(1.0, 0.5, 3), REPRODUCED, "", p_value=0.01)
    >>> [(a.holm_p, a.holm_verdict) for a in adjust([o, dataclasses.replace(o, p_value=0.02)])]
    [(0.02, 'reproduced'), (0.02, 'reproduced')]
    >>> [(a.holm_p, a.holm_verdict) for a in adjust([o, dataclasses.replace(o, p_value=0.015), o])]
    [(0.03, 'inconclusive'), (0.03, 'inconclusive'), (0.03, 'inconclusive')]
    """
    judged = [i for i, o in enumerate(outcomes) if o.p_value is not None]
    adjusted = dict(zip(judged, holm([outcomes[i].p_value for i in judged])))
    out = []
    for i, o in enumerate(outcomes):
        p = adjusted.get(i)
        holds = p is not None and (p < evidence.ALPHA or p <= o.p_value)
        decided = o.verdict in (REPRODUCED, CONTRADICTED)
        out.append(dataclasses.replace(o, holm_p=p, holm_verdict=o.verdict if holds or not decided else INCONCLUSIVE))
    return out


def _by_paper(outcomes: dict[str, list[Outcome]]) -> dict[str, list[Outcome]]:
    """``adjust`` applied within each paper's outcomes; the same claim-id -> outcomes layout."""
    papers: dict[str, list[tuple[str, int]]] = {}
    for cid, os in outcomes.items():
        papers.setdefault(os[0].claim.paper, []).extend((cid, i) for i in range(len(os)))
    out = {cid: list(os) for cid, os in outcomes.items()}
    for places in papers.values():
        for (cid, i), o in zip(places, adjust([outcomes[cid][i] for cid, i in places])):
            out[cid][i] = o
    return out


def _num(value: float, signed: bool = False) -> str:
    if value != 0 and abs(value) < 1e-3:
        return f"{value:+.1e}" if signed else f"{value:.1e}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _measured(o: Outcome) -> str:
    if o.summary is None or math.isnan(o.summary.mean):
        return "–"
    signed = o.claim.relative
    return _num(o.summary.mean, signed) + (f" ± {_num(o.summary.ci95)}" if o.summary.n_seeds > 1 else "")


def _p(p: float | None) -> str:
    return "–" if p is None else _num(p)


def _verdict(o: Outcome) -> str:
    return f"{o.verdict} ({escape(o.reason)})" if o.verdict == PRECONDITION_FAILED else o.verdict


def _seeds_needed(o: Outcome) -> str:
    if o.seeds_needed is None:
        return "–"
    return f"> {SEEDS_CAP:,}" if o.seeds_needed == math.inf else str(o.seeds_needed)


def summary_row(o: Outcome) -> str:
    c = o.claim
    seeds = o.summary.n_seeds if o.summary else 0
    return (f"| {escape(c.id)} | {escape(c.paper)} | {escape(o.setting)} | {escape(c.expected())} | "
            f"{_measured(o)} | {seeds} | {_p(o.p_value)} | {_verdict(o)} | {_p(o.holm_p)} | {o.holm_verdict} | "
            f"{_seeds_needed(o)} |")


def _confidence_bins(o: Outcome) -> str:
    """FLINT fidelity within bins of f's max-softmax confidence, pooled over the seeds ("" without details)."""
    bins = [r["details"]["by_confidence"] for r in o.treated if "by_confidence" in (r.get("details") or {})]
    if not bins:
        return ""
    edges = bins[0]["edges"]
    counts = [sum(b["count"][i] for b in bins) for i in range(len(edges) - 1)]
    agree = [sum(b["count"][i] * b["fidelity"][i] for b in bins if b["count"][i]) for i in range(len(counts))]
    cells = ", ".join(f"({edges[i]:g}, {edges[i + 1]:g}]: " + (f"{agree[i] / n:.3f} (n = {n})" if n else "– (n = 0)")
                      for i, n in enumerate(counts))
    return (f"Fidelity by f's max-softmax confidence, pooled over {len(bins)} seed(s), {escape(o.setting)}: "
            f"{cells}.")


def _section(claim: Claim, outcomes: list[Outcome]) -> str:
    bound = f" Bound: {claim.bound_source}." if claim.bound_source else ""
    compared = (f"{claim.treatment.describe()} vs {claim.reference.describe()}, paired per seed" if claim.reference
                else f"{claim.treatment.describe()}, absolute")
    preconditions = "; ".join(f"{p.describe()} ({p.source})" for p in claim.preconditions) or "none"
    lines = [f"### {escape(claim.id)}", "", f"*{escape(claim.paper)}.* {escape(claim.text)}", "",
             f"Records: {escape(_where(claim))}: {escape(compared)}. Expected: {escape(claim.expected())}."
             f"{escape(bound)} Preconditions: {escape(preconditions)}.", "",
             "| Setting | Per seed | Measured ± 95% CI | Preconditions | p | Verdict | Holm p | Holm verdict | "
             "Seeds for power 0.8 |", "|---|---|---:|---|---:|---|---:|---|---:|"]
    for o in outcomes:
        per_seed = ", ".join(f"{s}: {_num(v, claim.relative)}" for s, v in sorted(o.values.items())) or "–"
        checks = "; ".join(f"{c.line()}, {'met' if c.met else 'not met'}" for c in o.checks) or "–"
        lines.append(f"| {escape(o.setting)} | {per_seed} | {_measured(o)} | {escape(checks)} | {_p(o.p_value)} | "
                     f"{o.verdict}: {escape(o.reason)} | {_p(o.holm_p)} | {o.holm_verdict} | {_seeds_needed(o)} |")
    bins = [line for line in map(_confidence_bins, outcomes) if line]
    return "\n".join(lines + ([""] + bins if bins else []))


def _counts(outcomes: dict[str, list[Outcome]], field: str) -> str:
    every = [getattr(o, field) for os in outcomes.values() for o in os]
    return ", ".join(f"{every.count(v)} {v}" for v in VERDICTS)


def render_reproduction(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = ()) -> str:
    """The report: a summary table, a section per claim, the verdict rule, untested claims, provenance.

    ``records``: stored metric records; ``training``: training records (health preconditions, derived cost
    records).

    >>> text = render_reproduction([])
    >>> text.splitlines()[0], "| sgt-gini-shapes | Ismail et al. 2021 (SGT) | – |" in text
    ('# xaibench reproduction report', True)
    """
    training = list(training)
    records = with_derived(records, training)
    records += signed_polarity_records(records)  # only claims read them; the board shows |mean|
    outcomes = _by_paper({claim.id: measure(claim, records, training) for claim in CLAIMS})
    parts = [
        "# xaibench reproduction report",
        f"Each claim of the seed papers that the benchmark can test at its scale (the specs' \"Claims to check\"), "
        f"measured on the stored results: {len(CLAIMS)} claims in {sum(map(len, outcomes.values()))} settings, "
        f"{_counts(outcomes, 'verdict')}; after Holm's adjustment within each paper, "
        f"{_counts(outcomes, 'holm_verdict')}. Verdict rule below.",
        "## Summary",
        "\n".join(["| Claim | Paper | Setting | Expected | Measured ± 95% CI | Seeds | p | Verdict | Holm p | "
                   "Holm verdict | Seeds for power 0.8 |", "|---|---|---|---|---:|---:|---:|---|---:|---|---:|",
                   *(summary_row(o) for os in outcomes.values() for o in os)]),
        "## Claims",
        *(_section(claim, outcomes[claim.id]) for claim in CLAIMS),
        "## Verdict rule",
        VERDICT_RULE,
        "## Not tested here",
        "\n".join(["| Paper | Claim | Why not |", "|---|---|---|",
                   *(f"| {escape(u.paper)} | {escape(u.text)} | {escape(u.reason)} |" for u in NOT_TESTED)]),
        footer(records) if records else "---\n\nNo stored records.",
    ]
    return "\n\n".join(parts) + "\n"
