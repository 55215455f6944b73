"""`LastCall`: the result of one expensive computation that several metrics of a cell read, computed once.

The harness scores a cell's metrics one after another on the same model, batch, attributions and targets, so a
family of metrics that reads the same curves (ROAD's three) or the same confidences (AD, AI, AG) keeps the last
result. The key holds weak references to the objects (a new object is a miss, and nothing is kept alive) plus
their in-place version counters (an edited tensor or weight is a miss) and the settings that decide the result.
One entry per family: memory stays bounded.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from xaibench.batch import Batch

T = TypeVar("T")


def _versions(obj: Any) -> Hashable:
    """In-place version counters of every tensor that ``obj`` holds (a tensor, a Batch or a module)."""
    if isinstance(obj, torch.Tensor):
        return obj._version
    if isinstance(obj, Batch):
        return tuple(t._version for t in (obj.x, obj.y, obj.mask, obj.index, *obj.meta.values()) if t is not None)
    if isinstance(obj, nn.Module):
        return tuple(t._version for t in (*obj.parameters(), *obj.buffers()))
    return None


class LastCall(Generic[T]):
    """Computes ``compute()`` unless the last call had the same objects (by identity, unchanged) and settings.

    >>> cache, calls = LastCall(), []
    >>> x = torch.ones(3)
    >>> [cache.get((x,), "sum", lambda: calls.append(1) or x.sum()).item() for _ in range(2)], len(calls)
    ([3.0, 3.0], 1)
    >>> _ = x.mul_(2); cache.get((x,), "sum", lambda: calls.append(1) or x.sum()).item(), len(calls)
    (6.0, 2)
    """

    def __init__(self) -> None:
        self._last: tuple[tuple[Any, ...], Hashable, Hashable, T] | None = None

    def get(self, objects: tuple[Any, ...], settings: Hashable, compute: Callable[[], T]) -> T:
        versions = tuple(_versions(o) for o in objects)
        if self._last is not None:
            refs, old_versions, old_settings, result = self._last
            if (len(refs) == len(objects) and all(r() is o for r, o in zip(refs, objects))
                    and (old_versions, old_settings) == (versions, settings)):
                return result
        result = compute()
        self._last = (tuple(weakref.ref(o) for o in objects), versions, settings, result)
        return result

    def clear(self) -> None:
        self._last = None
