"""The typed `Registry` and the five registries: tasks, architectures, methods, explainers, metrics.

Built-ins register themselves with the decorator when their module is imported; a registry imports the modules
of its built-in packages on first lookup, so `import xaibench` stays fast (no torch). Plugins come from entry
points (group ``xaibench.<kind>s``), from ``"module:attr"`` strings, or from files. Every entry is checked
against the registry's base class when it is added. Set ``XAIBENCH_NO_PLUGINS=1`` to skip entry points.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import ConfigError, UnknownNameError, did_you_mean

T = TypeVar("T")

NO_PLUGINS_ENV = "XAIBENCH_NO_PLUGINS"

if TYPE_CHECKING:
    from xaibench.methods.base import TrainingMethod
    from xaibench.metrics.base import Metric
    from xaibench.metrics.explainers.base import Explainer
    from xaibench.models.base import Architecture
    from xaibench.tasks.base import Task


def import_object(path: str) -> object:
    """Import ``"package.module:attr"``."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ConfigError(f"'{path}' is not of the form 'module:attr'")
    return getattr(importlib.import_module(module_name), attr)


def import_submodules(package: str) -> None:
    """Import every module directly inside ``package`` (their decorators register them)."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


class Registry(Generic[T]):
    """Names to components of one kind; with ``base`` (a class or its ``"module:attr"``, imported when the first
    entry is added) every entry must be a subclass of it.

    >>> r = Registry("widget", base="numbers:Number")
    >>> @r.register("knob")
    ... class Knob(int): ...
    >>> r.get("knob") is Knob
    True
    >>> r.get("nob")
    Traceback (most recent call last):
    ...
    xaibench.errors.UnknownNameError: unknown widget 'nob'; did you mean 'knob'?
    >>> r.add("dial", str)
    Traceback (most recent call last):
    ...
    xaibench.errors.ConfigError: widget 'dial': builtins.str is not a subclass of numbers.Number
    """

    def __init__(self, kind: str, builtin_packages: tuple[str, ...] = (), group: str | None = None,
                 base: type | str | None = None):
        self.kind = kind
        self.group = group
        self._base = base
        self._builtin_packages = builtin_packages
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._prefixes: dict[str, Callable[[str], T]] = {}
        self._loaded = False

    def register(self, name: str | type | None = None) -> Callable[[T], T]:
        """Decorator: ``@registry.register("name")``, or bare ``@registry.register`` to use ``obj.name``."""
        if isinstance(name, type):  # bare decorator
            return self.register()(name)

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "name", None)
            if not key:
                raise ConfigError(f"{self.kind} {obj!r} has no name: pass one to register()")
            self.add(key, obj)
            return obj

        return decorator

    @property
    def base(self) -> type | None:
        """The class every entry must subclass (None: anything goes)."""
        if isinstance(self._base, str):
            self._base = import_object(self._base)
        return self._base

    def add(self, name: str, obj: T) -> None:
        base = self.base
        if base is not None and not (isinstance(obj, type) and issubclass(obj, base)):
            what = _qualname(obj) if isinstance(obj, type) else f"{obj!r} (not a class)"
            raise ConfigError(f"{self.kind} '{name}': {what} is not a subclass of {_qualname(base)}")
        old = self._entries.get(name)
        if old is not None and old is not obj and _qualname(old) != _qualname(obj):
            raise ConfigError(f"{self.kind} '{name}' is registered twice: {_qualname(old)} and {_qualname(obj)}")
        self._lazy.pop(name, None)
        self._entries[name] = obj

    def add_lazy(self, name: str, path: str) -> None:
        """Register ``"module:attr"``, imported when first asked for."""
        if name in self._entries or (name in self._lazy and self._lazy[name] != path):
            raise ConfigError(f"{self.kind} '{name}' is registered twice (lazy entry {path})")
        self._lazy[name] = path

    def add_prefix(self, prefix: str, make: Callable[[str], T]) -> None:
        """Names ``prefix + rest`` are made on first use by ``make(rest)`` (which raises UnknownNameError for a
        rest it does not know), e.g. ``quantus.<MetricClass>``."""
        self._prefixes[prefix] = make

    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        for prefix, make in self._prefixes.items():
            if name.startswith(prefix):
                obj = make(name[len(prefix):])
                self.add(name, obj)
                return obj
        if name in self._lazy:
            path = self._lazy.pop(name)
            try:
                obj = import_object(path)
            except Exception as err:
                self._lazy[name] = path
                raise ConfigError(f"{self.kind} '{name}' could not be imported from {path}: {err}") from err
            self.add(name, obj)  # the import may already have registered it through the decorator
            return obj
        raise UnknownNameError(f"unknown {self.kind} '{name}'{did_you_mean(name, self.names())}")

    def names(self) -> list[str]:
        self._load()
        return sorted({*self._entries, *self._lazy})

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for package in self._builtin_packages:
            import_submodules(package)
        if self.group and os.environ.get(NO_PLUGINS_ENV, "") in ("", "0"):
            for ep in entry_points(group=self.group):
                if ep.name not in self._entries:
                    self.add_lazy(ep.name, ep.value)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


TASKS: Registry[Task] = Registry(
    "task", ("xaibench.tasks.images", "xaibench.tasks.timeseries", "xaibench.tasks.text"), "xaibench.tasks",
    "xaibench.tasks.base:Task")
ARCHITECTURES: Registry[Architecture] = Registry(
    "architecture", ("xaibench.models",), "xaibench.architectures", "xaibench.models.base:Architecture")
METHODS: Registry[TrainingMethod] = Registry(
    "method", ("xaibench.methods",), "xaibench.methods", "xaibench.methods.base:TrainingMethod")
EXPLAINERS: Registry[Explainer] = Registry(
    "explainer", ("xaibench.metrics.explainers",), "xaibench.explainers", "xaibench.metrics.explainers.base:Explainer")
METRICS: Registry[Metric] = Registry("metric", ("xaibench.metrics",), "xaibench.metrics", "xaibench.metrics.base:Metric")

REGISTRIES: dict[str, Registry] = {
    "tasks": TASKS,
    "architectures": ARCHITECTURES,
    "methods": METHODS,
    "explainers": EXPLAINERS,
    "metrics": METRICS,
}
