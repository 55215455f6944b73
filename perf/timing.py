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


def cnn_case(n: int, shape: tuple[int, ...], num_classes: int = 10):
    """The perf scripts' shared case, on one intra-op thread (ratios then measure overhead, not thread-pool
    contention): a seeded SmallCNN in eval mode, n random inputs, random attributions and the predicted classes."""
    import torch

    from xaibench.models.small_cnn import SmallCNN

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), shape, num_classes=num_classes).eval()
    x, A = torch.rand(n, *shape), torch.randn(n, *shape)
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, x, A, target
