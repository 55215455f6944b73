"""Decoy Fashion-MNIST (Ross et al. 2017): a class-coded corner patch that only tells the class at train time."""
from __future__ import annotations

import dataclasses
from typing import Annotated

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.ranges import Range
from xaibench.registries import TASKS
from xaibench.tasks.base import Split
from xaibench.tasks.images.fashion_mnist import FASHION_MNIST_CITATION, FashionMNIST
from xaibench.tasks.sampling import split_rng


def decoy_value(code: np.ndarray) -> np.ndarray:
    """The patch intensity that encodes class ``code``: (255 - 25 code) / 255, as in Ross et al.

    >>> decoy_value(np.array([0, 9])).round(3).tolist()
    [1.0, 0.118]
    """
    return (255 - 25 * code) / 255


def paint_decoy(x: torch.Tensor, patch: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """Images ``x`` (N x 1 x H x W) with the pixels of ``patch`` (N x H x W, bool) set to ``decoy_value(code)``.

    The task renders its splits with it, and the shortcut gap re-renders the test images with code = y.

    >>> patch = torch.zeros(1, 2, 2, dtype=torch.bool); patch[0, 0, 0] = True
    >>> paint_decoy(torch.zeros(1, 1, 2, 2), patch, torch.tensor([9]))[0, 0].tolist()
    [[0.11764705926179886, 0.0], [0.0, 0.0]]
    """
    value = torch.from_numpy(decoy_value(code.cpu().numpy()).astype(np.float32)).to(x.device)
    return torch.where(patch, value[:, None, None], x[:, 0])[:, None]


@TASKS.register
class DecoyFashionMNIST(FashionMNIST):
    """Fashion-MNIST with a class-coded patch in a random corner; at test time the code is random (a decoy).

    ``meta["decoy_mask"]`` marks the patch, ``meta["decoy_code"]`` is the class it encodes (= y in training);
    ``mask`` is the derived object silhouette outside the patch.

    >>> DecoyFashionMNIST.parse_config({"patch_size": 4, "n_train": 100}).patch_size
    4
    """

    name = "decoy_fashion_mnist"
    version = "1"
    meta = dataclasses.replace(
        FashionMNIST.meta, citation="Ross, Hughes, Doshi-Velez. Right for the Right Reasons: Training Differentiable "
        f"Models by Constraining their Explanations. IJCAI 2017; {FASHION_MNIST_CITATION}",
        extras=("decoy_mask", "decoy_code"), shortcut_mask="decoy_mask")  # RRR's annotation A: the swatch

    @dataclasses.dataclass(frozen=True)
    class Config(FashionMNIST.Config):
        patch_size: Annotated[int, Range(ge=1, le=14)] = 4  # a patch fits in one corner

    def load(self, split: Split, seed: int = 0) -> Batch:
        batch = super().load(split, seed)
        n, size, p = len(batch), batch.x.shape[-1], self.cfg.patch_size
        rng = split_rng(seed, split, stream=1)
        code = batch.y.numpy() if split == "train" else rng.integers(0, self.meta.num_classes, n)
        top, left = (rng.integers(0, 2, n) * (size - p) for _ in range(2))  # one of the four corners
        grid = np.arange(size)
        rows = (grid >= top[:, None]) & (grid < top[:, None] + p)
        cols = (grid >= left[:, None]) & (grid < left[:, None] + p)
        patch = torch.from_numpy(rows[:, :, None] & cols[:, None, :])
        x = paint_decoy(batch.x, patch, torch.from_numpy(code))
        return Batch(x=x, y=batch.y, mask=batch.mask * ~patch, index=batch.index,
                     meta={"decoy_mask": patch.float(), "decoy_code": torch.from_numpy(code).long()})
