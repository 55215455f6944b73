"""A small typed registry per kind of component (tasks, architectures, methods, explainers, metrics).

Built-ins register themselves with the decorator when their module is imported; the registry
imports the modules of its built-in packages on first lookup, so `import xaibench` stays fast. Plugins come from
entry points (group ``xaibench.<kind>s``), from ``"module:attr"`` strings, or from files.
Set ``XAIBENCH_NO_PLUGINS=1`` to skip entry points.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from .errors import ConfigError, UnknownNameError, did_you_mean

T = TypeVar("T")

NO_PLUGINS_ENV = "XAIBENCH_NO_PLUGINS"


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
    """Names to components of one kind.

    >>> r = Registry("widget")
    >>> @r.register("knob")
    ... class Knob: ...
    >>> r.get("knob") is Knob
    True
    >>> r.get("nob")
    Traceback (most recent call last):
    ...
    xaibench.errors.UnknownNameError: unknown widget 'nob'; did you mean 'knob'?
    """

    def __init__(self, kind: str, builtin_packages: tuple[str, ...] = (), group: str | None = None):
        self.kind = kind
        self.group = group
        self._builtin_packages = builtin_packages
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
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

    def add(self, name: str, obj: T) -> None:
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

    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
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
