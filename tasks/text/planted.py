"""Synthetic text: distractor tokens with a few planted signal tokens whose kind (negative/positive) is the label."""
from __future__ import annotations

import dataclasses
from typing import Annotated

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.ranges import PositiveInt, Range
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.sampling import split_rng
from xaibench.tasks.text.corpus import PAD

VOCAB, LENGTH, SIGNAL = 100, 32, 4
# id layout: 0 = padding, 1 = unknown (never drawn), then the signal tokens of class 0, of class 1, then distractors
SIGNAL_IDS = (np.arange(2, 2 + SIGNAL), np.arange(2 + SIGNAL, 2 + 2 * SIGNAL))
DISTRACTOR_START = 2 + 2 * SIGNAL


@TASKS.register
class PlantedTokens(Task):
    """Synthetic text: k signal tokens of the class's kind planted among distractors; mask = the planted positions.

    Ids 2-5 are the negative (class 0) signal tokens, 6-9 the positive ones, 10-99 distractors;
    each document has a random length in [min_len, 32] and is padded with 0 at the end.

    >>> batch = PlantedTokens({"n_train": 4}).load("train")
    >>> batch.x.shape, batch.mask.sum(1).tolist()
    (torch.Size([4, 32]), [3.0, 3.0, 3.0, 3.0])
    """

    name = "text_planted"
    version = "1"
    meta = TaskMeta(modality="text", input_shape=(LENGTH,), num_classes=2, has_mask=True, vocab_size=VOCAB,
                    source="synthetic")
    budget = Budget(epochs=5, batch_size=64, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_train: PositiveInt = 2000
        n_test: PositiveInt = 500
        min_len: Annotated[int, Range(ge=1, le=LENGTH)] = 12
        k: PositiveInt = 3  # planted signal tokens per document

        def __post_init__(self) -> None:
            if not 1 <= self.k <= self.min_len <= LENGTH:
                raise ValueError(f"need 1 <= k <= min_len <= {LENGTH}, got k={self.k}, min_len={self.min_len}")

    def load(self, split: Split, seed: int = 0) -> Batch:
        cfg = self.cfg
        n = {"train": cfg.n_train, "test": cfg.n_test}[split]
        rng = split_rng(seed, split)
        y = np.arange(n) % 2
        rng.shuffle(y)
        length = rng.integers(cfg.min_len, LENGTH + 1, n)
        inside = np.arange(LENGTH) < length[:, None]
        x = np.where(inside, rng.integers(DISTRACTOR_START, VOCAB, (n, LENGTH)), PAD)
        # k distinct random positions inside each document: the k smallest random keys, padding keyed last
        planted = np.argsort(np.where(inside, rng.random((n, LENGTH)), np.inf), axis=1)[:, :cfg.k]
        signal = np.stack(SIGNAL_IDS)[y[:, None], rng.integers(0, SIGNAL, (n, cfg.k))]
        rows = np.arange(n)[:, None]
        x[rows, planted] = signal
        mask = np.zeros((n, LENGTH), dtype=np.float32)
        mask[rows, planted] = 1.0
        return Batch(x=torch.from_numpy(x).long(), y=torch.from_numpy(y).long(), mask=torch.from_numpy(mask))
