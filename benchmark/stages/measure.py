"""Measured cost of a stage: wall time, CPU time, peak memory (machine- and load-dependent, unlike FLOP counts)."""
from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator

import torch

from xaibench.record import Cost


@contextlib.contextmanager
def measure(device: torch.device) -> Iterator[Cost]:
    """Wall time, process CPU time (all threads), and peak memory: CUDA's allocator peak on GPU, the process's peak
    RSS on the CPU; the yielded dict is filled in when the block ends.

    >>> with measure(torch.device("cpu")) as cost:
    ...     _ = sum(range(1000))
    >>> sorted(cost), cost["wall_time_s"] >= 0
    (['cpu_time_s', 'peak_memory_mb', 'wall_time_s'], True)
    """
    cost: Cost = {"wall_time_s": 0.0, "cpu_time_s": 0.0, "peak_memory_mb": 0.0}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start, cpu = time.perf_counter(), time.process_time()
    yield cost
    cost["wall_time_s"] = time.perf_counter() - start
    cost["cpu_time_s"] = time.process_time() - cpu
    cost["peak_memory_mb"] = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
