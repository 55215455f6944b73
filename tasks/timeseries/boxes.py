"""Synthetic time series of Ismail et al. (2020): noise with an informative box whose mean shift is the label.

Reference design (github.com/ayaabdelsalam91/TS-Interpretability-Benchmark, ``createSimulationDataProcesses``):
every value is noise; inside a box of features x time steps the label adds +1 (class 1) or -1 (class 0).
The placements are the paper's datasets: Middle, RareTime (few time steps, most features) and RareFeature
(few features, most time steps), each fixed (same box in every sample) or Moving (random start in both axes).
The paper uses 50 features x 50 steps; here 10 x 50 with the boxes scaled to the same proportions.
"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.ranges import NonNegativeFloat, PositiveInt, Range
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.sampling import split_rng

FEATURES, STEPS = 10, 50
# (features, steps) of the box and its fixed (feature, step) start; the paper's 30x30 at (10, 10),
# 40x6 at (5, 22) and 6x40 at (22, 5) of 50x50, scaled to 10 features.
BOXES = {
    "middle": ((6, 30), (2, 10)),
    "rare_time": ((8, 6), (1, 22)),
    "rare_feature": ((2, 40), (4, 5)),
}
Design = Literal["middle", "rare_time", "rare_feature", "moving_middle", "moving_rare_time", "moving_rare_feature"]


def _noise(rng: np.random.Generator, kind: str, shape: tuple[int, int, int], ar: float) -> np.ndarray:
    """Unit-variance noise: i.i.d. Gaussian, or a stationary AR(1) process along time."""
    eps = rng.normal(0.0, 1.0, shape)
    if kind == "gaussian":
        return eps
    out = np.empty(shape)
    out[..., 0] = eps[..., 0]
    scale = np.sqrt(1 - ar**2)  # keeps the variance at 1
    for t in range(1, shape[-1]):
        out[..., t] = ar * out[..., t - 1] + scale * eps[..., t]
    return out


@TASKS.register
class TimeSeriesBoxes(Task):
    """Ismail et al. 2020 synthetic series: 10 features x 50 steps of noise; a +/-1 shifted box (the mask) sets the label.

    ``design`` picks the box (Middle, RareTime, RareFeature of the paper) and whether it moves
    between samples; ``noise`` is the background process (``noise_std=0`` leaves only the shift).

    >>> batch = TimeSeriesBoxes({"design": "rare_time", "n_train": 4}).load("train")
    >>> batch.x.shape, batch.mask[0].sum().item()
    (torch.Size([4, 10, 50]), 48.0)
    """

    name = "ts_boxes"
    version = "1"
    meta = TaskMeta(modality="time_series", input_shape=(FEATURES, STEPS), num_classes=2, has_mask=True,
                    source="synthetic",
                    citation="Ismail, Gunady, Corrada Bravo, Feizi. Benchmarking Deep Learning Interpretability "
                             "in Time Series Predictions. NeurIPS 2020")
    budget = Budget(epochs=5, batch_size=64, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        design: Design = "middle"
        noise: Literal["gaussian", "autoregressive"] = "gaussian"
        ar: Annotated[float, Range(gt=-1, lt=1)] = 0.9  # AR(1) coefficient of the autoregressive noise
        noise_std: NonNegativeFloat = 1.0
        shift: float = 1.0  # class 1 adds +shift inside the box, class 0 adds -shift
        n_train: PositiveInt = 2000
        n_test: PositiveInt = 500

    def load(self, split: Split, seed: int = 0) -> Batch:
        cfg = self.cfg
        n = {"train": cfg.n_train, "test": cfg.n_test}[split]
        rng = split_rng(seed, split)
        y = np.arange(n) % 2
        rng.shuffle(y)
        moving = cfg.design.startswith("moving_")
        (height, width), (f0, t0) = BOXES[cfg.design.removeprefix("moving_")]
        f_start = rng.integers(0, FEATURES - height + 1, n) if moving else np.full(n, f0)
        t_start = rng.integers(0, STEPS - width + 1, n) if moving else np.full(n, t0)
        f, t = np.arange(FEATURES), np.arange(STEPS)
        in_f = (f >= f_start[:, None]) & (f < f_start[:, None] + height)
        in_t = (t >= t_start[:, None]) & (t < t_start[:, None] + width)
        mask = in_f[:, :, None] & in_t[:, None, :]
        # drawn last, so the labels and boxes do not depend on the noise settings
        noise = cfg.noise_std * _noise(rng, cfg.noise, (n, FEATURES, STEPS), cfg.ar)
        x = noise + mask * np.where(y == 1, cfg.shift, -cfg.shift)[:, None, None]
        return Batch(x=torch.from_numpy(x).float(), y=torch.from_numpy(y).long(),
                     mask=torch.from_numpy(mask).float())
