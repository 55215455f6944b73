"""Checking a claim's preconditions (``claims.AtLeast``, ``claims.HealthInRange``, ``claims.TrainedFor``) on the
stored records.

A precondition is checked on the models the claim measured: the same task configuration, data seed,
architecture and budget as the claim's treatment records (every model a derived record combines), on the
claim's seeds, and the claim's own configuration of the method when a side of the claim uses that method. Its
measured value is the mean over those models.
"""
from __future__ import annotations

import dataclasses
import json
import math
import statistics
from typing import Any

from xaibench.leaderboard.claims import AtLeast, Claim, HealthInRange, Precondition, TrainedFor
from xaibench.leaderboard.health import last_values

MODEL = ("task", "data_seed", "architecture", "budget")  # with the seed and the method: one trained model


@dataclasses.dataclass(frozen=True)
class Check:
    """One precondition checked: whether it holds and what was measured (or what is missing).

    >>> Check(AtLeast("erm", "accuracy", 0.88, "ours"), False, "0.712 (mean over 3 seeds)").line()
    'erm accuracy ≥ 0.88: 0.712 (mean over 3 seeds)'
    """

    precondition: Precondition
    met: bool
    measured: str

    def line(self) -> str:
        return f"{self.precondition.describe()}: {self.measured}"


def ident(value: Any) -> str:
    """A key part as a comparable string (the report matches records on these)."""
    return json.dumps(value, sort_keys=True)


def _model(key: dict[str, Any]) -> tuple[str, ...]:
    return (*(ident(key.get(p)) for p in MODEL), ident(key["seed"]))


def _method_key(claim: Claim, method: str, treated: list[dict[str, Any]],
                reference: list[dict[str, Any]]) -> str | None:
    """The claim's own configuration of ``method`` if a side uses it (None: any configuration of it)."""
    for side, recs in ((claim.treatment, treated), (claim.reference, reference)):
        if side is not None and side.method == method and recs:
            return ident(recs[0]["key"]["method"])
    return None


def _of(method: str, method_key: str | None, models: set[tuple[str, ...]], rec: dict[str, Any]) -> bool:
    key = rec["key"]
    return ((key.get("method") or {}).get("name") == method and _model(key) in models
            and (method_key is None or ident(key["method"]) == method_key))


def _seeds(n: int, models: int | None = None) -> str:
    """'mean over 3 seeds', or with two models per seed (the polarity index's bright and dark ones) '... 6 models
    of 3 seeds'."""
    seeds = f"{n} seed{'s' if n != 1 else ''}"
    return f"mean over {models} models of {seeds}" if models not in (None, n) else f"mean over {seeds}"


def _at_least(p: AtLeast, models: set[tuple[str, ...]], method_key: str | None,
              records: list[dict[str, Any]]) -> Check:
    values = {_model(rec["key"]): rec["value"] for rec in records
              if rec["labels"].get("metric") == p.metric and rec["key"].get("explainer") is None
              and _of(p.method, method_key, models, rec)}
    finite = {model: v for model, v in values.items() if not math.isnan(v)}
    if not finite:
        return Check(p, False, "no records" if not values else "no finite value")
    mean = statistics.fmean(finite.values())
    seeds = len({model[-1] for model in finite})
    return Check(p, mean >= p.threshold, f"{mean:.3f} ({_seeds(seeds, len(finite))})")


def _health(p: HealthInRange, models: set[tuple[str, ...]], method_key: str | None,
            training: list[dict[str, Any]]) -> Check:
    recs = [r for r in training if _of(p.method, method_key, models, r)]
    if not recs:
        return Check(p, False, "no training records")
    if not all(r.get("health", {}).get("per_epoch") for r in recs):
        return Check(p, False, "no health figures recorded")
    figures: dict[str, list[float]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for r in recs:
        for name, value in last_values(r["health"]).items():
            if name in r["health"].get("ranges", {}):
                figures.setdefault(name, []).append(value)
                ranges[name] = tuple(r["health"]["ranges"][name])  # type: ignore[assignment]
    if not figures:
        return Check(p, True, "no figure has a sane range")
    parts, met = [], True
    for name in sorted(figures):
        mean, (lo, hi) = statistics.fmean(figures[name]), ranges[name]
        inside = math.isfinite(mean) and lo <= mean <= hi
        met &= inside
        parts.append(f"{name} {mean:.3g} {'in' if inside else 'outside'} [{lo:g}, {hi:g}]")
    return Check(p, met, f"{', '.join(parts)} ({_seeds(len({_model(r['key'])[-1] for r in recs}), len(recs))})")


def _trained_for(p: TrainedFor, measured: list[dict[str, Any]]) -> Check:
    epochs = sorted({rec["key"]["budget"]["epochs"] for rec in measured})
    if not epochs:
        return Check(p, False, "no records")
    return Check(p, epochs[0] >= p.epochs, f"{' / '.join(map(str, epochs))} epochs")


def check(claim: Claim, treated: list[dict[str, Any]], reference: list[dict[str, Any]],
          records: list[dict[str, Any]], training: list[dict[str, Any]]) -> list[Check]:
    """Each of ``claim``'s preconditions, on the models of the ``treated`` records (one per seed of an outcome;
    ``reference``: the reference side's records of the same seeds, empty for an absolute claim)."""
    # a derived record names the models it combines (the polarity index: the bright and the dark one)
    models = {_model(k) for r in treated for k in r.get("sources") or [r["key"]]}
    out = []
    for p in claim.preconditions:
        if isinstance(p, TrainedFor):
            out.append(_trained_for(p, treated + reference))
            continue
        method_key = _method_key(claim, p.method, treated, reference)
        out.append(_at_least(p, models, method_key, records) if isinstance(p, AtLeast)
                   else _health(p, models, method_key, training))
    return out
