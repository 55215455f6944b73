"""FLINT's own metrics (METRICS.md §8): fidelity, interpreter accuracy and conciseness, scored once per model.

They read the model's FLINT networks (``flint`` or ``flint_posthoc``); on any other model every value is NaN
(excluded), so ERM rows beside FLINT rows show no number rather than a wrong one.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Annotated

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.flint import flint_forward, flint_nets, relevance
from xaibench.metrics.base import Metric
from xaibench.ranges import Range
from xaibench.registries import METRICS

CHUNK = 256  # predictive metrics receive the whole test split: bound memory


def conciseness(r: torch.Tensor, tau: float) -> torch.Tensor:
    """CNS(τ) = #{j : r_j > 1/τ} per sample (strict), for relevances r (N×J) in [0, 1].

    >>> r = torch.tensor([[1.0, 0.5, 0.1]])
    >>> [conciseness(r, t).item() for t in (1.5, 2, 2.5, 5)]
    [1, 1, 2, 2]
    """
    return (r > 1 / tau).sum(1)


class FlintMetric(Metric):
    """Base of the FLINT metrics: f, h and Φ on the batch in chunks, then ``score`` per sample."""

    category = "predictive"
    requires = frozenset({"flint"})
    modalities = frozenset({"image", "time_series", "text"})

    @classmethod
    def uses_attributions(cls) -> bool:
        return False  # scored once per model, like the predictive metrics

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        if flint_nets(model) is None:  # not a FLINT model: not applicable
            return torch.full((len(batch),), float("nan"), dtype=torch.float64)
        outs = [flint_forward(model, batch.x[i:i + CHUNK]) for i in range(0, len(batch), CHUNK)]
        logits = torch.cat([o.logits for o in outs])
        interpreter = torch.cat([o.interpreter for o in outs])
        attributes = torch.cat([o.attributes for o in outs])
        return self.score(model, batch, logits, interpreter, attributes).double()

    def score(self, model: nn.Module, batch: Batch, logits: torch.Tensor, interpreter: torch.Tensor,
              attributes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


# Bins of f's max-softmax confidence for fidelity's details. Fixed edges, not quantiles: a bin means the same on
# every model and seed, so counts pool over seeds and FLINT compares with post-hoc FLINT on one grid; the upper
# edges split the range where a trained f puts most test samples.
CONFIDENCE_EDGES = (0.0, 0.5, 0.8, 0.95, 1.0)


def by_confidence(agree: torch.Tensor, confidence: torch.Tensor,
                  edges: tuple[float, ...] = CONFIDENCE_EDGES) -> dict[str, list[float]]:
    """Mean of ``agree`` and the sample count within each bin (edges[i], edges[i + 1]] of ``confidence``
    (NaN where a bin is empty).

    >>> by_confidence(torch.tensor([1., 0., 1., 1.]), torch.tensor([0.3, 0.6, 0.7, 1.0]))
    {'edges': [0.0, 0.5, 0.8, 0.95, 1.0], 'count': [1, 2, 0, 1], 'fidelity': [1.0, 0.5, nan, 1.0]}
    """
    index = torch.bucketize(confidence, torch.tensor(edges[1:-1], dtype=confidence.dtype, device=confidence.device))
    count = torch.bincount(index, minlength=len(edges) - 1)
    total = torch.bincount(index, weights=agree.to(torch.float64), minlength=len(edges) - 1)
    return {"edges": list(edges), "count": count.tolist(),
            "fidelity": [t / n if n else math.nan for t, n in zip(total.tolist(), count.tolist())]}


@METRICS.register
class FlintFidelity(FlintMetric):
    """FLINT fidelity: 1[argmax h(Φ(x)) = argmax f(x)] per sample (NaN on non-FLINT models). ``details`` holds
    the fidelity and count within bins of f's max-softmax confidence (``by_confidence``): FLINT's fidelity
    follows f's confidence, so a low mean can come from a weak f.

    >>> from xaibench.methods.flint import attach_flint
    >>> from xaibench.models.small_cnn import SmallCNN
    >>> model = SmallCNN(SmallCNN.Config(width=4), (1, 28, 28), 10).eval()
    >>> batch = Batch(torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2]))
    >>> FlintFidelity()(model, batch, None, batch.y).isnan().all().item()
    True
    >>> _ = attach_flint(model, batch.x)
    >>> values = FlintFidelity()(model, batch, None, batch.y)
    >>> len(values), set(values.tolist()) <= {0.0, 1.0}
    (3, True)
    """

    name = "flint_fidelity"
    version = "1"
    higher_is_better = True
    label = "FLINT fidelity"

    def score(self, model: nn.Module, batch: Batch, logits: torch.Tensor, interpreter: torch.Tensor,
              attributes: torch.Tensor) -> torch.Tensor:
        agree = (interpreter.argmax(1) == logits.argmax(1)).double()
        confidence = logits.double().softmax(1).amax(1)
        self.details = {"by_confidence": {"confidence": "max softmax of f", **by_confidence(agree, confidence)}}
        return agree


@METRICS.register
class FlintInterpreterAccuracy(FlintMetric):
    """FLINT interpreter accuracy: 1[argmax h(Φ(x)) = y] per sample (NaN on non-FLINT models)."""

    name = "flint_interpreter_accuracy"
    version = "1"
    higher_is_better = True
    label = "FLINT interpreter acc."

    def score(self, model: nn.Module, batch: Batch, logits: torch.Tensor, interpreter: torch.Tensor,
              attributes: torch.Tensor) -> torch.Tensor:
        return (interpreter.argmax(1) == batch.y.to(interpreter.device)).double()


@METRICS.register
class FlintConciseness(FlintMetric):
    """FLINT conciseness CNS(τ): how many attributes have relevance > 1/τ for the interpreter's class (lower is better).

    An all-zero Φ(x) counts 0 attributes (METRICS.md §8 flags it). NaN on non-FLINT models.
    """

    name = "flint_conciseness"
    version = "1"
    category = "complexity"
    higher_is_better = False
    label = "FLINT CNS"

    @dataclasses.dataclass(frozen=True)
    class Config:
        tau: Annotated[float, Range(gt=1)] = 2.0  # the threshold is 1/τ on relevances in [0, 1]; the notebook: 1.5-5

    def score(self, model: nn.Module, batch: Batch, logits: torch.Tensor, interpreter: torch.Tensor,
              attributes: torch.Tensor) -> torch.Tensor:
        weight = flint_nets(model)["h"][-1].weight
        return conciseness(relevance(attributes, weight, interpreter.argmax(1)), self.cfg.tau).double()
