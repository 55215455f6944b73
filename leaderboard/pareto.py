"""The Pareto front of points scored on two criteria, each with its own direction."""
from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]], higher_x: bool = True, higher_y: bool = True) -> list[int]:
    """Indices of the points no other point dominates (as good on both criteria, better on one), by x.

    >>> pareto_front([(0.9, 0.3), (0.8, 0.2), (0.7, 0.5), (0.9, 0.4)], higher_x=True, higher_y=False)
    [1, 0]
    """
    sx, sy = (1 if higher_x else -1), (1 if higher_y else -1)
    signed = [(sx * x, sy * y) for x, y in points]  # both "higher is better" from here on

    def dominated(i: int) -> bool:
        return any(o[0] >= signed[i][0] and o[1] >= signed[i][1] and o != signed[i] for o in signed)

    return sorted((i for i in range(len(points)) if not dominated(i)), key=lambda i: (points[i][0], points[i][1]))
