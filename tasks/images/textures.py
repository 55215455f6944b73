"""Background textures for synthetic image tasks: one function per family, ``(rng, n, size) -> N x size x size``."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Texture = Callable[[np.random.Generator, int, int], np.ndarray]


def gratings(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Smooth random gratings (three oriented sinusoids) plus pixel noise, in about [0, 0.5].

    >>> gratings(np.random.default_rng(0), 2, 8).shape
    (2, 8, 8)
    """
    grid = np.arange(size, dtype=np.float64)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    field = np.zeros((n, size, size))
    for _ in range(3):
        freq = rng.uniform(0.15, 0.6, n)[:, None, None]
        theta = rng.uniform(0, np.pi, n)[:, None, None]
        phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
        field += np.sin(freq * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)
    field = (field / 3 + 1) / 2  # [0, 1]
    level = rng.uniform(0.1, 0.4, n)[:, None, None]
    return level * field + rng.normal(0, 0.05, (n, size, size))


def checkers(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Checkerboards (random cell size 2-6 px, offset and two grey levels) plus pixel noise, in about [0, 0.5].

    Sharp edges and no orientation spread: a different family from `gratings`, for background shifts.

    >>> checkers(np.random.default_rng(0), 2, 8).shape
    (2, 8, 8)
    """
    grid = np.arange(size)
    cell = rng.integers(2, 7, n)[:, None, None]
    oy, ox = (rng.integers(0, 6, n)[:, None, None] for _ in range(2))
    parity = (((grid[None, :, None] + oy) // cell + (grid[None, None, :] + ox) // cell) % 2).astype(np.float64)
    low = rng.uniform(0.0, 0.2, n)[:, None, None]
    high = rng.uniform(0.25, 0.45, n)[:, None, None]
    return low + (high - low) * parity + rng.normal(0, 0.05, (n, size, size))


TEXTURES: dict[str, Texture] = {"gratings": gratings, "checkers": checkers}
