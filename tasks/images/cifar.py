"""CIFAR-10 and CIFAR-100 from their binary versions (never the pickled ones) under ``params.root``; no masks."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import DataUnavailableError
from xaibench.ranges import PositiveInt
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, Task, TaskMeta
from xaibench.tasks.files import read_bytes, require_files
from xaibench.tasks.sampling import task_subset

IMAGE_BYTES = 3 * 32 * 32
CIFAR_CITATION = "Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Tech. report, U. Toronto, 2009"
CIFAR_HOW = ("download the binary version ({archive}) from https://www.cs.toronto.edu/~kriz/cifar.html, extract it "
             "and set params.root to the folder that contains {folder}/")


def read_cifar_bin(path: str | os.PathLike, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 3 x 32 x 32 uint8) and labels (N x label_bytes) from a CIFAR binary file.

    Each record is ``label_bytes`` label bytes, then 1024 red, 1024 green and 1024 blue bytes in row-major order.

    >>> _ = open("batch.bin", "wb").write(bytes([7]) + bytes(range(256)) * 12)
    >>> images, labels = read_cifar_bin("batch.bin", 1)
    >>> images.shape, labels.tolist(), images[0, 2, 31, 31].item()
    ((1, 3, 32, 32), [[7]], 255)
    """
    path = Path(path)
    data = np.frombuffer(read_bytes(path), np.uint8)
    record = label_bytes + IMAGE_BYTES
    if len(data) == 0 or len(data) % record:
        raise DataUnavailableError(f"{path}: {len(data)} bytes is not a whole number of {record}-byte CIFAR records; "
                                   "get the binary version again")
    records = data.reshape(-1, record)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32).copy(), records[:, :label_bytes].copy()


class CifarTask(Task):
    """Base of the CIFAR binary tasks: ``files`` per split inside ``root`` or ``root/folder``, label column ``label``.

    >>> CifarTask.Config().n_train is None
    True
    """

    dataset: ClassVar[str] = "CIFAR"
    folder: ClassVar[str] = ""
    archive: ClassVar[str] = ""
    split_files: ClassVar[dict[str, tuple[str, ...]]] = {}
    label_bytes: ClassVar[int] = 1
    label: ClassVar[int] = 0  # which label byte is the class
    budget = Budget(epochs=4, batch_size=128, lr=2e-3)

    @dataclasses.dataclass(frozen=True)
    class Config:
        root: str | None = None
        n_train: PositiveInt | None = None  # None: the whole split
        n_test: PositiveInt | None = None

    def files(self, split: Split) -> list[Path]:
        """The binary files of ``split``; `DataUnavailableError` when any file of either split is missing."""
        names = [*self.split_files["train"], *self.split_files["test"]]
        paths = require_files(self.dataset, self.cfg.root, names, (self.folder,),
                              CIFAR_HOW.format(archive=self.archive, folder=self.folder))
        return paths[:len(self.split_files["train"])] if split == "train" else paths[len(self.split_files["train"]):]

    def check_available(self) -> None:
        self.files("train")

    def load(self, split: Split, seed: int = 0) -> Batch:
        parts = [read_cifar_bin(path, self.label_bytes) for path in self.files(split)]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])[:, self.label].astype(np.int64)
        index = task_subset(self, labels, split, seed)
        return Batch(x=torch.from_numpy(images[index].astype(np.float32) / 255), y=torch.from_numpy(labels[index]),
                     index=torch.from_numpy(index))


@TASKS.register
class CIFAR10(CifarTask):
    """CIFAR-10: 32x32 colour images, 10 classes, from the binary version under params.root; no mask.

    >>> CIFAR10({"root": "absent"}).check_available()
    Traceback (most recent call last):
    ...
    xaibench.errors.DataUnavailableError: CIFAR-10 not found: no data_batch_1.bin[.gz], ...
    """

    name = "cifar10"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(3, 32, 32), num_classes=10, has_mask=False,
                    source="CIFAR-10 binary version (params.root)", citation=CIFAR_CITATION)
    dataset = "CIFAR-10"
    folder = "cifar-10-batches-bin"
    archive = "cifar-10-binary.tar.gz"
    split_files = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}


@TASKS.register
class CIFAR100(CifarTask):
    """CIFAR-100: 32x32 colour images, 100 fine classes, from the binary version under params.root; no mask.

    Use task ``cifar100_coarse`` for the 20 coarse classes.

    >>> CIFAR100.meta.num_classes, CIFAR100.label
    (100, 1)
    """

    name = "cifar100"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(3, 32, 32), num_classes=100, has_mask=False,
                    source="CIFAR-100 binary version (params.root)", citation=CIFAR_CITATION)
    dataset = "CIFAR-100"
    folder = "cifar-100-binary"
    archive = "cifar-100-binary.tar.gz"
    split_files = {"train": ("train.bin",), "test": ("test.bin",)}
    label_bytes = 2  # coarse, fine
    label = 1


@TASKS.register
class CIFAR100Coarse(CIFAR100):
    """CIFAR-100 with its 20 coarse (superclass) labels; same files as cifar100; no mask.

    >>> CIFAR100Coarse.meta.num_classes, CIFAR100Coarse.label
    (20, 0)
    """

    name = "cifar100_coarse"
    version = "1"
    meta = dataclasses.replace(CIFAR100.meta, num_classes=20)
    label = 0
