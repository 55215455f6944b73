"""`Metric`: a thin class over a pure tensor kernel, carrying the metadata the leaderboard reads."""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.component import Component

Category = Literal["predictive", "faithfulness", "localization", "input_bias", "sanity", "complexity"]


class Metric(Component):
    """Base class of metrics.

    Subclasses set ``name``, ``version``, ``category``, ``higher_is_better``, ``requires``
    (subset of {"mask", "retraining"}), ``modalities`` (the task modalities it is defined for), a ``Config``, a ``label`` for
    tables, and override ``compute``, which returns one float64 value per sample (NaN = excluded).
    ``category == "predictive"`` metrics score the model once and receive no attributions.

    >>> from xaibench.metrics.predictive import Accuracy
    >>> Accuracy.higher_is_better, Accuracy.category
    (True, 'predictive')
    """

    category: ClassVar[Category]
    higher_is_better: ClassVar[bool]
    requires: ClassVar[frozenset[str]] = frozenset()
    modalities: ClassVar[frozenset[str]] = frozenset({"image"})  # the task modalities it is defined for
    label: ClassVar[str] = ""

    def __init__(self, config: Any = None):
        self.cfg = self.make_config(config)

    @classmethod
    def uses_attributions(cls) -> bool:
        return cls.category != "predictive"

    def __call__(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                 target: torch.Tensor) -> torch.Tensor:
        """Per-sample values (float64, on the CPU). ``target`` = the explained class per sample."""
        with torch.no_grad():
            return self.compute(model, batch, attributions, target).detach().to("cpu", torch.float64)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
