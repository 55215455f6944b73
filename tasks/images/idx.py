"""IDX image datasets (MNIST, Fashion-MNIST): the file reader and the shared task base."""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.errors import DataUnavailableError
from xaibench.ranges import PositiveInt, Range
from xaibench.tasks.base import Split, Task
from xaibench.tasks.files import read_bytes, require_files
from xaibench.tasks.sampling import task_subset
from xaibench.tasks.images.silhouette import silhouette

# IDX type codes (third magic byte) -> big-endian numpy dtypes
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (plain or ``.gz``): magic ``0 0 type ndim``, ndim big-endian uint32 sizes, data.

    Read-only, and cached by (path, modification time, size): tasks built on the same files share one read.

    >>> import gzip, struct
    >>> with gzip.open("labels-idx1-ubyte.gz", "wb") as f:
    ...     _ = f.write(struct.pack(">4BI3B", 0, 0, 0x08, 1, 3, 7, 0, 2))
    >>> read_idx("labels-idx1-ubyte.gz").tolist()
    [7, 0, 2]
    """
    path = Path(path).resolve()
    stat = path.stat()
    return _read_idx(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)  # the four files of one dataset
def _read_idx(path: Path, mtime_ns: int, size: int) -> np.ndarray:
    data = read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataUnavailableError(f"{path}: not an IDX file (magic bytes {data[:4].hex() or 'missing'})")
    ndim, dtype = data[3], np.dtype(IDX_DTYPES[data[2]])
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4)) if len(data) >= header else None
    if shape is None or len(data) != header + int(np.prod(shape)) * dtype.itemsize:
        raise DataUnavailableError(f"{path}: truncated or oversized IDX file ({len(data)} bytes, sizes {shape}); "
                                   "get the file again")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
    array.setflags(write=False)
    return array


class IdxTask(Task):
    """Base of 28x28 grey IDX datasets: files under root, optional class-balanced subsets, silhouette masks.

    Subclasses set ``dataset`` (its name in messages), ``default_root``, ``subdirs`` (other places inside root
    to look) and ``how`` (how to get the files). The mask is derived: pixels above ``mask_threshold``, holes filled.

    >>> IdxTask.Config(n_train=100).n_train
    100
    """

    dataset: ClassVar[str] = "IDX data"
    default_root: ClassVar[str | None] = None
    subdirs: ClassVar[tuple[str, ...]] = ()
    how: ClassVar[str] = "set params.root to a directory holding the IDX files"

    @dataclasses.dataclass(frozen=True)
    class Config:
        root: str | None = None  # None: default_root
        n_train: PositiveInt | None = None  # None: the whole split
        n_test: PositiveInt | None = None
        mask_threshold: Annotated[float, Range(ge=0, lt=1)] = 0.05

    def files(self, split: Split) -> list[Path]:
        """The (images, labels) paths of ``split``; `DataUnavailableError` when any of the four files is missing."""
        root = self.cfg.root if self.cfg.root is not None else self.default_root
        paths = require_files(self.dataset, root, [*IDX_FILES["train"], *IDX_FILES["test"]], self.subdirs, self.how)
        return paths[:2] if split == "train" else paths[2:]

    def check_available(self) -> None:
        self.files("train")

    def load(self, split: Split, seed: int = 0) -> Batch:
        image_path, label_path = self.files(split)
        images, labels = read_idx(image_path), read_idx(label_path).astype(np.int64)
        k, size = self.meta.num_classes, self.meta.input_shape[1:]
        lo, hi = labels.min(initial=0), labels.max(initial=0)
        if images.shape[1:] != size or len(images) != len(labels) or lo < 0 or hi >= k:
            raise DataUnavailableError(f"{image_path}, {label_path}: {images.shape} images and {len(labels)} labels in "
                                       f"{lo}..{hi}; expected N x {size} images "
                                       f"and N labels in 0..{k - 1}")
        index = task_subset(self, labels, split, seed)
        x = images[index].astype(np.float32) / 255
        return Batch(x=torch.from_numpy(x[:, None]), y=torch.from_numpy(labels[index]),
                     mask=torch.from_numpy(silhouette(x, self.cfg.mask_threshold)).float(),
                     index=torch.from_numpy(index))
