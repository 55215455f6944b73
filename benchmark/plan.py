"""The plan: tasks x architectures x methods x seeds training cells, each with its evaluation cells."""
from __future__ import annotations

import dataclasses
from typing import Any

from xaibench.component import config_dict
from xaibench.config import ComponentSpec, Suite


@dataclasses.dataclass(frozen=True)
class EvalCell:
    """One metric for one explainer (None for predictive metrics) on one trained model."""

    explainer: ComponentSpec | None
    metric: ComponentSpec


@dataclasses.dataclass(frozen=True)
class TrainCell:
    """One model: a task, an architecture, a training method and a seed, with its evaluations."""

    task: ComponentSpec
    architecture: ComponentSpec
    method: ComponentSpec
    seed: int
    suite: Suite
    evals: tuple[EvalCell, ...]

    @property
    def key(self) -> dict[str, Any]:
        """Everything that can change the trained weights."""
        return {
            "task": self.task.key, "data_seed": self.suite.data_seed,
            "architecture": self.architecture.key, "method": self.method.key, "seed": self.seed,
            "budget": dataclasses.asdict(self.suite.budget_for(self.task)),
        }

    def explainer_key(self, explainer: ComponentSpec) -> dict[str, Any]:
        """Everything that can change the attributions of the evaluation subset."""
        return {**self.key, "explainer": explainer.key, "evaluation": dataclasses.asdict(self.suite.evaluation)}

    def eval_key(self, cell: EvalCell) -> dict[str, Any]:
        base = self.explainer_key(cell.explainer) if cell.explainer else {**self.key, "explainer": None}
        return {**base, "metric": cell.metric.key}

    def labels(self) -> dict[str, Any]:
        """Human-readable names, stored beside the key for the leaderboard."""
        return {"task": self.task.label, "architecture": self.architecture.label, "method": self.method.label,
                "method_config": config_dict(self.method.config)}


def make_plan(suite: Suite) -> list[TrainCell]:
    evals = tuple(
        [EvalCell(None, m) for m in suite.metrics if not m.cls.uses_attributions()]
        + [EvalCell(e, m) for e in suite.explainers for m in suite.metrics if m.cls.uses_attributions()]
    )
    return [
        TrainCell(task, arch, method, seed, suite, evals)
        for task in suite.tasks for arch in suite.architectures for method in suite.methods for seed in suite.seeds
    ]
