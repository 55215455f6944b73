"""scikit-learn's bundled 8x8 digits (no download); a class-balanced test split drawn from the seed."""
from __future__ import annotations

import dataclasses
from typing import Annotated

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import DataUnavailableError
from xaibench.ranges import Range
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.sampling import SPLITS, balanced_subset

DIGITS_SIZE = 1797
DIGITS_HOW = "pip install scikit-learn (load_digits ships inside the package)"


@TASKS.register
class Digits(Task):
    """8x8 grey handwritten digits from scikit-learn's load_digits (1797 images, 10 classes); no mask.

    Values 0..16 are scaled to [0, 1]; ``n_test`` images (class-balanced, drawn from the seed) form the test split.

    >>> batch = Digits({"n_test": 100}).load("test", seed=0)
    >>> batch.x.shape, torch.bincount(batch.y).tolist()
    (torch.Size([100, 1, 8, 8]), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10])
    """

    name = "digits"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, 8, 8), num_classes=10, has_mask=False,
                    source="scikit-learn load_digits (UCI optical recognition of handwritten digits)",
                    citation="Alpaydin, Kaynak. Optical Recognition of Handwritten Digits. UCI Machine Learning "
                             "Repository, 1998")
    budget = Budget(epochs=10, batch_size=32, lr=3e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_test: Annotated[int, Range(ge=1, le=DIGITS_SIZE - 1)] = 360  # of 1797; the rest is the train split

    def check_available(self) -> None:
        try:
            import sklearn.datasets  # noqa: F401
        except ImportError as err:
            raise DataUnavailableError(f"digits: scikit-learn is not importable ({err}); {DIGITS_HOW}") from None

    def load(self, split: Split, seed: int = 0) -> Batch:
        if split not in SPLITS:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.check_available()
        from sklearn.datasets import load_digits

        data = load_digits()
        images, labels = data.images.astype(np.float32) / 16, data.target.astype(np.int64)
        # one draw for both splits so that they are complements
        test = balanced_subset(labels, self.cfg.n_test, np.random.default_rng([seed]))
        index = test if split == "test" else np.setdiff1d(np.arange(len(labels)), test)
        return Batch(x=torch.from_numpy(images[index, None]), y=torch.from_numpy(labels[index]),
                     index=torch.from_numpy(index))
