"""Object present or not, at a random intensity on black: for the intensity-attribution correlation probe."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.ranges import Fraction, PositiveFloat, PositiveInt
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.sampling import split_rng
from xaibench.tasks.images.shapes import SHAPES, SIZE, _shape_masks


@TASKS.register
class Intensity(Task):
    """32x32 black images, half with one flat shape of intensity I ~ U(0.1, 1) (label 1 = present); mask = its pixels.

    The background is exactly 0 and the object exactly I, stored per sample in ``meta["intensity"]``
    (0 for negatives), so gradient x input attributions scale with I unless the explainer corrects for it.

    >>> batch = Intensity({"n_train": 4}).load("train", 0)
    >>> batch.y.tolist(), bool((batch.x.amax((1, 2, 3)) == batch.meta["intensity"]).all())
    ([0, 0, 1, 1], True)
    """

    name = "intensity"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, SIZE, SIZE), num_classes=2, has_mask=True, source="synthetic",
                    extras=("intensity",))
    budget = Budget(epochs=2, batch_size=64, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_train: PositiveInt = 2000
        n_test: PositiveInt = 500
        min_intensity: Fraction = 0.1
        max_intensity: Fraction = 1.0
        min_radius: PositiveFloat = 4.0
        max_radius: PositiveFloat = 9.0

    def load(self, split: Split, seed: int = 0) -> Batch:
        rng = split_rng(seed, split)
        n = self.cfg.n_train if split == "train" else self.cfg.n_test
        y = np.arange(n) % 2
        rng.shuffle(y)
        shape = rng.integers(0, len(SHAPES), n)
        r = rng.uniform(self.cfg.min_radius, self.cfg.max_radius, n)
        cy, cx = (rng.uniform(r + 1, SIZE - 2 - r) for _ in range(2))
        mask = _shape_masks(cy, cx, r)[shape, np.arange(n)] & (y == 1)[:, None, None]
        intensity = np.where(y == 1, rng.uniform(self.cfg.min_intensity, self.cfg.max_intensity, n), 0.0)
        x = (mask * intensity[:, None, None]).astype(np.float32)
        return Batch(x=torch.from_numpy(x[:, None]), y=torch.from_numpy(y).long(),
                     mask=torch.from_numpy(mask).float(),
                     meta={"intensity": torch.from_numpy(intensity.astype(np.float32))})
