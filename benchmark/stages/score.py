"""The score stage: one explainer's metrics on a model, the plain ones and then the retraining ones (ROAR, KAR)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from xaibench.batch import Batch
from xaibench.record import EvaluationRecord, Key, RetrainedRecord, TrainingRecord
from xaibench.registries import METHODS
from xaibench.retraining import RetrainingContext
from xaibench.stages.explain import ExplainStage
from xaibench.stages.measure import measure
from xaibench.stages.record import RecordStage
from xaibench.stages.train import TrainStage

if TYPE_CHECKING:
    from xaibench.config import ComponentSpec
    from xaibench.plan import EvalCell, TrainCell

Scored = list[tuple[Key, EvaluationRecord]]  # (the evaluation's key, its record), in the order scored


def needs_retraining(e: EvalCell) -> bool:
    return "retraining" in e.metric.cls.requires


class ScoreStage:
    """Scores metrics and records each value with its cost (through the record stage).

    >>> from xaibench.config import load_suite
    >>> suite, cpu = load_suite("quick"), torch.device("cpu")
    >>> recorder = RecordStage(suite, cpu, 1)
    >>> ScoreStage(cpu, TrainStage(suite, cpu, recorder), ExplainStage(64, cpu), recorder).device.type
    'cpu'
    """

    def __init__(self, device: torch.device, trainer: TrainStage, explainer: ExplainStage, recorder: RecordStage):
        self.device, self.trainer, self.explainer, self.recorder = device, trainer, explainer, recorder

    def plain(self, cell: TrainCell, evals: list[EvalCell], model: torch.nn.Module, data: Batch,
              attributions: torch.Tensor | None, target: torch.Tensor) -> Scored:
        """Metrics computed from the model and the attributions of ``data`` (None: metrics without an explainer)."""
        out = []
        for e in evals:
            metric = e.metric.cls(e.metric.config)
            if e.explainer is not None:  # metrics that re-explain changed models (MPRT, ...)
                metric.make_explainer = lambda m, spec=e.explainer: spec.cls(m, spec.config)
            with measure(self.device) as cost:
                values = metric(model, data, attributions, target)
            out.append((cell.eval_key(e), self.recorder.evaluation(cell, e, values, cost, metric.details)))
        return out

    def retrained(self, evals: list[EvalCell], context: RetrainingContext) -> Scored:
        """Remove-and-retrain metrics: they share ``context`` (its explanations and random-baseline models)."""
        out = []
        for e in evals:
            metric = e.metric.cls(e.metric.config)
            with measure(self.device) as cost:
                values = metric.compute_retrained(context).detach().to("cpu", torch.float64)
            out.append((context.cell.eval_key(e), self.recorder.evaluation(context.cell, e, values, cost,
                                                                           metric.details)))
        return out

    def retraining_context(self, cell: TrainCell, explainer: ComponentSpec, model: torch.nn.Module, train: Batch,
                           test: Batch, cached: dict[str, dict[str, torch.Tensor]],
                           new: list[tuple[Key, dict[str, torch.Tensor], RetrainedRecord]]) -> RetrainingContext:
        """ROAR/KAR's view of this model: its explanations of both splits and ERM retraining from scratch; newly
        retrained models are appended to ``new``."""
        erm = METHODS.get("erm")
        reduce = [0, *range(2, train.x.dim())]

        def explain(data: Batch) -> torch.Tensor:
            data = data.to(self.device)
            return self.explainer.explain(explainer, model, data, self.explainer.predict(model, data.x))

        def load(weights: dict[str, torch.Tensor]) -> torch.nn.Module:
            return self.trainer.load(cell, erm(None), train, weights).eval()

        def fit(data: Batch) -> tuple[torch.nn.Module, TrainingRecord]:
            retrained, record = self.trainer.fit(cell, erm(None), data)
            return retrained.eval(), record

        return RetrainingContext(
            cell=cell, explainer=explainer, train=train, test=test, fill=train.x.mean(reduce),
            device=self.device, explain=explain, fit=fit, predict=self.explainer.predict, load=load,
            cached=cached, new=new)
