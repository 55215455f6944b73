"""Results as a tidy pandas DataFrame: one row per record (or per evaluated sample), for notebooks.

>>> import tempfile
>>> load(tempfile.mkdtemp()).columns.tolist() == list(COLUMNS)
True

A paired comparison of two methods over seeds (the README has it in full)::

    df = load("results")
    deletion = df[(df.metric == "deletion_auc") & (df.explainer == "saliency")]
    wide = deletion.pivot_table(index="seed", columns="method", values="value")
    scipy.stats.ttest_rel(wide["sgt"], wide["erm"])
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pandas as pd

    from xaibench.record import EvaluationRecord, Record, TrainingRecord

# task, method, architecture, explainer and metric are the names the leaderboard shows (a component's name plus
# its non-default parameters); *_config hold every parameter as JSON, *_version the versions in the key.
COLUMNS = ("task", "task_version", "task_config", "architecture", "method", "method_version", "method_config",
           "seed", "explainer", "metric", "metric_version", "variant", "label", "category", "higher_is_better",
           "value", "n", "n_excluded", "code_version", "versions", "key")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def row(record: Record) -> dict[str, Any]:
    """One record's row (stored or derived records alike; keys a record lacks are None)."""
    from xaibench.store import key_hash

    key, labels, metric = record.get("key", {}), record["labels"], record["metric"]
    return {
        "task": labels["task"], "task_version": key.get("task", {}).get("version"),
        "task_config": _json(labels.get("task_config")), "architecture": labels["architecture"],
        "method": labels["method"], "method_version": (key.get("method") or {}).get("version"),
        "method_config": _json(labels.get("method_config")), "seed": key.get("seed"),
        "explainer": labels.get("explainer"), "metric": metric["name"], "metric_version": metric.get("version"),
        "variant": labels.get("metric", metric["name"]).removeprefix(metric["name"]),
        "label": metric.get("label", metric["name"]), "category": metric.get("category"),
        "higher_is_better": metric.get("higher_is_better"), "value": record["value"], "n": record.get("n"),
        "n_excluded": record.get("n_excluded"), "code_version": record.get("code_version"),
        "versions": record.get("versions"), "key": key_hash(key),
    }


def frame(records: Iterable[Record], per_sample: bool = False) -> pd.DataFrame:
    """The records as a DataFrame with ``COLUMNS``; ``per_sample``: one row per stored per-sample value instead
    (column ``sample``: its position in the evaluation subset; records without per-sample values are left out)."""
    import pandas as pd

    rows = []
    for record in records:
        base = row(record)
        if not per_sample:
            rows.append(base)
            continue
        for i, v in enumerate(record.get("values") or []):
            rows.append({**base, "sample": i, "value": float("nan") if v is None else v})
    columns = list(COLUMNS) + (["sample"] if per_sample else [])
    return pd.DataFrame(rows, columns=columns)


def load(results: str | os.PathLike[str] = "results", per_sample: bool = False,
         derived: bool = False) -> pd.DataFrame:
    """The records of a result store as a tidy DataFrame (see ``frame``); ``derived``: with the leaderboard's
    derived records too (training cost relative to ERM, MPRT pass/fail, polarity bias)."""
    from xaibench.store import ResultStore

    store = ResultStore(results)
    records: list[Record] = cast("list[EvaluationRecord]", list(store.records()))
    if derived:
        from xaibench.leaderboard.derived import with_derived

        records = with_derived(cast("list[EvaluationRecord]", records),
                               cast("list[TrainingRecord]", list(store.records("training"))))
    return frame(records, per_sample)
