"""`Budget`: the training budget, the same for every method on a task (Adam, fixed epochs)."""
from __future__ import annotations

import dataclasses
from typing import Any, Literal

from xaibench.ranges import NonNegativeFloat, PositiveFloat, PositiveInt


@dataclasses.dataclass(frozen=True)
class Budget:
    """Epochs, batch size, Adam's learning rate and weight decay, and the training precision.

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

    def key(self) -> dict[str, Any]:
        """The budget as results are keyed by it. The default precision is left out, so the keys of stores written
        before the switch existed stay the same."""
        key = dataclasses.asdict(self)
        if key["precision"] == "fp32":
            del key["precision"]
        return key
