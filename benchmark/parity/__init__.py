"""Reference parity: every explainer and metric against its reference on small seeded inputs.

Each `Comparison` runs one of our components and its reference (captum, quantus, scikit-learn, a transcription of
code that cannot be a dependency in `xaibench.parity.transcribed`, or a closed form) on the same inputs and returns
the maximum absolute difference. tests/test_parity.py asserts each within its tolerance; ``python docs/parity.py``
writes docs/PARITY.md from the same list, so the report and the tests cannot drift apart.

>>> rows = [c for c in comparisons() if c.name == "constant"]
>>> rows[0].reference, rows[0].run()
('closed form: A = 1', 0.0)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import nn

Kind = Literal["explainer", "metric"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One row of docs/PARITY.md: ``run()`` returns max |ours − reference|; ``run=None`` means no reference."""

    kind: Kind
    name: str  # registry name
    reference: str
    setting: str
    tolerance: float
    run: Callable[[], float] | None
    deviation: str = ""  # "deliberate difference: why", when there is one

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}:{self.setting}"


_COMPARISONS: list[Comparison] = []


def comparison(kind: Kind, name: str, reference: str, setting: str, tolerance: float = 1e-6,
               deviation: str = "") -> Callable[[Callable[[], float]], Callable[[], float]]:
    """Register the decorated zero-argument function as the comparison of ``name``."""
    def register(fn: Callable[[], float]) -> Callable[[], float]:
        _COMPARISONS.append(Comparison(kind, name, reference, setting, tolerance, fn, deviation))
        return fn
    return register


def no_reference(kind: Kind, name: str, why: str) -> None:
    """Register a component that has no reference implementation to compare with, and why."""
    _COMPARISONS.append(Comparison(kind, name, "no reference", "–", float("nan"), None, why))


def comparisons() -> list[Comparison]:
    """Every registered comparison, explainers first, in registration order."""
    from xaibench.parity import explainers, metrics  # noqa: F401  (they register on import)

    return sorted(_COMPARISONS, key=lambda c: c.kind)


def max_abs_diff(ours: object, theirs: object) -> float:
    """max |ours − theirs| over every entry, in float64 (NaN where both are NaN counts as equal)."""
    a = torch.as_tensor(np.asarray(ours, dtype=np.float64)).flatten()  # lists of floats: float64, not float32
    b = torch.as_tensor(np.asarray(theirs, dtype=np.float64)).flatten()
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    both_nan = a.isnan() & b.isnan()
    return (a - b).abs().masked_fill(both_nan, 0).max().item() if len(a) else 0.0


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def small_cnn(channels: int = 2, size: int = 16, classes: int = 3, seed: int = 0,
              width: int = 4) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The registered small_cnn (width 4, normalization mean 0.3, std 0.5), 3 seeded inputs and their targets."""
    from xaibench.models.small_cnn import SmallCNN

    torch.manual_seed(seed)
    model = SmallCNN(SmallCNN.Config(width=width), (channels, size, size), num_classes=classes,
                     mean=[0.3] * channels, std=[0.5] * channels).eval()
    x = torch.rand(3, channels, size, size, generator=gen(seed + 100))
    return model, x, torch.tensor([2, 0, 1]) % classes


class MLPHeadCNN(nn.Module):
    """Normalize → conv-ReLU → max-pool → conv-ReLU (the cam_layer, 8×8 at 16 px) → flatten → MLP head."""

    cam_layer = "features"

    def __init__(self, channels: int = 1, size: int = 16, classes: int = 3):
        from xaibench.models.base import Normalize

        super().__init__()
        self.normalization = Normalize([0.3] * channels, [0.5] * channels)
        self.features = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * (size // 2) ** 2, 32), nn.ReLU(), nn.Linear(32, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.normalization(x)))


def mlp_head_cnn(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    return MLPHeadCNN().eval(), torch.rand(3, 1, 16, 16, generator=gen(seed + 100)), torch.tensor([2, 0, 1])
