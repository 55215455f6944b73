"""The driver: plans a suite, skips finished cells, hands the rest to an executor and writes what comes
back to the store (weights, then training record, attributions, metric records), one cell at a time."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import torch

from xaibench.cell import CellOutput
from xaibench.component import stable_hash
from xaibench.config import Suite
from xaibench.executors import Job, LocalExecutor, RayExecutor
from xaibench.plan import EvalCell, TrainCell, make_plan
from xaibench.progress import Progress
from xaibench.retraining import retraining_keys
from xaibench.store import ResultStore


@dataclasses.dataclass
class RunSummary:
    trained: int = 0
    records_written: int = 0
    cells_skipped: int = 0
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    record_keys: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class Runner:
    """Executes a suite against a store, locally (default) or on Ray.

    >>> from xaibench.config import load_suite
    >>> runner = Runner(load_suite("quick"), ResultStore("results"), quiet=True)
    >>> runner.executor.name, runner.threads >= 1
    ('local', True)
    """

    def __init__(self, suite: Suite, store: ResultStore, quiet: bool = False,
                 executor: LocalExecutor | RayExecutor | None = None, threads: int | None = None):
        self.suite, self.store, self.quiet = suite, store, quiet
        self.executor = executor or LocalExecutor()
        self.threads = threads or torch.get_num_threads()

    def pending(self) -> tuple[list[tuple[TrainCell, list[EvalCell]]], RunSummary]:
        """The training cells with missing evaluations (and those missing), and a summary of what is done."""
        summary, todo = RunSummary(), []
        for cell in make_plan(self.suite):
            keys = [cell.eval_key(e) for e in cell.evals]
            summary.record_keys += keys
            missing = [e for e, k in zip(cell.evals, keys) if not self.store.has("records", k)]
            summary.cells_skipped += len(cell.evals) - len(missing)
            if missing:
                todo.append((cell, missing))
        return todo, summary

    def run(self) -> RunSummary:
        todo, summary = self.pending()
        retrain = {stable_hash(k) for c, missing in todo for e in missing for k in retraining_keys(c, e)
                   if not self.store.has("retrained", k)}
        totals = {"train": sum(not self.store.has("training", c.key) for c, _ in todo),
                  "retrain": len(retrain), "evaluate": sum(len(m) for _, m in todo)}
        with Progress(totals, quiet=self.quiet) as progress:
            for out in self.executor.map(self.suite, self._jobs(todo), self.threads):
                self._write(out, summary, progress)
        return summary

    def _jobs(self, todo: list[tuple[TrainCell, list[EvalCell]]]) -> Iterator[Job]:
        """Jobs with what the store already holds, read lazily so memory stays bounded."""
        for cell, missing in todo:
            weights = self.store.get_tensors("models", cell.key) if self.store.has("training", cell.key) else None
            cached, retrained = {}, {}
            for e in missing:
                if e.explainer and e.explainer.label not in cached:
                    found = self.store.get_tensors("attributions", cell.explainer_key(e.explainer))
                    if found is not None:
                        cached[e.explainer.label] = found["attributions"]
                for key in retraining_keys(cell, e):  # ROAR/KAR models trained before (shared across cells)
                    if self.store.has("retrained", key):
                        retrained[stable_hash(key)] = self.store.get_tensors("models", key)
            yield Job(cell, missing, weights, cached, retrained)

    def _write(self, out: CellOutput, summary: RunSummary, progress: Progress) -> None:
        if out.weights is not None:  # weights before their record: a record always has its weights
            self.store.put_tensors("models", out.cell_key, out.weights)
            self.store.put("training", out.cell_key, out.training_record)
            summary.trained += 1
            progress.advance("train", note=f"{out.label} ({out.training_record['wall_time_s']:.1f} s)")
        for key, weights, record in out.retrained:  # weights before their record, as above
            self.store.put_tensors("models", key, weights)
            self.store.put("retrained", key, record)
        if out.retrained:
            progress.advance("retrain", len(out.retrained), note=f"{out.label} (ROAR/KAR)")
        for key, attributions in out.attributions:
            self.store.put_tensors("attributions", key, {"attributions": attributions})
        for key, record in out.records:
            self.store.put("records", key, record)
        summary.records_written += len(out.records)
        if out.records:
            progress.advance("evaluate", len(out.records), note=out.label)
        if out.failure:
            summary.failures.append((out.label, out.failure["error"]))
            self.store.put("failures", out.cell_key, out.failure)
        else:
            self.store.delete("failures", out.cell_key)
