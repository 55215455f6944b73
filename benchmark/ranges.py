"""Valid ranges of numeric Config fields, declared once in the field's type: ``n_steps: PositiveInt = 100``.

A `Range` inside ``typing.Annotated`` bounds an ``int`` or ``float`` (also inside ``X | None`` and
``tuple[X, ...]``, where it bounds every element). `xaibench.component.parse_config` checks it, so a suite
with a value outside it stops at validation with one line naming file, key and value. Every float must also be
finite (no ``.nan`` or ``.inf`` from YAML), with or without a Range.

>>> from xaibench.component import parse_config
>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Config:
...     n_steps: PositiveInt = 100
...     k: Annotated[float, Range(ge=0, le=1)] = 0.5
>>> parse_config(Config, {"k": 1.5}, "params")
Traceback (most recent call last):
...
xaibench.errors.ConfigError: params.k: 1.5 is out of range (must be >= 0 and <= 1)
"""
from __future__ import annotations

import dataclasses
import math
from typing import Annotated

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds a number must satisfy: ``ge``/``gt`` below, ``le``/``lt`` above (None = unbounded).

    >>> r = Range(gt=0, lt=1)
    >>> 0.5 in r, 1.0 in r, str(r)
    (True, False, '> 0 and < 1')
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def __contains__(self, value: float) -> bool:
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))

    def __str__(self) -> str:
        parts = [f"{op} {_number(bound)}" for op, bound in ((">=", self.ge), (">", self.gt), ("<=", self.le),
                                                           ("<", self.lt)) if bound is not None]
        return " and ".join(parts) or "any number"

    def check(self, value: float, where: str) -> None:
        """ConfigError ``where: value is out of range (must be ...)`` unless ``value`` is inside."""
        if value not in self:
            raise ConfigError(f"{where}: {value!r} is out of range (must be {self})")

    def below(self, integer: bool) -> list[float]:
        """Values just under the lower bound (for tests that every bound is enforced).

        >>> Range(ge=1).below(integer=True), Range(gt=0, le=1).below(integer=False)
        ([0], [0.0, -0.5])
        """
        return _outside(self.ge, self.gt, -1 if integer else -0.5, integer)

    def above(self, integer: bool) -> list[float]:
        """Values just over the upper bound.

        >>> Range(gt=0, le=1).above(integer=False), Range(lt=1).above(integer=True)
        ([1.5], [1])
        """
        return _outside(self.le, self.lt, 1 if integer else 0.5, integer)


def _outside(closed: float | None, open_: float | None, step: float, integer: bool) -> list[float]:
    values = [closed + step] if closed is not None else []
    values += [open_] + ([] if integer else [open_ + step]) if open_ is not None else []
    return [int(v) if integer else float(v) for v in values]


def check_increasing(values: tuple[float, ...], name: str) -> None:
    """ValueError unless ``values`` (a grid of fractions) has at least two strictly increasing entries.

    >>> check_increasing((0.5, 0.1), "fractions")
    Traceback (most recent call last):
    ...
    ValueError: fractions=[0.5, 0.1]: need at least two strictly increasing values
    """
    if len(values) < 2 or any(not a < b for a, b in zip(values, values[1:])):
        raise ValueError(f"{name}={list(values)}: need at least two strictly increasing values")


def check_finite(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{where}: {value!r} is not a finite number")


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


# The ranges most fields need.
PositiveInt = Annotated[int, Range(ge=1)]  # counts and sizes: steps, samples, widths, batch sizes
NonNegativeInt = Annotated[int, Range(ge=0)]
Seed = Annotated[int, Range(ge=0)]  # numpy's generators refuse negative seeds
PositiveFloat = Annotated[float, Range(gt=0)]
NonNegativeFloat = Annotated[float, Range(ge=0)]  # weights of loss terms, noise levels, tolerances
UnitInterval = Annotated[float, Range(ge=0, le=1)]
Fraction = Annotated[float, Range(gt=0, le=1)]  # a share of the features: (0, 1]
OpenFraction = Annotated[float, Range(gt=0, lt=1)]  # (0, 1), e.g. ROAR's and ROAD's removed fractions
