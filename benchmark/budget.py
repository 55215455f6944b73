"""`Budget`: the training budget, the same for every method on a task (Adam, fixed epochs)."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Literal

import torch

from xaibench.ranges import NonNegativeFloat, PositiveFloat, PositiveInt
from xaibench.schedule import Schedule, scheduler


@dataclasses.dataclass(frozen=True)
class Budget:
    """Epochs, batch size, Adam's learning rate, its schedule and weight decay, and the training precision.

    ``schedule`` sets the lr per optimizer step (`xaibench.schedule`): ``constant`` (the default), ``cosine``
    (5% linear warm-up, then a half cosine to 0) or ``one_cycle`` (torch's OneCycleLR); ``lr`` is the peak.

    ``precision: bf16`` runs every training forward pass under bfloat16 autocast (for GPUs; it changes the
    weights, so it is part of the result key); ``fp32``, the default, trains in float32.

    >>> Budget(epochs=2).batch_size, Budget().key() == {"epochs": 5, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.0}
    (64, True)
    """

    epochs: PositiveInt = 5
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    precision: Literal["fp32", "bf16"] = "fp32"
    schedule: Schedule = "constant"

    def key(self) -> dict[str, Any]:
        """The budget as results are keyed by it. Fields added later are left out at their defaults, so the keys
        of stores written before they existed stay the same."""
        key = dataclasses.asdict(self)
        for name, default in LATER_FIELDS.items():
            if key[name] == default:
                del key[name]
        return key

    def optimizer(self, params: Iterable[torch.nn.Parameter],
                  total_steps: int) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LRScheduler | None]:
        """Adam at the budget's lr and weight decay, and its per-step lr scheduler (None when ``constant``)."""
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return optimizer, scheduler(self.schedule, optimizer, total_steps)


LATER_FIELDS = {"precision": "fp32", "schedule": "constant"}  # not in the key at these values
