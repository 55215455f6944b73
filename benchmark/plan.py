"""The plan: tasks x architectures x methods x seeds training cells, each with its evaluation cells."""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from xaibench.component import config_dict, stable_hash
from xaibench.config import ComponentSpec, Suite, incompatibility

R = TypeVar("R")  # a record type
T = TypeVar("T")  # a training record type


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
            "budget": self.suite.budget_for(self.task).key(),
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
                "task_config": config_dict(self.task.config), "method_config": config_dict(self.method.config)}


METHOD_FEATURES = frozenset({"flint"})  # requirements that only some training methods' models meet


def served_by(method: ComponentSpec, cell: EvalCell) -> bool:
    """Whether models of ``method`` have what the evaluation's metric and explainer require."""
    needs = cell.metric.cls.requires | (cell.explainer.cls.requires if cell.explainer else frozenset())
    return (needs & METHOD_FEATURES) <= method.cls.provides


def make_plan(suite: Suite) -> list[TrainCell]:
    """Training cells of every part, in order; a model two parts share is planned once, with the
    union of their evaluations."""
    cells: dict[str, TrainCell] = {}
    for part in suite.parts:
        for task in part.tasks:
            # combinations that cannot run are left out (with "incompatible: skip"; the suite lists them as notices)
            metrics = [m for m in part.metrics if not incompatibility(task, m, "metrics")]
            methods = [m for m in part.methods if not incompatibility(task, m, "methods")]
            for arch in (a for a in part.architectures if not incompatibility(task, a, "architectures")):
                evals = (
                    [EvalCell(None, m) for m in metrics if not m.cls.uses_attributions()]
                    + [EvalCell(e, m) for e in part.explainers if not e.cls.supports(arch.cls)
                       for m in metrics if m.cls.uses_attributions()]
                )
                for method in methods:
                    # "flint" metrics and explainers only where the method trains FLINT's networks
                    own = tuple(e for e in evals if served_by(method, e))
                    for seed in suite.seeds_of(part):
                        cell = TrainCell(task, arch, method, seed, suite, own)
                        key = stable_hash(cell.key)
                        if key in cells:
                            known = {stable_hash(cells[key].eval_key(e)) for e in cells[key].evals}
                            extra = [e for e in own if stable_hash(cell.eval_key(e)) not in known]
                            cell = dataclasses.replace(cells[key], evals=cells[key].evals + tuple(extra))
                        cells[key] = cell
    return list(cells.values())


def seedless(key: dict[str, Any]) -> str:
    """The hash of a cell key without its seed: the same cell of a suite at any seed (``--seeds`` adds seeds)."""
    return stable_hash({k: v for k, v in key.items() if k != "seed"})


def of_suite(suite: Suite, records: list[R], training: list[T]) -> tuple[list[R], list[T]]:
    """The records and training records of ``suite``'s cells at any seed, picked out of a store that also holds
    other configurations (an older version of the suite, another suite)."""
    plan = make_plan(suite)
    evals = {seedless(cell.eval_key(e)) for cell in plan for e in cell.evals}
    trains = {seedless(cell.key) for cell in plan}
    return ([r for r in records if seedless(r["key"]) in evals], [r for r in training if seedless(r["key"]) in trains])
