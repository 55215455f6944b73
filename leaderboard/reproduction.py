"""The reproduction report: each testable claim of the seed papers (``claims.py``), measured on stored records.

The verdict rule is ``VERDICT_RULE`` just below; every report prints it.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any

from xaibench.leaderboard.claims import CLAIMS, NOT_TESTED, Claim, Side
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.markdown import escape, footer
from xaibench.leaderboard.stats import Summary, summarize

VERDICT_RULE = (
    "Per seed, the measured quantity is the paired effect (the claim's method minus ERM, or explainer A minus "
    "explainer B, on the same task configuration, architecture, data seed, budget and seed) or, for an absolute "
    "claim, the metric itself; seeds with a NaN value are left out. Its mean and 95% t-interval over seeds "
    "(CI) decide. Higher / lower: **reproduced** if the CI excludes 0 in the claimed direction, **contradicted** "
    "if it excludes 0 in the opposite direction. Equivalent within ±m: reproduced if the CI lies inside [−m, m], "
    "contradicted if it lies entirely outside. Above / below a threshold t: reproduced if the CI lies entirely on "
    "the claimed side of t, contradicted if entirely on the other. Within a range [a, b]: reproduced if the CI "
    "lies inside, contradicted if it lies entirely outside. Anything else is **inconclusive**, and so is a setting "
    "with fewer than 2 seeds (no interval). **Not run**: the store has no records for one side of the comparison."
)

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = "reproduced", "contradicted", "inconclusive", "not run"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN)
KEY_PARTS = ("task", "data_seed", "architecture", "budget", "evaluation")  # both sides of a pair share these


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One claim measured in one setting (a configuration of task, architecture, method and explainer).

    ``values``: seed -> effect (relative claims) or metric value (absolute claims); empty when not run.

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


def _matches(rec: dict[str, Any], claim: Claim, side: Side) -> bool:
    key, labels = rec["key"], rec["labels"]
    config = labels.get("task_config") or {}
    return (key["task"]["name"] == claim.task and all(config.get(k) == v for k, v in claim.task_params)
            and (key.get("architecture") or {}).get("name") == claim.architecture
            and (key.get("method") or {}).get("name") == side.method
            and (key.get("explainer") or {}).get("name") == side.explainer  # None: a per-model metric
            and labels.get("metric") == side.metric)


def _ident(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _context(rec: dict[str, Any], claim: Claim) -> tuple[str, ...]:
    """What both records of a pair share: the key parts the claim's sides do not vary, and the seed."""
    key, t, r = rec["key"], claim.treatment, claim.reference
    parts = list(KEY_PARTS)
    if r is not None:
        parts += [p for p, same in (("method", t.method == r.method), ("explainer", t.explainer == r.explainer),
                                    ("metric", t.metric == r.metric)) if same]
    return (*(_ident(key.get(p)) for p in parts), _ident(key["seed"]))


def _by_setting(records: list[dict[str, Any]], claim: Claim, side: Side) -> dict[str, dict[tuple[str, ...], Any]]:
    """Matching records grouped by their key without the seed, then by pairing context."""
    out: dict[str, dict[tuple[str, ...], Any]] = {}
    for rec in records:
        if _matches(rec, claim, side):
            setting = _ident({k: v for k, v in rec["key"].items() if k != "seed"})
            out.setdefault(setting, {})[_context(rec, claim)] = rec
    return out


def _label(rec: dict[str, Any], claim: Claim, reference: dict[str, Any] | None) -> str:
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


def measure(claim: Claim, records: list[dict[str, Any]]) -> list[Outcome]:
    """One outcome per setting in which the claim's records were found (a single 'not run' outcome if none)."""
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
            summary = summarize(list(values.values()))
            out.append(Outcome(claim, _label(t[contexts[0]], claim, ref.get(contexts[0])), values, summary,
                               *judge(claim, summary)))
    return sorted(out, key=lambda o: o.setting)


def _num(value: float, signed: bool = False) -> str:
    if value != 0 and abs(value) < 1e-3:
        return f"{value:+.1e}" if signed else f"{value:.1e}"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _measured(o: Outcome) -> str:
    if o.summary is None or math.isnan(o.summary.mean):
        return "–"
    signed = o.claim.relative
    return _num(o.summary.mean, signed) + (f" ± {_num(o.summary.ci95)}" if o.summary.n_seeds > 1 else "")


def summary_row(o: Outcome) -> str:
    c = o.claim
    seeds = o.summary.n_seeds if o.summary else 0
    return (f"| {escape(c.id)} | {escape(c.paper)} | {escape(o.setting)} | {escape(c.expected())} | "
            f"{_measured(o)} | {seeds} | {o.verdict} |")


def _section(claim: Claim, outcomes: list[Outcome]) -> str:
    bound = f" Bound: {claim.bound_source}." if claim.bound_source else ""
    compared = (f"{claim.treatment.describe()} vs {claim.reference.describe()}, paired per seed" if claim.reference
                else f"{claim.treatment.describe()}, absolute")
    lines = [f"### {escape(claim.id)}", "", f"*{escape(claim.paper)}.* {escape(claim.text)}", "",
             f"Records: {escape(_where(claim))}: {escape(compared)}. Expected: {escape(claim.expected())}."
             f"{escape(bound)}", "",
             "| Setting | Per seed | Measured ± 95% CI | Verdict |", "|---|---|---:|---|"]
    for o in outcomes:
        per_seed = ", ".join(f"{s}: {_num(v, claim.relative)}" for s, v in sorted(o.values.items())) or "–"
        lines.append(f"| {escape(o.setting)} | {per_seed} | {_measured(o)} | {o.verdict}: {escape(o.reason)} |")
    return "\n".join(lines)


def render_reproduction(records: Iterable[dict[str, Any]], training: Iterable[dict[str, Any]] = ()) -> str:
    """The report: a summary table, a section per claim, the verdict rule, untested claims, provenance.

    ``records``: stored metric records; ``training``: training records (for derived cost records).

    >>> text = render_reproduction([])
    >>> text.splitlines()[0], "| sgt-gini-shapes | Ismail et al. 2021 (SGT) | – |" in text
    ('# xaibench reproduction report', True)
    """
    records = with_derived(records, training)
    outcomes = {claim.id: measure(claim, records) for claim in CLAIMS}
    counts = {v: sum(o.verdict == v for os in outcomes.values() for o in os) for v in VERDICTS}
    parts = [
        "# xaibench reproduction report",
        f"Each claim of the seed papers that the benchmark can test at its scale (the specs' \"Claims to check\"), "
        f"measured on the stored results: {len(CLAIMS)} claims in {sum(map(len, outcomes.values()))} settings, "
        + ", ".join(f"{n} {v}" for v, n in counts.items()) + ". Verdict rule below.",
        "## Summary",
        "\n".join(["| Claim | Paper | Setting | Expected | Measured ± 95% CI | Seeds | Verdict |",
                   "|---|---|---|---|---:|---:|---|",
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
