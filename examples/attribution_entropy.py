"""A complete metric plugin in one file: the normalized entropy of an attribution map (lower = more concise).

A pure kernel on tensors and a thin registered class, as the built-in metrics are. Check it with:

    python -c "from xaibench.testing import check_metric; from xaibench.plugins import load_plugin_file; \
load_plugin_file('examples/attribution_entropy.py'); from xaibench import METRICS; \
print(check_metric(METRICS.get('attribution_entropy')))"
"""
from __future__ import annotations

import dataclasses
import math

import torch

from xaibench import METRICS, Metric
from xaibench.metrics.functional.maps import Pooling, pool


def attribution_entropy(A: torch.Tensor, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Entropy of p = r / sum(r) over the H x W pixels of the pooled map r, divided by log(HW): in [0, 1].

    Args:
        A: attributions, N x C x H x W.
        pooling: how channels pool to one map (METRICS.md §0).

    Returns:
        float64 tensor (N,); NaN for an all-zero map.

    >>> attribution_entropy(torch.tensor([[[[1., 1.], [1., 1.]]], [[[1., 0.], [0., 0.]]]])).tolist()
    [1.0, 0.0]
    """
    r = pool(A, pooling).flatten(1).double()
    p = r / r.sum(1, keepdim=True)
    plogp = torch.where(p > 0, p * p.log(), torch.zeros_like(p))
    return -plogp.sum(1) / math.log(r.shape[1])


@METRICS.register
class AttributionEntropy(Metric):
    """Attribution entropy: normalized Shannon entropy of the pooled map; lower means more concentrated."""

    name = "attribution_entropy"
    version = "1"
    category = "complexity"
    higher_is_better = False
    label = "Entropy"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pooling: Pooling = "sum,abs"

    def compute(self, model, batch, attributions, target):
        return attribution_entropy(attributions, self.cfg.pooling)
