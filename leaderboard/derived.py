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

POLARITY_TASK, RMA = "shapes_polarity", "relevance_mass_accuracy"


def polarity_bias_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
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
    pairs: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
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
        out.append({
            "key": {**bright["key"], "metric": {"name": "polarity_bias_index", "version": "1", "config": "-"}},
            "labels": {**bright["labels"], "task": f"{POLARITY_TASK} (bright vs dark)", "metric": "polarity_bias_index"},
            "metric": {"name": "polarity_bias_index", "version": "1", "label": "|Polarity bias|",
                       "category": "input_bias", "higher_is_better": False},
            "value": abs(signed), "signed_mean": signed, "n": len(diffs),
            "n_excluded": len(bright["values"]) - len(diffs),
            "code_version": bright["code_version"], "versions": bright["versions"], "suite": bright["suite"],
        })
    return out


FLOPS_METRIC = "train_flops_vs_erm"


def training_cost_records(training: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
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

    def group(rec: dict[str, Any]) -> tuple[Any, ...]:
        key, labels = rec["key"], rec["labels"]
        return labels["task"], key["task"]["version"], labels["architecture"], key["seed"], key.get("data_seed")

    def flops(rec: dict[str, Any]) -> tuple[int | None, str]:
        counted = rec.get("flops") or {}
        return counted.get("total"), str(counted.get("version", "1"))

    erm = {group(r): flops(r) for r in training if r["labels"]["method"] == "erm"}
    out = []
    for rec in training:
        if group(rec) not in erm:
            continue
        (ours, version), (base, base_version) = flops(rec), erm[group(rec)]
        counted = ours is not None and bool(base) and version == base_version
        out.append({
            "key": {**rec["key"], "metric": {"name": FLOPS_METRIC, "version": version, "config": "-"}},
            "labels": {**rec["labels"], "explainer": None, "metric": FLOPS_METRIC},
            "metric": {"name": FLOPS_METRIC, "version": version, "label": "Train FLOPs ×ERM", "category": "cost",
                       "higher_is_better": False},
            "value": ours / base if counted else math.nan, "n": 1, "n_excluded": 0,
            "code_version": rec["code_version"], "versions": rec["versions"], "suite": rec["suite"],
        })
    return out


def sanity_pass_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """MPRT's pass/fail column: 1 where a model's mean ρ after full randomization is below 0.5, else 0, so the
    leaderboard cell is the fraction of seeds that pass.

    >>> rec = {"key": {"metric": {"name": "mprt", "version": "1", "config": "c"}},
    ...        "labels": {"metric": "mprt"}, "metric": {"name": "mprt"}, "value": 0.8}
    >>> [r["value"] for r in sanity_pass_records([rec, {**rec, "value": 0.2}])]
    [0.0, 1.0]
    """
    out = []
    for rec in records:
        if rec["metric"]["name"] != "mprt" or rec["value"] != rec["value"]:
            continue
        from xaibench.metrics.sanity import MPRT_PASS_THRESHOLD  # the metric's own rule (imports torch: only here)

        variant = rec["labels"]["metric"].removeprefix("mprt")
        out.append({
            **rec, "values": None,
            "key": {**rec["key"], "metric": {**rec["key"].get("metric", {}), "name": "mprt_pass"}},
            "labels": {**rec["labels"], "metric": f"mprt_pass{variant}"},
            "metric": {"name": "mprt_pass", "version": rec["metric"].get("version", "1"), "label": "MPRT pass",
                       "category": "sanity", "higher_is_better": True},
            "value": float(rec["value"] < MPRT_PASS_THRESHOLD),
        })
    return out


def with_derived(records: Iterable[dict[str, Any]], training: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The stored records plus the derived ones (polarity bias, MPRT pass/fail, training FLOPs relative to ERM)."""
    records = list(records)
    return records + polarity_bias_records(records) + sanity_pass_records(records) + training_cost_records(training)
