"""`Budget`: the training budget, the same for every method on a task (Adam, fixed epochs)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Budget:
    """Epochs, batch size and Adam's learning rate and weight decay.

    >>> Budget(epochs=2).batch_size
    64
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
