"""Errors that reach the user as one line and exit code 2."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class XaibenchError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits with code 2."""


class ConfigError(XaibenchError):
    """A config, suite or plugin is wrong; the message names the file and key."""


class UnknownNameError(ConfigError, KeyError):
    """A name that no registry holds."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`"; did you mean 'x'?"` for the closest candidate, or the list of choices."""
    candidates = sorted(candidates)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; choose from: {', '.join(candidates)}" if candidates else ""


class NonFiniteAttributionError(XaibenchError):
    """An explainer returned NaN or Inf; the message names the explainer and the samples."""


class DataUnavailableError(XaibenchError):
    """A real dataset's files are missing; the message says where we looked and how to get them."""
