"""Learning-rate schedules of a `Budget`: the factor on the budget's lr at each optimizer step, in closed form.

``constant`` is 1 throughout (and builds no scheduler, so the default loop is the one before schedules existed).
``cosine`` warms up linearly over the first ``COSINE_WARMUP`` of the steps, then decays along a half cosine to 0.
``one_cycle`` is torch's `OneCycleLR` with ``cycle_momentum=False`` (Smith & Topin, 2019): from lr/25, a half
cosine up to lr over the first 30% of the steps, then down to lr/25/1e4 at the last step.

>>> [round(lr_factor("cosine", t, 100), 3) for t in (0, 4, 5, 52, 99)]
[0.2, 1.0, 1.0, 0.508, 0.0]
"""
from __future__ import annotations

import math
from typing import Literal

import torch

Schedule = Literal["constant", "cosine", "one_cycle"]
COSINE_WARMUP = 0.05  # fraction of the steps
ONE_CYCLE = {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4}  # torch's OneCycleLR defaults


def _cos(start: float, end: float, pct: float) -> float:
    """A half cosine from ``start`` (pct 0) to ``end`` (pct 1), as torch's OneCycleLR anneals."""
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


def lr_factor(schedule: Schedule, step: int, total_steps: int) -> float:
    """The factor on the peak lr at optimizer step ``step`` (0-based) of ``total_steps``."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        warmup = max(1, round(COSINE_WARMUP * total_steps))
        if step < warmup:
            return (step + 1) / warmup
        return _cos(1.0, 0.0, (step - warmup) / max(total_steps - warmup, 1))
    if schedule == "one_cycle":
        start = 1 / ONE_CYCLE["div_factor"]
        up_end, end = ONE_CYCLE["pct_start"] * total_steps - 1, total_steps - 1
        if step <= up_end:
            return _cos(start, 1.0, step / up_end)
        return _cos(1.0, start / ONE_CYCLE["final_div_factor"], (step - up_end) / max(end - up_end, 1e-12))
    raise ValueError(f"unknown schedule {schedule!r}")


def scheduler(schedule: Schedule, optimizer: torch.optim.Optimizer,
              total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-step scheduler of ``optimizer`` (step it after each optimizer step), or None for ``constant``."""
    if schedule == "constant":
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(schedule, step, total_steps))
