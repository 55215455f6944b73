"""xaibench: a benchmark of interpretability-oriented training methods, explainers and metrics.

The public names load on first use so that ``import xaibench`` stays fast (no torch import).
"""
from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"

# OpenMP threads that wait for work spin briefly, then sleep: libgomp's default spins 300,000 times per wait. On a
# shared machine a spinning thread burns the core that another process needs and then waits for it. A trade-off,
# measured on 2 cores (SGT's training step on shapes): beside one CPU-bound process the short spin is 1.9x faster
# than the default; on a quiet machine it is 1.4x slower. This project's machines are shared, so the short spin is
# the default; on a dedicated machine set GOMP_SPINCOUNT=300000 (a value the user set wins). libgomp reads it once,
# when torch loads it, so it is set here, before any xaibench module imports torch. It changes no result.
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
