"""Metrics derived from several stored records, e.g. across two trained models or from training records.

The polarity bias index (METRICS.md §3.1) compares one method's models trained on the bright and on
the dark rendering of the same scenes: b_i = RMA_bright_i − RMA_dark_i per sample, from the stored
per-sample relevance mass accuracy (pooling `sum,abs`). The leaderboard shows |mean b| (lower is
better, a bias-free explainer gives about 0); the record keeps the signed mean too.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

from xaibench.record import DerivedRecord, EvaluationRecord, Record, TrainingRecord, derived_record, metric_info

POLARITY_TASK, RMA = "shapes_polarity", "relevance_mass_accuracy"
POLARITY_METRIC, FLOPS_METRIC, MPRT, MPRT_PASS = "polarity_bias_index", "train_flops_vs_erm", "mprt", "mprt_pass"
POLARITY_SIGNED = "polarity_bias_signed"


def polarity_bias_records(records: Iterable[EvaluationRecord]) -> list[DerivedRecord]:
    """One derived record per (method, architecture, seed, explainer) evaluated on both renderings.

    >>> def rec(polarity, values):
    ...     return {"key": {"task": {"name": POLARITY_TASK, "version": "1"}, "seed": 0,
    ...                     "metric": {"name": RMA, "version": "1", "config": "c"}},
    ...             "labels": {"task": "t", "architecture": "a", "method": "m", "explainer": "e", "metric": RMA,
    ...                        "task_config": {"polarity": polarity, "n_train": 8}},
    ...             "values": values, "code_version": "v", "versions": {}, "suite": {"name": "s", "hash": "h"}}
    >>> (out,) = polarity_bias_records([rec("bright", [0.5, 0.7]), rec("dark", [0.4, 0.9])])
    >>> round(out["signed_mean"], 3), round(out["value"], 3), out["labels"]["task"]
    (-0.05, 0.05, 'shapes_polarity (bright vs dark)')
    """
    pairs: dict[tuple[Any, ...], dict[str, EvaluationRecord]] = {}
    for rec in records:
        key, labels = rec["key"], rec["labels"]
        config = labels.get("task_config")
        if key["task"]["name"] != POLARITY_TASK or labels.get("metric") != RMA or config is None:
            continue
        shared = tuple(sorted((k, v) for k, v in config.items() if k != "polarity"))  # the same scenes
        group = (key["task"]["version"], shared, labels["method"], labels["architecture"], key["seed"],
                 labels["explainer"], key["metric"]["version"], key["metric"]["config"])
        pairs.setdefault(group, {})[config["polarity"]] = rec
    out = []
    for group, renderings in sorted(pairs.items(), key=lambda kv: str(kv[0])):
        if renderings.keys() != {"bright", "dark"}:
            continue
        bright, dark = renderings["bright"], renderings["dark"]
        diffs = [b - d for b, d in zip(bright["values"], dark["values"]) if b == b and d == d]  # NaN: excluded
        if not diffs:
            continue
        signed = statistics.fmean(diffs)
        out.append(derived_record(
            bright, {**bright["key"], "metric": {"name": POLARITY_METRIC, "version": "1", "config": "-"}},
            {**bright["labels"], "task": f"{POLARITY_TASK} (bright vs dark)", "metric": POLARITY_METRIC},
            metric_info(POLARITY_METRIC, "1", "|Polarity bias|", "input_bias", False),
            abs(signed), len(diffs), len(bright["values"]) - len(diffs), signed_mean=signed,
            sources=[bright["key"], dark["key"]]))
    return out


def signed_polarity_records(records: Iterable[Record]) -> list[DerivedRecord]:
    """Each polarity bias record again, valued by its signed mean: what a claim of *no* bias is tested on. The
    per-seed |mean| is at least 0 on every seed, so its mean over seeds stays above 0 for an unbiased explainer
    by the spread between the bright and the dark models alone; the signed means average out.

    >>> rec = {"key": {"metric": {"name": POLARITY_METRIC}}, "labels": {"metric": POLARITY_METRIC}, "value": 0.05,
    ...        "signed_mean": -0.05, "metric": {}, "n": 2, "n_excluded": 0}
    >>> [(r["labels"]["metric"], r["value"]) for r in signed_polarity_records([rec])]
    [('polarity_bias_signed', -0.05)]
    """
    return [{**rec, "key": {**rec["key"], "metric": {**rec["key"]["metric"], "name": POLARITY_SIGNED}},
             "labels": {**rec["labels"], "metric": POLARITY_SIGNED}, "value": rec["signed_mean"],
             "metric": {**rec["metric"], "name": POLARITY_SIGNED, "label": "Polarity bias (signed)"}}
            for rec in records if rec["labels"].get("metric") == POLARITY_METRIC]


def training_cost_records(training: Iterable[TrainingRecord]) -> list[DerivedRecord]:
    """The cost column: training FLOPs (counted, so the same on every rerun and machine) relative to ERM on the
    same task, architecture and seed, one record per model. A model or ERM without a count (a store older than
    FLOP counting), or counted under another counting version, gets NaN: the board shows –. Wall times stay
    in the training records; they depend on the machine and its load, so no column shows them.

    >>> def rec(method, flops=None):
    ...     return {"key": {"task": {"name": "t", "version": "1"}, "architecture": {}, "seed": 0, "data_seed": 0,
    ...                     "budget": {}}, "labels": {"task": "t", "architecture": "a", "method": method},
    ...             "code_version": "v", "versions": {}, "suite": {"name": "s", "hash": "h"},
    ...             **({"flops": {"total": flops, "version": "1"}} if flops else {})}
    >>> [(r["labels"]["method"], r["value"]) for r in training_cost_records([rec("erm", 100), rec("sgt", 270),
    ...                                                                       rec("old")])]
    [('erm', 1.0), ('sgt', 2.7), ('old', nan)]
    """
    training = list(training)

    def group(rec: TrainingRecord) -> tuple[Any, ...]:
        key, labels = rec["key"], rec["labels"]
        return labels["task"], key["task"]["version"], labels["architecture"], key["seed"], key.get("data_seed")

    def flops(rec: TrainingRecord) -> tuple[int | None, str]:
        counted: dict[str, Any] = dict(rec.get("flops") or {})
        return counted.get("total"), str(counted.get("version", "1"))

    erm = {group(r): flops(r) for r in training if r["labels"]["method"] == "erm"}
    out = []
    for rec in training:
        if group(rec) not in erm:
            continue
        (ours, version), (base, base_version) = flops(rec), erm[group(rec)]
        counted = ours is not None and bool(base) and version == base_version
        out.append(derived_record(
            rec, {**rec["key"], "metric": {"name": FLOPS_METRIC, "version": version, "config": "-"}},
            {**rec["labels"], "explainer": None, "metric": FLOPS_METRIC},
            metric_info(FLOPS_METRIC, version, "Train FLOPs ×ERM", "cost", False),
            ours / base if counted else math.nan, 1, 0))
    return out


def sanity_pass_records(records: Iterable[Record]) -> list[DerivedRecord]:
    """MPRT's pass/fail column: 1 where a model's mean ρ after full randomization is below 0.5, else 0, so the
    leaderboard cell is the fraction of seeds that pass.

    >>> rec = {"key": {"metric": {"name": "mprt", "version": "1", "config": "c"}}, "labels": {"metric": "mprt"},
    ...        "metric": {"name": "mprt", "version": "1"}, "value": 0.8, "n": 4, "n_excluded": 0,
    ...        "code_version": "v", "versions": {}, "suite": {"name": "s", "hash": "h"}}
    >>> [(r["value"], r["n"]) for r in sanity_pass_records([rec, {**rec, "value": 0.2}])]
    [(0.0, 4), (1.0, 4)]
    """
    out = []
    for rec in records:
        if rec["metric"]["name"] != MPRT or rec["value"] != rec["value"]:
            continue
        from xaibench.metrics.sanity import MPRT_PASS_THRESHOLD  # the metric's own rule (imports torch: only here)

        variant = rec["labels"]["metric"].removeprefix(MPRT)
        out.append(derived_record(
            rec, {**rec["key"], "metric": {**rec["key"].get("metric", {}), "name": MPRT_PASS}},
            {**rec["labels"], "metric": f"{MPRT_PASS}{variant}"},
            metric_info(MPRT_PASS, rec["metric"].get("version", "1"), "MPRT pass", "sanity", True),
            float(rec["value"] < MPRT_PASS_THRESHOLD), rec["n"], rec["n_excluded"]))
    return out


def with_derived(records: Iterable[EvaluationRecord],
                 training: Iterable[TrainingRecord] = ()) -> list[Record]:
    """The stored records plus the derived ones (polarity bias, MPRT pass/fail, training FLOPs relative to ERM)."""
    records = list(records)
    return records + polarity_bias_records(records) + sanity_pass_records(records) + training_cost_records(training)
