"""Faithfulness metrics: thin classes over ``xaibench.metrics.functional.faithfulness``. Spec: METRICS.md §1."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional import faithfulness as F
from xaibench.metrics.functional.maps import Pooling
from xaibench.metrics.functional.faithfulness import Start, Substrate
from xaibench.registries import METRICS


def _training_mean(model: nn.Module) -> torch.Tensor:
    # The model's Normalize layer holds the training mean in pixel space (models/base.py).
    norm = getattr(model, "normalization", None)
    if norm is None or not hasattr(norm, "mean"):
        raise ValueError("substrate='mean' needs Config.mean or a model with a normalization layer")
    return norm.mean


@METRICS.register
class DeletionAUC(Metric):
    """Deletion AUC (RISE): area under p_c as the most relevant pixels go to the substrate; lower is better.

    A model with constant output p scores p (here p = 1/2):

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> DeletionAUC({"n_steps": 4})(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.5, 0.5]
    """

    name = "deletion_auc"
    version = "1"
    category = "faithfulness"
    higher_is_better = False
    label = "Deletion AUC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_steps: int = 100
        substrate: Substrate = "zeros"
        mean: tuple[float, ...] | None = None  # per-channel pixel-space mean; None = the model's normalization mean
        pooling: Pooling = "sum,abs"
        eval_batch_size: int = 256
        tie_seed: int = 0

    def curves(self, model: nn.Module, batch: Batch, attributions: torch.Tensor,
               target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, curves): the grid t_k (n + 1) and p_c(x_k) per sample (N x (n + 1))."""
        c = self.cfg
        mean = c.mean if c.mean is not None or c.substrate != "mean" else _training_mean(model)
        return F.deletion_curve(model, batch.x, attributions, target, index=batch.index, n_steps=c.n_steps,
                                substrate=c.substrate, mean=mean, pooling=c.pooling,
                                eval_batch_size=c.eval_batch_size, tie_seed=c.tie_seed)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return F.auc(*self.curves(model, batch, attributions, target))


@METRICS.register
class InsertionAUC(Metric):
    """Insertion AUC (RISE): area under p_c as the most relevant pixels return into blur(x); higher is better.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)); _ = nn.init.zeros_(model[1].weight)
    >>> batch = Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    >>> InsertionAUC({"start": "zeros"})(model, batch, torch.rand(2, 1, 4, 4), batch.y).tolist()
    [0.5, 0.5]
    """

    name = "insertion_auc"
    version = "1"
    category = "faithfulness"
    higher_is_better = True
    label = "Insertion AUC"

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_steps: int = 100
        start: Start = "blur"
        pooling: Pooling = "sum,abs"
        eval_batch_size: int = 256
        tie_seed: int = 0

    def curves(self, model: nn.Module, batch: Batch, attributions: torch.Tensor,
               target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, curves): the grid t_k (n + 1) and p_c(x_k) per sample (N x (n + 1))."""
        c = self.cfg
        return F.insertion_curve(model, batch.x, attributions, target, index=batch.index, n_steps=c.n_steps,
                                 start=c.start, pooling=c.pooling, eval_batch_size=c.eval_batch_size,
                                 tie_seed=c.tie_seed)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return F.auc(*self.curves(model, batch, attributions, target))
