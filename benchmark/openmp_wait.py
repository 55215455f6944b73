"""OpenMP's wait policy, chosen when xaibench loads (before torch loads libgomp, which reads it once).

libgomp's idle threads spin 300,000 times per wait before they sleep. On a quiet machine that is the fastest; on a
shared one a spinning thread burns the core another process needs and then waits for it (measured on 2 cores, SGT's
training beside one CPU-bound process: 1.9x slower than a short spin, with 3.4x the CPU time for a whole suite).
So the spin is kept short (GOMP_SPINCOUNT=2000) only when other processes are running on the cores torch would use,
at the moment xaibench loads. A value the user set wins. It changes no result, only speed.

>>> choose({"GOMP_SPINCOUNT": "300000"}, other_running=3, cores=2)
('300000', 'set by the user')
>>> choose({}, other_running=1, cores=2)
('2000', 'short spin: 1 other running process(es), 2 core(s)')
>>> choose({}, other_running=0, cores=2)
(None, "libgomp's default: 0 other running process(es), 2 core(s)")
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

SHORT_SPIN = "2000"
decision = "not chosen yet"  # what `apply` chose and why: recorded in every record's machine info


def other_running(reads: int = 5, gap_s: float = 0.002, stat_file: str = "/proc/stat") -> int | None:
    """Runnable threads of other processes: the least of a few reads of /proc/stat's ``procs_running`` (which counts
    the reader itself), so that a process that runs for a moment is not counted; None where there is no /proc."""
    counts = []
    try:
        for _ in range(reads):
            with open(stat_file) as stat:
                counts += [int(line.split()[1]) for line in stat if line.startswith("procs_running")]
            time.sleep(gap_s)
    except (OSError, ValueError, IndexError):
        return None
    return max(min(counts) - 1, 0) if counts else None


def choose(env: Mapping[str, str], other_running: int | None, cores: int) -> tuple[str | None, str]:
    """The GOMP_SPINCOUNT to set (None: leave libgomp's default) and why. Short when the other running processes
    and torch's threads (OMP_NUM_THREADS, else one per core) would not fit on the cores."""
    if "GOMP_SPINCOUNT" in env or "OMP_WAIT_POLICY" in env:
        return env.get("GOMP_SPINCOUNT"), "set by the user"
    seen = f"{other_running} other running process(es), {cores} core(s)"
    if other_running is None:
        return None, "libgomp's default: no /proc/stat to see the other processes"
    threads = int(env.get("OMP_NUM_THREADS", "0") or 0) or cores
    if other_running + threads > cores:
        return SHORT_SPIN, f"short spin: {seen}"
    return None, f"libgomp's default: {seen}"


def apply() -> None:
    """Set GOMP_SPINCOUNT for this process (and the processes it starts) per ``choose``."""
    global decision
    if "torch" in sys.modules:  # libgomp is loaded and has read its settings
        decision = f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')} (torch was imported before xaibench)"
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    value, why = choose(os.environ, other_running(), cores)
    if value is not None:
        os.environ["GOMP_SPINCOUNT"] = value
    decision = f"GOMP_SPINCOUNT={value or 'unset'} ({why})"
