"""xaibench: a benchmark of interpretability-oriented training methods, explainers and metrics.

The public names load on first use so that ``import xaibench`` stays fast (no torch import).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# OpenMP's wait policy must be set before torch loads libgomp: a short spin when other processes hold the cores
# (xaibench.openmp_wait says why). It changes no result.
from xaibench import openmp_wait as _openmp_wait  # noqa: E402

_openmp_wait.apply()

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
