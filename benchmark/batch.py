"""`Batch`: the one object that carries samples through every stage."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import torch


@dataclasses.dataclass(frozen=True)
class Batch:
    """Inputs ``x`` (raw values, images in [0, 1]), labels ``y``, an optional ground-truth ``mask``
    (1 = relevant, same spatial shape as x, no channel axis for images: N x H x W), the samples'
    dataset ``index`` and optional per-sample ``meta`` tensors.

    >>> b = Batch(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))
    >>> len(b), b[1:3].index.tolist()
    (4, [1, 2])
    """

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor | None = None
    index: torch.Tensor | None = None
    meta: dict[str, torch.Tensor] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.index is None:
            object.__setattr__(self, "index", torch.arange(len(self.x)))
        for name, t in (("y", self.y), ("mask", self.mask), ("index", self.index), *self.meta.items()):
            if t is not None and len(t) != len(self.x):
                raise ValueError(f"Batch.{name} has {len(t)} samples, x has {len(self.x)}")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: Any) -> Batch:
        return Batch(
            self.x[idx], self.y[idx],
            None if self.mask is None else self.mask[idx],
            self.index[idx],
            {k: v[idx] for k, v in self.meta.items()},
        )

    def to(self, device: torch.device | str) -> Batch:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Batch(move(self.x), move(self.y), move(self.mask), move(self.index),
                     {k: move(v) for k, v in self.meta.items()})

    def minibatches(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[Batch]:
        """Minibatches in order, or shuffled by ``generator`` when one is given."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else torch.arange(len(self))
        order = order.to(self.x.device)  # once per epoch: a host index would be copied to the GPU at every step
        for start in range(0, len(self), batch_size):
            yield self[order[start:start + batch_size]]
