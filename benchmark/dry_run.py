"""`xaibench run --dry-run`: what a run would do, and what it would cost by the timings already recorded."""
from __future__ import annotations

import statistics
from collections import defaultdict

from xaibench.component import stable_hash
from xaibench.plan import make_plan
from xaibench.retraining import retraining_keys
from xaibench.runner import Runner


def describe_plan(runner: Runner) -> str:
    """Counts of training and evaluation cells (done / to do) and an estimate from recorded wall times."""
    todo, summary = runner.pending()
    store, suite = runner.store, runner.suite
    plan = make_plan(suite)
    n_models = len(plan)
    to_train = [cell for cell, _ in todo if not store.has("training", cell.key)]
    n_evals = len(summary.record_keys)
    n_missing = sum(len(m) for _, m in todo)
    retrain = {stable_hash(k): k for c in plan for e in c.evals for k in retraining_keys(c, e)}
    retrain_missing = sum(not store.has("retrained", k) for k in retrain.values())

    # Recorded timings, by what the cost depends on most: (task, architecture, method) for training,
    # (task, explainer, metric) for evaluation; other configs and seeds are pooled.
    train_times, eval_times = defaultdict(list), defaultdict(list)
    for rec in store.records("training"):
        labels = rec["labels"]
        train_times[(labels["task"], labels["architecture"], labels["method"])].append(rec["wall_time_s"])
    for rec in store.records("records"):
        labels = rec["labels"]
        eval_times[(labels["task"], labels["explainer"], labels["metric"])].append(rec["wall_time_s"])
    known, unknown, seconds = 0, 0, 0.0
    for cell in to_train:
        times = train_times.get((cell.task.label, cell.architecture.label, cell.method.label))
        known, unknown, seconds = (known + 1, unknown, seconds + statistics.fmean(times)) if times else \
            (known, unknown + 1, seconds)
    for cell, missing in todo:
        for e in missing:
            times = eval_times.get((cell.task.label, e.explainer.label if e.explainer else None, e.metric.label))
            known, unknown, seconds = (known + 1, unknown, seconds + statistics.fmean(times)) if times else \
                (known, unknown + 1, seconds)
    estimate = f"about {_duration(seconds)} for the {known} cells with recorded timings"
    if unknown:
        estimate += f"; {unknown} cells have none yet"
    return "\n".join([
        f"suite {suite.name} ({suite.hash}), results in {store.root}",
        f"  training cells:   {n_models} ({n_models - len(to_train)} done, {len(to_train)} to train)",
        f"  evaluation cells: {n_evals} ({n_evals - n_missing} done, {n_missing} to compute)",
        *([f"  retrained models: {len(retrain)} for ROAR/KAR ({len(retrain) - retrain_missing} done, "
           f"{retrain_missing} to train)"] if retrain else []),
        f"  estimated cost:   {estimate}",
        f"  seeds:            {', '.join(map(str, suite.seeds))}" + (
            f" (--seeds; the suite lists {', '.join(map(str, suite.listed_seeds))})" if suite.listed_seeds else ""),
        *[f"{'':20}{', '.join(map(str, part.seeds))} for the part of {', '.join(t.label for t in part.tasks)}"
          for part in suite.parts if part.seeds],
    ])


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
