"""Deterministic sampling: a random generator per (seed, split) and class-balanced subsets."""
from __future__ import annotations

import numpy as np

from xaibench.errors import ConfigError
from xaibench.tasks.base import Split, Task

SPLITS: tuple[Split, ...] = ("train", "test")


def split_rng(seed: int, split: Split, stream: int = 0) -> np.random.Generator:
    """The generator for one split of a task; ``stream`` separates independent draws (e.g. a subset and a decoy).

    >>> split_rng(0, "train").random() == split_rng(0, "train").random() != split_rng(0, "test").random()
    True
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return np.random.default_rng([seed, SPLITS.index(split), stream])


def balanced_subset(labels: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` samples (all when ``n`` is None), as balanced over the labels as the data allows.

    Samples are dealt class by class in rounds, in a random order from ``rng``: every class gives one
    sample per round until it runs out, so class counts differ by at most one unless a class is exhausted.

    >>> y = np.array([0, 0, 0, 0, 1, 1, 2])
    >>> idx = balanced_subset(y, 5, np.random.default_rng(0))
    >>> len(idx), np.bincount(y[idx]).tolist()
    (5, [2, 2, 1])
    """
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    perm = rng.permutation(len(labels))
    shuffled = labels[perm]
    # rank of each sample among the earlier samples of its class, in the shuffled order
    order = np.argsort(shuffled, kind="stable")
    starts = np.searchsorted(shuffled[order], shuffled[order])
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - starts
    chosen = perm[np.argsort(rank, kind="stable")[:n]]  # round by round, random order within a round
    return np.sort(chosen)


def task_subset(task: Task, labels: np.ndarray, split: Split, seed: int) -> np.ndarray:
    """`balanced_subset` of ``task.cfg.n_train`` or ``n_test`` samples (None: all) of ``split``, drawn from ``seed``.

    >>> import dataclasses
    >>> class Toy(Task):
    ...     name = "toy"
    ...     @dataclasses.dataclass(frozen=True)
    ...     class Config:
    ...         n_train: int | None = 9
    ...         n_test: int | None = None
    >>> task_subset(Toy(), np.zeros(4), "train", 0)
    Traceback (most recent call last):
    ...
    xaibench.errors.ConfigError: task 'toy': params.n_train=9 is not in 1..4 (the size of the train split)
    """
    n = getattr(task.cfg, f"n_{split}")
    if n is not None and not 0 < n <= len(labels):
        raise ConfigError(f"task '{task.name}': params.n_{split}={n} is not in 1..{len(labels)} "
                          f"(the size of the {split} split)")
    return balanced_subset(labels, n, split_rng(seed, split))
