"""Empirical risk minimization: the baseline every method is compared with."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.base import TrainingMethod
from xaibench.methods.interp_grad import probe_guided_distance
from xaibench.registries import METHODS


@METHODS.register
class ERM(TrainingMethod):
    """Empirical risk minimization: plain cross-entropy on the same budget and seeds.

    >>> ERM().cost
    '1x ERM'
    """

    name = "erm"
    version = "1"

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        return F.cross_entropy(model(batch.x), batch.y)

    def epoch_end(self, model: nn.Module, train_data: Batch) -> None:
        # interp_grad's figure on ERM's model, for comparison; weights and random state stay as they were
        self.health.add(guided_cos_distance=probe_guided_distance(model, train_data))
