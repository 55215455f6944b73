"""The layout of every record: what the writer (`xaibench.cell`) stores and every reader (`xaibench.results`, the
leaderboard) reads, as TypedDicts, with the one constructor of each kind and the ordered category list.

A record is JSON in the store (`xaibench.store`): ``records/`` holds an `EvaluationRecord` per (model, explainer,
metric), ``training/`` a `TrainingRecord` per model, ``retrained/`` a `RetrainedRecord` per ROAR/KAR model. The
leaderboard adds `DerivedRecord`s computed from several of them (`xaibench.leaderboard.derived`). The store adds
each record's ``key`` when it writes it; every record read back has one. Nothing here imports torch.

>>> info = metric_info("gini", "1", "Gini", "complexity", True)
>>> provenance = {"code_version": "0.1.0", "versions": {}, "machine": {}, "device": "cpu", "threads": 1,
...               "suite": {"name": "s", "hash": "h"}, "timestamp": "2026-01-01T00:00:00+00:00"}
>>> rec = evaluation_record({"task": "t", "architecture": "a", "method": "m", "explainer": "e", "metric": "gini"},
...                         info, [0.5, float("nan")], value=0.5, dataset_level=False,
...                         cost={"wall_time_s": 1.0, "cpu_time_s": 1.0, "peak_memory_mb": 9.0},
...                         provenance=provenance)
>>> rec["value"], rec["n"], rec["n_excluded"], rec["metric"]["category"], category_rank("cost")
(0.5, 1, 1, 'complexity', 1)
"""
from __future__ import annotations

import typing
from typing import Any, Literal, TypedDict

# The categories of metric columns, in the leaderboard's order. "cost" is the derived training-cost column
# (`xaibench.leaderboard.derived`); "robustness" and "axiomatic" come from quantus (`metrics/quantus_bridge.py`).
Category = Literal["predictive", "cost", "faithfulness", "localization", "input_bias", "sanity", "complexity",
                   "robustness", "axiomatic"]
CATEGORIES: tuple[Category, ...] = typing.get_args(Category)

Key = dict[str, Any]  # everything that can change a result (`xaibench.plan.TrainCell.key` and friends); hashed


def category_rank(category: str) -> int:
    """The position of ``category`` in the leaderboard's order; a category not listed comes after all listed.

    >>> category_rank("predictive"), category_rank("faithfulness"), category_rank("made_up") == len(CATEGORIES)
    (0, 2, True)
    """
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)  # type: ignore[arg-type]


class _Labels(TypedDict):
    task: str  # a component's label: its name plus its non-default parameters, e.g. "shapes(n_train=256)"
    architecture: str
    method: str


class TrainingLabels(_Labels, total=False):
    """The names the leaderboard shows for a model (`xaibench.plan.TrainCell.labels`)."""

    task_config: dict[str, Any]  # every parameter, defaults included
    method_config: dict[str, Any]


class Labels(TrainingLabels):
    """A model's labels plus its explainer (None: a metric scored without one) and metric label."""

    explainer: str | None
    metric: str  # the metric's label: its name plus its non-default parameters


class MetricInfo(TypedDict):
    """What the leaderboard knows of a metric column: its identity, header, category and direction."""

    name: str
    version: str
    label: str
    category: str  # one of CATEGORIES for built-in metrics; a plugin's or quantus's own category sorts last
    higher_is_better: bool


class Cost(TypedDict):
    """Measured cost of one stage (`xaibench.cell.measure`): depends on the machine and its load."""

    wall_time_s: float
    cpu_time_s: float
    peak_memory_mb: float


class SuiteRef(TypedDict):
    name: str
    hash: str


class Provenance(TypedDict):
    """The versions and machine facts that can change a number (`xaibench.versions`), and when it was made."""

    code_version: str
    versions: dict[str, str]
    machine: dict[str, Any]
    device: str
    threads: int
    suite: SuiteRef
    timestamp: str


class _Keyed(TypedDict, total=False):
    key: Key  # added by ResultStore.put; present in every record read back from a store


class Flops(TypedDict):
    """Counted training FLOPs (`xaibench.flops.flops_record`)."""

    total: int
    per_s: float | None
    version: str


class _TrainingFigures(TypedDict, total=False):  # stores older than FLOP counting or health figures lack them
    flops: Flops
    health: dict[str, Any]  # {"per_epoch": {figure: [mean per epoch]}, "ranges": ..., "warnings": [...]}


class TrainingRecord(_Keyed, _TrainingFigures, Cost, Provenance):
    """One trained model (``training/``)."""

    labels: TrainingLabels
    steps: int  # optimizer steps


class RetrainedRecord(TrainingRecord):
    """One ROAR/KAR retrained model (``retrained/``): its training record, the removal mode and fraction."""

    mode: str
    fraction: float


class _Scored(_Keyed):
    labels: Labels
    metric: MetricInfo
    value: float  # the mean over the finite per-sample values; NaN if none
    n: int  # finite values
    n_excluded: int  # NaN values (samples the metric is undefined for)


class _Values(TypedDict, total=False):
    details: dict[str, Any]  # what a metric has to show beyond its values, e.g. {"curves": ...} (Metric.details)


class EvaluationRecord(_Scored, _Values, Cost, Provenance):
    """One metric on one model and explainer (``records/``)."""

    dataset_level: bool  # one value for the whole evaluation set
    values: list[float]  # per sample of the evaluation subset, NaN = excluded


class _Derived(TypedDict, total=False):
    signed_mean: float  # the polarity bias index before its absolute value
    sources: list[Key]  # the keys of the records it combines, when they belong to more than one model


class DerivedRecord(_Scored, _Derived):
    """A column computed from several records (`xaibench.leaderboard.derived`): never stored."""

    code_version: str
    versions: dict[str, str]
    suite: SuiteRef


Record = EvaluationRecord | DerivedRecord  # what the leaderboard's tables read


def metric_info(name: str, version: str, label: str, category: str, higher_is_better: bool) -> MetricInfo:
    return {"name": name, "version": version, "label": label, "category": category,
            "higher_is_better": higher_is_better}


def evaluation_record(labels: Labels, metric: MetricInfo, values: list[float], value: float, dataset_level: bool,
                      cost: Cost, provenance: Provenance, details: dict[str, Any] | None = None) -> EvaluationRecord:
    """``value``: the mean of the finite ``values``, computed by the caller (torch's float64 mean, which the
    stored numbers come from)."""
    n = sum(v == v for v in values)  # NaN != NaN
    record: EvaluationRecord = {"labels": labels, "metric": metric, "dataset_level": dataset_level, "value": value,
                                "n": n, "n_excluded": len(values) - n, "values": values, **cost, **provenance}
    if details:
        record["details"] = details
    return record


def training_record(labels: TrainingLabels, cost: Cost, steps: int, flops: Flops, health: dict[str, Any],
                    provenance: Provenance) -> TrainingRecord:
    return {"labels": labels, **cost, "steps": steps, "flops": flops, "health": health, **provenance}


def retrained_record(training: TrainingRecord, mode: str, fraction: float) -> RetrainedRecord:
    return {**training, "mode": mode, "fraction": fraction}


def derived_record(source: TrainingRecord | Record, key: Key, labels: Labels, metric: MetricInfo, value: float,
                   n: int, n_excluded: int, signed_mean: float | None = None,
                   sources: list[Key] | None = None) -> DerivedRecord:
    """A derived record whose provenance (code version, package versions, suite) is its ``source``'s;
    ``signed_mean``: the polarity bias index's, before its absolute value; ``sources``: the keys of the records
    combined when they come from several models (the report checks preconditions on each)."""
    record: DerivedRecord = {"key": key, "labels": labels, "metric": metric, "value": value, "n": n,
                             "n_excluded": n_excluded, "code_version": source["code_version"],
                             "versions": source["versions"], "suite": source["suite"]}
    if signed_mean is not None:
        record["signed_mean"] = signed_mean
    if sources is not None:
        record["sources"] = sources
    return record
