"""`Metric`: a thin class over a pure tensor kernel, carrying the metadata the leaderboard reads."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.component import Component
from xaibench.record import Category

if TYPE_CHECKING:
    from xaibench.metrics.explainers.base import Explainer


class Metric(Component):
    """Base class of metrics.

    Subclasses set ``name``, ``version``, ``category``, ``higher_is_better``, ``requires``
    (subset of {"mask", "explainer", "retraining"} plus the Batch.meta keys it reads, e.g.
    "intensity", which a task declares in ``TaskMeta.extras``), ``modalities`` (the task modalities it is defined for), a ``Config``, a ``label`` for
    tables, and override ``compute``, which returns one float64 value per sample (NaN = excluded).
    ``category == "predictive"`` metrics score the model once and receive no attributions.

    >>> from xaibench.metrics.predictive import Accuracy
    >>> Accuracy.higher_is_better, Accuracy.category
    (True, 'predictive')
    """

    category: ClassVar[Category]
    higher_is_better: ClassVar[bool]
    requires: ClassVar[frozenset[str]] = frozenset()
    dataset_level: ClassVar[bool] = False  # compute returns one value for the whole evaluation set
    modalities: ClassVar[frozenset[str]] = frozenset({"image"})  # the task modalities it is defined for
    label: ClassVar[str] = ""

    def __init__(self, config: Any = None):
        self.cfg = self.make_config(config)
        # Bound by the harness for metrics that require "explainer" (they re-explain changed models).
        self.make_explainer: Callable[[nn.Module], Explainer] | None = None
        # Set by ``compute`` when a metric has more to show than its values (e.g. its mean curve): the
        # harness stores it in the record's "details" for the leaderboard's plots.
        self.details: dict[str, Any] | None = None

    @classmethod
    def uses_attributions(cls) -> bool:
        return cls.category != "predictive"

    @classmethod
    def task_problem(cls, meta: Any, task: str) -> str | None:
        """What task ``task`` (its ``TaskMeta``) lacks for this metric beyond ``requires`` and ``modalities``, as
        the rest of the sentence "metric 'x' ...", checked when the suite is read; None if nothing (the default)."""
        return None

    def __call__(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                 target: torch.Tensor) -> torch.Tensor:
        """Per-sample values (float64, on the CPU). ``target`` = the explained class per sample."""
        with torch.no_grad():
            return self.compute(model, batch, attributions, target).detach().to("cpu", torch.float64)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def curve_details(x_label: str, y_label: str, **series: tuple[torch.Tensor, torch.Tensor]) -> dict[str, Any]:
    """``Metric.details`` for curves: each series is (grid x (K), per-sample curves y (N x K) or a mean (K));
    the sample mean is kept, NaN samples left out.

    >>> curve_details("t", "p", deletion=(torch.tensor([0., 1.]), torch.tensor([[1., 0.], [0., 0.]])))
    {'curves': {'x_label': 't', 'y_label': 'p', 'series': {'deletion': {'x': [0.0, 1.0], 'y': [0.5, 0.0]}}}}
    """
    out = {}
    for name, (x, y) in series.items():
        y = y.double()
        mean = y.nanmean(0) if y.dim() == 2 else y
        out[name] = {"x": x.double().tolist(), "y": mean.tolist()}
    return {"curves": {"x_label": x_label, "y_label": y_label, "series": out}}
