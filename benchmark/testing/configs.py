"""The checks every component kind shares: metadata, the ``Config``, and the values its declared ranges refuse."""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any, get_args, get_origin

from xaibench.errors import XaibenchError
from xaibench.ranges import Range
from xaibench.testing.helpers import first_line


@dataclasses.dataclass(frozen=True)
class NumericField:
    """A Config field holding numbers: ``int`` or ``float``, its declared ranges, inside a tuple or not."""

    name: str
    number: type
    ranges: tuple[Range, ...]
    in_tuple: bool
    default: Any


def component_problems(cls: Any, base: type) -> list[str]:
    """Broken metadata or Config of a component class: not a ``base`` subclass, no name or version, no
    docstring, a Config that is not a frozen dataclass or whose defaults are refused."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return [f"{cls!r} is not a {base.__name__} subclass"]
    problems = []
    if not cls.name or not isinstance(cls.name, str):
        problems.append("no `name` class variable (the name suites list)")
    if not isinstance(cls.version, str) or not cls.version:
        problems.append(f"version={cls.version!r}: must be a non-empty string (it goes into result keys)")
    if not first_line(cls):
        problems.append("no docstring: its first line is what `xaibench list` shows")
    config = cls.Config
    if not dataclasses.is_dataclass(config) or not config.__dataclass_params__.frozen:
        problems.append("Config must be a frozen dataclass: @dataclasses.dataclass(frozen=True)")
        return problems
    try:
        typing.get_type_hints(config, include_extras=True)
        cls.make_config()
    except (XaibenchError, NameError, TypeError, ValueError) as err:
        problems.append(f"the default Config is refused: {err}")
    return problems


def make_config(cls: type, config: Any) -> tuple[Any, list[str]]:
    """(the parsed Config, []) or (None, [the reason it is refused])."""
    try:
        return cls.make_config(config), []
    except XaibenchError as err:
        return None, [f"config: {err}"]


def numeric_fields(config_cls: type) -> list[NumericField]:
    """Every field of ``config_cls`` that holds an int or a float (also ``X | None`` and ``tuple[X, ...]``).

    >>> from xaibench.budget import Budget
    >>> [(f.name, f.number.__name__, [str(r) for r in f.ranges]) for f in numeric_fields(Budget)][:2]
    [('epochs', 'int', ['>= 1']), ('batch_size', 'int', ['>= 1'])]
    """
    hints = typing.get_type_hints(config_cls, include_extras=True)
    found = []
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        hint, in_tuple = _strip_optional(hints[f.name]), False
        if get_origin(hint) is tuple:
            hint, in_tuple = _strip_optional(get_args(hint)[0]), True
        ranges: tuple[Range, ...] = ()
        if get_origin(hint) is Annotated:
            ranges = tuple(m for m in hint.__metadata__ if isinstance(m, Range))
            hint = get_args(hint)[0]
        if hint in (int, float):
            found.append(NumericField(f.name, hint, ranges, in_tuple, default))
    return found


def out_of_range_params(config_cls: type) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs a suite could give that validation must refuse: for every numeric field a value
    just outside each declared bound, and NaN and infinity for floats. Tuple fields get their default with
    one element replaced (the first for a lower bound, the last for an upper one).

    >>> from xaibench.budget import Budget
    >>> out_of_range_params(Budget)[:4]
    [('epochs', 0), ('batch_size', 0), ('lr', 0.0), ('lr', -0.5)]
    """
    pairs = []
    for field in numeric_fields(config_cls):
        integer = field.number is int
        bad: list[tuple[Any, bool]] = []  # (value, breaks an upper bound)
        for r in field.ranges:
            bad += [(v, False) for v in r.below(integer)] + [(v, True) for v in r.above(integer)]
        if not integer:
            bad += [(float("nan"), False), (float("inf"), True)]
        for value, upper in bad:
            if field.in_tuple:
                items = list(field.default or (value,))
                items[-1 if upper else 0] = value
                value = tuple(items)
            pairs.append((field.name, value))
    return pairs


def _strip_optional(hint: Any) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint
