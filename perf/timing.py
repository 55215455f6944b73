"""The one timing rule of the perf scripts: best of ``repeats``, the functions interleaved so background load
on a shared machine hits all of them alike (ratios measured in one run stay meaningful)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable


def best_times(*fns: Callable[[], object], repeats: int = 3, warmup: bool = True) -> list[float]:
    """Best-of-``repeats`` wall time of each function, after one untimed call of each if ``warmup``."""
    if warmup:
        for fn in fns:
            fn()
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for j, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[j] = min(best[j], time.perf_counter() - start)
    return best
