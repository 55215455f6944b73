"""`Budget`: the training budget, the same for every method on a task (Adam, fixed epochs)."""
from __future__ import annotations

import dataclasses

from xaibench.ranges import NonNegativeFloat, PositiveFloat, PositiveInt


@dataclasses.dataclass(frozen=True)
class Budget:
    """Epochs, batch size and Adam's learning rate and weight decay.

    >>> Budget(epochs=2).batch_size
    64
    """

    epochs: PositiveInt = 5
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
