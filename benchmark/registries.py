"""The five registries. Built-ins live in the named packages; plugins in the entry-point groups."""
from __future__ import annotations

from typing import Any

from .registry import Registry

TASKS: Registry[Any] = Registry(
    "task", ("xaibench.tasks.images", "xaibench.tasks.timeseries", "xaibench.tasks.text"), "xaibench.tasks")
ARCHITECTURES: Registry[Any] = Registry("architecture", ("xaibench.models",), "xaibench.architectures")
METHODS: Registry[Any] = Registry("method", ("xaibench.methods",), "xaibench.methods")
EXPLAINERS: Registry[Any] = Registry("explainer", ("xaibench.metrics.explainers",), "xaibench.explainers")
METRICS: Registry[Any] = Registry("metric", ("xaibench.metrics",), "xaibench.metrics")

REGISTRIES: dict[str, Registry[Any]] = {
    "tasks": TASKS,
    "architectures": ARCHITECTURES,
    "methods": METHODS,
    "explainers": EXPLAINERS,
    "metrics": METRICS,
}
