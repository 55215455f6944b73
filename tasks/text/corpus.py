"""Text corpora from a user's folder: whitespace tokens, a vocabulary from the training split, fixed-length ids.

Tokens are the lowercased whitespace-separated words. The vocabulary holds the most frequent training
tokens (ties alphabetical) after 0 = padding and 1 = unknown, capped at the task's ``meta.vocab_size``.
Documents are truncated or padded at the end to ``Config.max_len``.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.ranges import PositiveInt
from xaibench.tasks.base import Split, Task
from xaibench.tasks.files import open_binary, require_files
from xaibench.tasks.sampling import task_subset

PAD, UNK = 0, 1


def tokenize(text: str) -> list[str]:
    """Lowercased whitespace tokens.

    >>> tokenize("A  fine\\nFilm .")
    ['a', 'fine', 'film', '.']
    """
    return text.lower().split()


def build_vocab(docs: Iterable[Sequence[str]], size: int) -> dict[str, int]:
    """Token -> id for the ``size - 2`` most frequent tokens (ties alphabetical), ids from 2.

    >>> build_vocab([["b", "a", "c"], ["c", "b"]], size=4)
    {'b': 2, 'c': 3}
    """
    counts = Counter(token for doc in docs for token in doc)
    ranked = sorted(counts, key=lambda token: (-counts[token], token))[:max(size - 2, 0)]
    return {token: i for i, token in enumerate(ranked, start=2)}


def encode(docs: Sequence[Sequence[str]], vocab: dict[str, int], max_len: int) -> torch.Tensor:
    """N x ``max_len`` int64 ids: unknown tokens are 1, the tail is cut or padded with 0.

    >>> encode([["b", "z"], ["c", "b", "c"]], {"b": 2, "c": 3}, 2).tolist()
    [[2, 1], [3, 2]]
    """
    ids = torch.zeros(len(docs), max_len, dtype=torch.int64)
    for i, doc in enumerate(docs):
        row = [vocab.get(token, UNK) for token in doc[:max_len]]
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.int64)
    return ids


class Documents(NamedTuple):
    """One split as read from disk: tokens, labels and, for rationale data, the marked token positions.

    >>> Documents([["a", "fine", "film"]], [1], [{1}]).rationales
    [{1}]
    """

    tokens: list[list[str]]
    labels: list[int]
    rationales: list[set[int]] | None = None


class CorpusTask(Task):
    """Base of the folder-backed text tasks: subclasses set ``dataset``, ``files``, ``subdirs``, ``how`` and ``read``.

    ``params.root`` is the folder with the files, or its parent holding one of ``subdirs``;
    ``n_train``/``n_test`` take class-balanced subsets (None: the whole split).

    >>> from xaibench.tasks.text.sst2 import SST2
    >>> SST2({"root": "nowhere"}).check_available()
    Traceback (most recent call last):
    ...
    xaibench.errors.DataUnavailableError: SST-2 not found: no train.tsv[.gz], dev.tsv[.gz] in nowhere or ...
    """

    dataset: ClassVar[str]
    files: ClassVar[dict[str, str]]  # split -> file name
    subdirs: ClassVar[tuple[str, ...]] = ()
    how: ClassVar[str]  # how to get the data

    @dataclasses.dataclass(frozen=True)
    class Config:
        root: str | None = None
        max_len: PositiveInt = 64  # tokens per document, cut or padded at the end
        n_train: PositiveInt | None = None
        n_test: PositiveInt | None = None

    def paths(self) -> dict[str, Path]:
        """The split files; `DataUnavailableError` if any is missing."""
        found = require_files(self.dataset, self.cfg.root, list(self.files.values()), self.subdirs, self.how)
        return dict(zip(self.files, found))

    def read(self, split: Split) -> Documents:
        raise NotImplementedError

    def check_available(self) -> None:
        self.paths()

    def load(self, split: Split, seed: int = 0) -> Batch:
        """The split in file order, or a balanced subset drawn from ``seed``."""
        self.check_available()
        train = self.read("train")
        docs = train if split == "train" else self.read(split)
        vocab = build_vocab(train.tokens, self.meta.vocab_size)
        x = encode(docs.tokens, vocab, self.cfg.max_len)
        mask = None
        if docs.rationales is not None:
            mask = torch.zeros(x.shape)
            for i, positions in enumerate(docs.rationales):
                end = min(self.cfg.max_len, len(docs.tokens[i]))  # never on padding
                mask[i, [p for p in positions if 0 <= p < end]] = 1.0
        index = torch.from_numpy(task_subset(self, np.array(docs.labels), split, seed))
        return Batch(x=x, y=torch.tensor(docs.labels, dtype=torch.int64), mask=mask)[index]


def read_text(path: Path) -> str:
    """A text file's contents, gzipped or not."""
    with open_binary(path) as f:
        return f.read().decode("utf-8")
