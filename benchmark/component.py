"""What every named component shares: metadata as class variables and a typed ``Config``."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from .errors import ConfigError, did_you_mean
from .ranges import Range, check_finite


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """Config of a component without parameters."""


class Component:
    """Base of tasks, architectures, training methods, explainers and metrics.

    Subclasses set ``name`` and ``version`` and may declare a frozen dataclass ``Config``;
    ``parse_config`` turns a params dict from a suite into it, rejecting unknown keys, wrong types and values
    outside a field's declared range (`xaibench.ranges`).

    >>> import dataclasses
    >>> class Widget(Component):
    ...     name = "widget"
    ...     @dataclasses.dataclass(frozen=True)
    ...     class Config:
    ...         size: int = 3
    >>> Widget.parse_config({"size": 5})
    Widget.Config(size=5)
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    Config: ClassVar[type] = NoConfig

    @classmethod
    def parse_config(cls, params: Mapping[str, Any] | None = None, where: str = "params") -> Any:
        return parse_config(cls.Config, params or {}, where)

    @classmethod
    def make_config(cls, config: Any = None) -> Any:
        """A ``Config`` from None (the defaults), a params mapping, or a ready ``Config`` (checked the same way)."""
        if config is None or isinstance(config, Mapping):
            return cls.parse_config(config or {})
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            parse_config(type(config), {f.name: getattr(config, f.name) for f in dataclasses.fields(config)},
                         f"{cls.name or cls.__name__}: params")
        return config

    @classmethod
    def description(cls) -> str:
        """The first line of the class docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def parse_config(config_cls: type, params: Mapping[str, Any], where: str = "params") -> Any:
    """Build ``config_cls`` from ``params``; every problem is a ConfigError naming ``where.key``."""
    if not dataclasses.is_dataclass(config_cls):
        raise ConfigError(f"{where}: Config {config_cls!r} is not a dataclass")
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: expected a mapping of parameters, got {type(params).__name__} {params!r}")
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    hints = typing.get_type_hints(config_cls, include_extras=True)
    values = {}
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(f"{where}.{key}: unknown parameter{did_you_mean(str(key), fields)}")
        values[key] = _coerce(value, hints[key], f"{where}.{key}")
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin is Annotated:  # a declared range (xaibench.ranges) on a number
        value = _coerce(value, args[0], where)
        for bound in hint.__metadata__:
            if isinstance(bound, Range):
                bound.check(value, where)
        return value
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}{did_you_mean(str(value), map(str, args))}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        item = args[0] if args else Any
        return origin(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        check_finite(value, where)
        return float(value)
    if hint in (int, float, str, bool):
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def config_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}


def config_hash(config: Any) -> str:
    """A short stable hash of a config's values, for result keys."""
    return stable_hash(config_dict(config))


def stable_hash(obj: Any, length: int = 12) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
