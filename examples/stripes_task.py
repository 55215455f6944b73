"""A complete task plugin in one file: horizontal or vertical stripes on noise; the mask is the stripe.

`load(split, seed)` returns the whole split as one Batch, the same for the same (config, split, seed): all
randomness comes from ``split_rng(seed, split)``. Check it with ``xaibench.testing.check_task``.
"""
from __future__ import annotations

import dataclasses

import torch

from xaibench import TASKS, Batch, Budget, Task, TaskMeta
from xaibench.ranges import PositiveInt
from xaibench.tasks.sampling import split_rng

SIZE = 16


@TASKS.register
class Stripes(Task):
    """Stripes: 16x16 grey images, class 0 a horizontal and class 1 a vertical bright stripe at a random place."""

    name = "stripes"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, SIZE, SIZE), num_classes=2, has_mask=True, source="synthetic")
    budget = Budget(epochs=3, batch_size=32, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_train: PositiveInt = 512
        n_test: PositiveInt = 128

    def load(self, split, seed=0):
        n = self.cfg.n_train if split == "train" else self.cfg.n_test
        rng = split_rng(seed, split)
        y = torch.from_numpy(rng.integers(0, 2, n))
        where = torch.from_numpy(rng.integers(2, SIZE - 3, n))
        grid = torch.arange(SIZE)
        rows = (grid[None, :, None] - where[:, None, None]).abs() <= 1  # N x H x 1
        mask = torch.where(y[:, None, None] == 0, rows.expand(n, SIZE, SIZE), rows.transpose(1, 2).expand(n, SIZE, SIZE))
        noise = torch.from_numpy(rng.uniform(0.0, 0.4, (n, 1, SIZE, SIZE))).float()
        x = torch.where(mask[:, None], torch.tensor(0.9), noise)
        return Batch(x, y, mask.float(), index=torch.arange(n))
