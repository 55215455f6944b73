"""xaibench: a benchmark of interpretability-oriented training methods, explainers and metrics.

The public names load on first use so that ``import xaibench`` stays fast (no torch import).
"""
from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

# OpenMP threads that wait for work spin briefly, then sleep: libgomp's default spins 300,000 times per wait. On a
# shared machine a spinning thread burns the core that another process needs and then waits for it. Measured on 2
# cores: under heavy load from other jobs a small CNN's training took up to 15x the wall time with the default
# spin; beside one CPU-bound process 1.1x (perf/openmp_wait.py); on a quiet machine the short spin is within 5% of
# the default. libgomp reads this once, when torch loads it, so it is set here, before any xaibench module imports
# torch; a value the user set wins. It changes no result.
os.environ.setdefault("GOMP_SPINCOUNT", "2000")

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
