"""The leaderboard as CSV: one row per (task, explainer, method, architecture, metric), for spreadsheets and papers."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from xaibench.leaderboard.aggregate import aggregate
from xaibench.leaderboard.derived import with_derived
from xaibench.leaderboard.stats import summarize
from xaibench.record import EvaluationRecord, TrainingRecord

HEADER = ("task", "task_version", "explainer", "method", "architecture", "metric", "metric_version", "variant",
          "category", "higher_is_better", "mean", "ci95", "n_seeds")


def render_csv(records: Iterable[EvaluationRecord], training: Iterable[TrainingRecord] = ()) -> str:
    """The same cells as the markdown tables (controls included, as their explainer), unrounded.

    >>> render_csv([]).strip() == ",".join(HEADER)
    True
    """
    records = with_derived(records, training)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    seen = set()
    for table in aggregate(records):
        for (explainer, row, column), seeds in sorted(table.values.items(), key=lambda kv: repr(kv[0])):
            line = (table.task, table.task_version, explainer or "", row[0], row[1], column.metric, column.version,
                    column.variant, column.category, column.higher_is_better)
            if line in seen:  # per-model columns appear in every table of their task
                continue
            seen.add(line)
            s = summarize(list(seeds.values()))
            writer.writerow((*line, repr(s.mean), repr(s.ci95), s.n_seeds))
    return out.getvalue()
