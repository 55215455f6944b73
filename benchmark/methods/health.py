"""`HealthLog`: a training method's own diagnostics, averaged per epoch, with a warning when one leaves its sane
range (TRAINING_METHODS.md §0, "Health figures"). The harness stores ``record()`` under the training record's
``"health"`` key."""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import torch

log = logging.getLogger("xaibench.methods")


class HealthLog:
    """Per-epoch means of named figures; ``ranges`` maps a figure to its sane (low, high) bounds.

    ``add`` accumulates values during an epoch (per step or per pass), ``end_epoch`` closes the epoch: each
    figure gets its mean (``None`` in epochs where it was not recorded), and a mean outside its range, or a
    non-finite one, logs a warning naming the method, the figure and the epoch.

    >>> h = HealthLog("demo", {"ratio": (0.01, 100.0)})
    >>> h.add(ratio=1.0); h.add(ratio=3.0); h.end_epoch()
    >>> h.end_epoch()  # an epoch without values
    >>> h.add(ratio=1e4); h.end_epoch()
    >>> h.record()["per_epoch"], h.record()["warnings"]
    ({'ratio': [2.0, None, 10000.0]}, ["demo: health figure 'ratio' = 1e+04 in epoch 3 is outside its sane range [0.01, 100]"])
    """

    def __init__(self, method: str, ranges: Mapping[str, tuple[float, float]] | None = None):
        self.method, self.ranges = method, dict(ranges or {})
        self.per_epoch: dict[str, list[float | None]] = {}
        self.warnings: list[str] = []
        self.epochs = 0
        self._sums: dict[str, float | torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    def add(self, **figures: float | torch.Tensor) -> None:
        """Accumulate values; tensors stay on their device until the epoch closes (no host sync per step)."""
        for name, value in figures.items():
            value = value.detach() if isinstance(value, torch.Tensor) else float(value)
            self._sums[name] = self._sums.get(name, 0.0) + value
            self._counts[name] = self._counts.get(name, 0) + 1

    def end_epoch(self) -> None:
        self.epochs += 1
        for name in self._sums.keys() - self.per_epoch.keys():
            self.per_epoch[name] = [None] * (self.epochs - 1)
        for name, values in self.per_epoch.items():
            mean = float(self._sums[name]) / self._counts[name] if name in self._sums else None
            values.append(mean)
            if mean is not None:
                self._check(name, mean)
        self._sums, self._counts = {}, {}

    def _check(self, name: str, value: float) -> None:
        lo, hi = self.ranges.get(name, (-math.inf, math.inf))
        if math.isfinite(value) and lo <= value <= hi:
            return
        message = (f"{self.method}: health figure '{name}' = {value:.3g} in epoch {self.epochs} is outside its sane "
                   f"range [{lo:g}, {hi:g}]")
        self.warnings.append(message)
        log.warning(message)

    def record(self) -> dict[str, Any]:
        """``{"per_epoch": {figure: [mean per epoch]}, "ranges": ..., "warnings": [...]}``; JSON-ready."""
        return {"per_epoch": {k: list(v) for k, v in self.per_epoch.items()},
                "ranges": {k: list(v) for k, v in self.ranges.items() if k in self.per_epoch},
                "warnings": list(self.warnings)}
