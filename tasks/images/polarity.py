"""The shapes scenes in two polarities, for the polarity-inversion input-bias probe."""
from __future__ import annotations

import dataclasses
from typing import Literal

from xaibench.batch import Batch
from xaibench.registries import TASKS
from xaibench.tasks.base import Split
from xaibench.tasks.images.shapes import Shapes


@TASKS.register
class ShapesPolarity(Shapes):
    """The shapes scenes drawn bright-on-dark or dark-on-bright (x_dark = 1 - x_bright, same mask and labels).

    ``polarity="bright"`` is exactly the ``shapes`` task; for the same config and seed, sample i of the two
    polarities is the same scene, so an explainer's input bias shows as a change of explanation.

    >>> bright = ShapesPolarity({"n_train": 8, "polarity": "bright"}).load("train", 0)
    >>> dark = ShapesPolarity({"n_train": 8, "polarity": "dark"}).load("train", 0)
    >>> bool((dark.x == 1 - bright.x).all()), bool((dark.mask == bright.mask).all())
    (True, True)
    """

    name = "shapes_polarity"
    version = "1"

    @dataclasses.dataclass(frozen=True)
    class Config(Shapes.Config):
        polarity: Literal["bright", "dark"] = "bright"

    def load(self, split: Split, seed: int = 0) -> Batch:
        batch = super().load(split, seed)
        if self.cfg.polarity == "bright":
            return batch
        return dataclasses.replace(batch, x=1 - batch.x)
