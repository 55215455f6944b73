"""`Task`: versioned metadata plus a deterministic loader of train and test splits."""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.component import Component

Split = Literal["train", "test"]


@dataclasses.dataclass(frozen=True)
class TaskMeta:
    """What a task is: the leaderboard and the suite validation read it."""

    modality: Literal["image", "time_series", "text"]
    input_shape: tuple[int, ...]
    num_classes: int
    has_mask: bool
    source: str  # "synthetic" or where the data comes from
    citation: str = ""
    mask_kind: str = "ground truth"  # or "derived" for masks computed from the data
    vocab_size: int | None = None  # text tasks: token ids are in [0, vocab_size), 0 = padding
    extras: tuple[str, ...] = ()  # the per-sample Batch.meta keys it provides (metrics may require them)
    # The extras key (1 = must not be used, e.g. a decoy patch) that RRR penalizes; None: RRR reads 1 - mask.
    shortcut_mask: str | None = None


class Task(Component):
    """Base class: subclasses set ``name``, ``version``, ``meta``, a ``Config`` and ``load``.

    ``load(split, seed)`` returns the whole split as one in-memory `Batch`, identical for
    identical (config, split, seed).
    """

    meta: ClassVar[TaskMeta]
    budget: ClassVar[Budget] = Budget()

    def __init__(self, config: object | None = None):
        self.cfg = self.make_config(config)

    def load(self, split: Split, seed: int = 0) -> Batch:
        raise NotImplementedError

    def check_available(self) -> None:
        """Raise `DataUnavailableError` (where we looked, how to get the data) if files are missing.

        Called while the suite is validated, before any work; synthetic tasks are always available."""
