"""`TrainingMethod`: the plugin point. A method is a typed Config plus a loss (or its own fit)."""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Hashable
from typing import ClassVar

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.component import Component
from xaibench.flops import FlopCounter
from xaibench.methods.health import HealthLog


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
    flops: int = 0  # training FLOPs so far, forward and backward, every pass of the method (xaibench.flops)
    flop_cache: dict[Hashable, int] = dataclasses.field(default_factory=dict)  # step_key -> one step's FLOPs
    precision: str = "fp32"  # the budget's: "bf16" runs each step's forward passes under bfloat16 autocast
    shortcut_mask: str | None = None  # the task's Batch.meta key of what must not be used (TaskMeta.shortcut_mask)
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # the budget's lr schedule; train_step steps it

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
    # Sane (low, high) bounds of the health figures a method records (health.py); a mean outside warns.
    health_ranges: ClassVar[dict[str, tuple[float, float]]] = {}

    def __init__(self, config: object | None = None):
        self.cfg = self.make_config(config)
        self.ctx: TrainingContext | None = None
        self.health = HealthLog(self.name, self.health_ranges)

    def start_health(self) -> HealthLog:
        """A fresh health log (each fit starts one); the harness stores ``self.health.record()``."""
        self.health = HealthLog(self.name, self.health_ranges)
        return self.health

    def epoch_end(self, model: nn.Module, train_data: Batch) -> None:
        """Called after each epoch of the training loop, before the health log closes the epoch: a place for
        diagnostics on the model (they must leave weights, modes and random state alone). Default: nothing."""

    def prepare(self, model: nn.Module, x: torch.Tensor) -> None:
        """Add auxiliary networks to ``model.xaibench_aux`` (``x``: a few training inputs); the harness calls it
        on the freshly built model before training and before loading cached weights. Default: nothing."""

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must override loss() or fit()")

    def fit(self, model: nn.Module, train_data: Batch, budget: Budget) -> nn.Module:
        """Adam over ``budget.epochs`` epochs of shuffled minibatches, minimizing ``loss``, the lr on the budget's
        schedule."""
        ctx = self.ctx
        ctx.total_steps = budget.epochs * -(-len(train_data) // budget.batch_size)
        optimizer, ctx.scheduler = budget.optimizer(model.parameters(), ctx.total_steps)
        ctx.step = 0
        self.start_health()
        for _ in range(budget.epochs):
            for batch in train_data.minibatches(budget.batch_size, ctx.generator):
                model.train()
                self.train_step(model, batch.to(ctx.device), optimizer)
            self.epoch_end(model, train_data)
            self.health.end_epoch()
        return model

    def step_key(self, model: nn.Module, batch: Batch, step: int) -> Hashable | None:
        """Everything that decides the FLOPs of step ``step``: steps with one key do the same work, so it is
        counted once and reused. Default: the method and the batch's shape (the last batch may be smaller), or
        None (count this step) on an architecture whose work depends on the data (``flops_depend_on_data``).
        A method whose per-step work changes otherwise (a pass every few epochs) adds that to the key."""
        if getattr(model, "flops_depend_on_data", False):
            return None
        return type(self), tuple(batch.x.shape)

    def train_step(self, model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer) -> None:
        """One optimizer step (``loss``, backward, update, then the lr schedule's step); its FLOPs, with every extra
        pass ``loss`` makes, are added to ``ctx.flops``. A method with its own ``fit`` calls this for each step so
        that its cost is counted."""
        ctx = self.ctx
        key = self.step_key(model, batch, ctx.step)
        known = key is not None and key in ctx.flop_cache
        autocast = torch.autocast(batch.x.device.type, torch.bfloat16, enabled=ctx.precision == "bf16")
        with contextlib.nullcontext() if known else FlopCounter() as counter:
            with autocast:
                loss = self.loss(model, batch, ctx.step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if ctx.scheduler is not None:
            ctx.scheduler.step()
        flops = ctx.flop_cache[key] if known else counter.total
        if key is not None:
            ctx.flop_cache[key] = flops
        ctx.flops += flops
        ctx.step += 1
