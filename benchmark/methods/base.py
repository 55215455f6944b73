"""`TrainingMethod`: the plugin point. A method is a typed Config plus a loss (or its own fit)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.component import Component


@dataclasses.dataclass
class TrainingContext:
    """What the harness binds to ``method.ctx`` before training."""

    device: torch.device
    generator: torch.Generator  # the only source of randomness a method may use
    total_steps: int = 1
    step: int = 0
    cam_layer: str | None = None
    flint_layers: tuple[str, ...] = ()
    normalization: nn.Module | None = None

    @property
    def progress(self) -> float:
        return self.step / max(self.total_steps, 1)


class TrainingMethod(Component):
    """Base class of training methods.

    Subclasses set ``name``, ``version``, ``requires_mask``, ``cost`` and a frozen dataclass
    ``Config``, then override ``loss`` (the default ``fit`` back-propagates it) or ``fit``.

    >>> import dataclasses, torch.nn.functional as F
    >>> class LabelSmoothing(TrainingMethod):
    ...     "Cross-entropy with label smoothing."
    ...     name = "label_smoothing"
    ...     @dataclasses.dataclass(frozen=True)
    ...     class Config:
    ...         eps: float = 0.1
    ...     def loss(self, model, batch, step):
    ...         return F.cross_entropy(model(batch.x), batch.y, label_smoothing=self.cfg.eps)
    >>> LabelSmoothing({"eps": 0.2}).cfg.eps
    0.2
    """

    requires_mask: ClassVar[bool] = False
    # What trained models carry beyond a classifier (e.g. "flint": FLINT's networks); metrics and explainers
    # that require it are planned only for methods that provide it.
    provides: ClassVar[frozenset[str]] = frozenset()
    cost: ClassVar[str] = "1x ERM"

    def __init__(self, config: object | None = None):
        self.cfg = self.make_config(config)
        self.ctx: TrainingContext | None = None

    def prepare(self, model: nn.Module, x: torch.Tensor) -> None:
        """Add auxiliary networks to ``model.xaibench_aux`` (``x``: a few training inputs); the harness calls it
        on the freshly built model before training and before loading cached weights. Default: nothing."""

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must override loss() or fit()")

    def fit(self, model: nn.Module, train_data: Batch, budget: Budget) -> nn.Module:
        """Adam over ``budget.epochs`` epochs of shuffled minibatches, minimizing ``loss``."""
        ctx = self.ctx
        optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr, weight_decay=budget.weight_decay)
        steps_per_epoch = -(-len(train_data) // budget.batch_size)
        ctx.total_steps = budget.epochs * steps_per_epoch
        ctx.step = 0
        for _ in range(budget.epochs):
            for batch in train_data.minibatches(budget.batch_size, ctx.generator):
                model.train()
                loss = self.loss(model, batch.to(ctx.device), ctx.step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                ctx.step += 1
        return model
