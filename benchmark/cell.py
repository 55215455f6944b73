"""One training cell's work, with no access to the store: what every executor runs.

`CellWorker.execute` composes the stages (`xaibench.stages`): train the model (or load the given weights), explain
the evaluation subset once per explainer (or take the given attributions), score the missing metrics, and record
each result; it returns everything as a `CellOutput`, and the driver alone writes the store.
"""
from __future__ import annotations

import dataclasses
import traceback
from typing import Any

import torch

from xaibench.config import Suite
from xaibench.plan import EvalCell, TrainCell
from xaibench.record import EvaluationRecord, Key, RetrainedRecord, TrainingRecord
from xaibench.stages.data import TaskData
from xaibench.stages.explain import ExplainStage
from xaibench.stages.record import RecordStage
from xaibench.stages.score import ScoreStage, needs_retraining
from xaibench.stages.train import TrainStage, model_inputs  # noqa: F401  (model_inputs: public here too)


def select_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclasses.dataclass
class CellOutput:
    """What a cell produced: new weights and their training record, new attributions, metric records,
    newly retrained models, and the failure that stopped it (its finished parts are kept)."""

    cell_key: Key
    label: str
    weights: dict[str, torch.Tensor] | None = None
    training_record: TrainingRecord | None = None
    attributions: list[tuple[Key, torch.Tensor]] = dataclasses.field(default_factory=list)
    records: list[tuple[Key, EvaluationRecord]] = dataclasses.field(default_factory=list)
    retrained: list[tuple[Key, dict[str, torch.Tensor], RetrainedRecord]] = \
        dataclasses.field(default_factory=list)  # ROAR/KAR models: (key, weights, training record)
    failure: dict[str, str] | None = None


class CellWorker:
    """Executes training cells of one suite; keeps each task's data loaded between cells.

    >>> from xaibench.config import load_suite
    >>> CellWorker(load_suite("quick")).device.type in ("cpu", "cuda")
    True
    """

    def __init__(self, suite: Suite, device: torch.device | None = None, threads: int | None = None):
        self.suite = suite
        self.device = device or select_device()
        self.threads = threads or torch.get_num_threads()
        self.data = TaskData(suite.data_seed)
        self.recorder = RecordStage(suite, self.device, self.threads)
        self.trainer = TrainStage(suite, self.device, self.recorder)
        self.explainer = ExplainStage(suite.evaluation.batch_size, self.device)
        self.scorer = ScoreStage(self.device, self.trainer, self.explainer, self.recorder)

    def execute(self, cell: TrainCell, missing: list[EvalCell], weights: dict[str, torch.Tensor] | None = None,
                attributions: dict[str, torch.Tensor] | None = None,
                retrained: dict[str, dict[str, torch.Tensor]] | None = None) -> CellOutput:
        """Never raises for the cell's own errors: they come back in ``CellOutput.failure``.

        ``retrained``: stored ROAR/KAR models by the stable hash of their key (``xaibench.retraining``)."""
        torch.set_num_threads(self.threads)  # results may depend on it: the same everywhere, and recorded
        out = CellOutput(cell.key, f"{cell.task.label}/{cell.architecture.label}/{cell.method.label}/seed={cell.seed}")
        try:
            self._execute(cell, missing, weights, attributions or {}, dict(retrained or {}), out)
        except Exception as err:  # one failing cell must not stop the others
            out.failure = {"cell": out.label, "error": f"{type(err).__name__}: {err}",
                           "traceback": traceback.format_exc()}
        return out

    def _execute(self, cell: TrainCell, missing: list[EvalCell], weights: dict[str, torch.Tensor] | None,
                 cached: dict[str, torch.Tensor], retrained: dict[str, dict[str, torch.Tensor]],
                 out: CellOutput) -> None:
        train, test = self.data.load(cell.task)
        model, out.training_record = self.trainer.model(cell, train, weights)
        if out.training_record is not None:
            out.weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        predictions = self.explainer.predict(model, test.x)
        subset = test[: self.suite.evaluation.n_samples].to(self.device)
        by_explainer: dict[str | None, list[EvalCell]] = {}
        for e in missing:
            by_explainer.setdefault(e.explainer.label if e.explainer else None, []).append(e)
        for label, evals in by_explainer.items():
            explainer = evals[0].explainer
            plain = [e for e in evals if not needs_retraining(e)]
            if explainer is None:
                out.records += self.scorer.plain(cell, plain, model, test.to(self.device), None, predictions)
            elif plain:
                target = predictions[: len(subset)]
                attributions, new = self.explainer.attributions(explainer, model, subset, target,
                                                                cached.get(explainer.label))
                if new:
                    out.attributions.append((cell.explainer_key(explainer), attributions))
                out.records += self.scorer.plain(cell, plain, model, subset, attributions.to(self.device), target)
            removal = [e for e in evals if needs_retraining(e)]
            if removal:  # one context per explainer: ROAR and KAR share its explanations and random baselines
                context = self.scorer.retraining_context(cell, explainer, model, train, test, retrained, out.retrained)
                out.records += self.scorer.retrained(removal, context)
