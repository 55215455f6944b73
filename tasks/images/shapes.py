"""Synthetic shapes: the class is which shape is drawn; the ground-truth mask is its pixels."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.ranges import PositiveFloat, PositiveInt
from xaibench.registries import TASKS
from xaibench.budget import Budget
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.images.textures import gratings

SHAPES = ("disk", "square", "triangle", "cross")
SIZE = 32


def _shape_masks(cy: np.ndarray, cx: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean masks (len(SHAPES), N, SIZE, SIZE) of every shape for every sample's centre and radius."""
    grid = np.arange(SIZE, dtype=np.float64)
    dy = grid[None, :, None] - cy[:, None, None]
    dx = grid[None, None, :] - cx[:, None, None]
    r = r[:, None, None]
    ady, adx = np.abs(dy), np.abs(dx)
    disk = dy**2 + dx**2 <= r**2
    square = np.maximum(ady, adx) <= 0.8 * r
    # apex at the top, base below the centre; the half-width grows linearly to r at the base
    triangle = (dy >= -r) & (dy <= 0.8 * r) & (adx <= (dy + r) / 1.8)
    bar = r / 3
    cross = ((adx <= bar) & (ady <= r)) | ((ady <= bar) & (adx <= r))
    return np.stack([disk, square, triangle, cross])


@TASKS.register
class Shapes(Task):
    """32x32 grey shapes (disk, square, triangle, cross) at random position and scale on noisy texture; mask = shape pixels."""

    name = "shapes"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, SIZE, SIZE), num_classes=len(SHAPES), has_mask=True,
                    source="synthetic")
    budget = Budget(epochs=6, batch_size=64, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_train: PositiveInt = 4000
        n_test: PositiveInt = 1000
        min_radius: PositiveFloat = 4.0
        max_radius: PositiveFloat = 9.0

    def load(self, split: Split, seed: int = 0) -> Batch:
        n = {"train": self.cfg.n_train, "test": self.cfg.n_test}[split]
        rng = np.random.default_rng([seed, 0 if split == "train" else 1])
        y = np.arange(n) % len(SHAPES)
        rng.shuffle(y)
        r = rng.uniform(self.cfg.min_radius, self.cfg.max_radius, n)
        margin = r + 1
        cy = rng.uniform(margin, SIZE - 1 - margin)
        cx = rng.uniform(margin, SIZE - 1 - margin)
        mask = _shape_masks(cy, cx, r)[y, np.arange(n)]
        intensity = rng.uniform(0.65, 1.0, n)[:, None, None]
        x = np.where(mask, intensity + rng.normal(0, 0.05, mask.shape), gratings(rng, n, SIZE))
        x = np.clip(x, 0.0, 1.0)
        return Batch(
            x=torch.from_numpy(x[:, None]).float(),
            y=torch.from_numpy(y).long(),
            mask=torch.from_numpy(mask).float(),
        )
