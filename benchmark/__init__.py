"""xaibench: a benchmark of interpretability-oriented training methods, explainers and metrics.

The public names load on first use so that ``import xaibench`` stays fast (no torch import).
"""
from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

# OpenMP threads that wait for work sleep instead of spinning (libgomp's default spins for a while). On a shared
# machine a spinning thread burns the core another process needs and then waits for it: measured on 2 cores beside
# other jobs, a small CNN's training took 10x the CPU time and 15x the wall time with spinning. libgomp reads this
# once, when torch loads it, so it is set here, before any xaibench module imports torch; it changes no value.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_PUBLIC = {
    "Batch": "xaibench.batch",
    "Budget": "xaibench.budget",
    "Registry": "xaibench.registries",
    "TASKS": "xaibench.registries",
    "ARCHITECTURES": "xaibench.registries",
    "METHODS": "xaibench.registries",
    "EXPLAINERS": "xaibench.registries",
    "METRICS": "xaibench.registries",
    "Task": "xaibench.tasks.base",
    "TaskMeta": "xaibench.tasks.base",
    "Architecture": "xaibench.models.base",
    "TrainingMethod": "xaibench.methods.base",
    "Explainer": "xaibench.metrics.explainers.base",
    "Metric": "xaibench.metrics.base",
    "ConfigError": "xaibench.errors",
    "XaibenchError": "xaibench.errors",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'xaibench' has no attribute '{name}'")
