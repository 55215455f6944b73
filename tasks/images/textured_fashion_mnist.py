"""Fashion-MNIST objects pasted on textures whose family changes between train and test (a background shift)."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.ranges import Range
from xaibench.registries import TASKS
from xaibench.tasks.base import Split
from xaibench.tasks.images.fashion_mnist import FashionMNIST
from xaibench.tasks.sampling import split_rng
from xaibench.tasks.images.textures import TEXTURES

TextureName = Literal["gratings", "checkers"]


def paste_objects(x: torch.Tensor, mask: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """Images ``x`` (N x 1 x H x W) with the pixels outside ``mask`` (N x H x W) replaced by ``background``.

    The task renders its splits with it, and the shift gap re-renders the test objects on the training texture.

    >>> paste_objects(torch.ones(1, 1, 1, 2), torch.tensor([[[1, 0]]]), torch.zeros(1, 1, 2))[0, 0].tolist()
    [[1.0, 0.0]]
    """
    return torch.where(mask.bool(), x[:, 0], background)[:, None]


@TASKS.register
class TexturedFashionMNIST(FashionMNIST):
    """Fashion-MNIST objects on textured backgrounds: gratings in training, checkerboards at test time; mask = object.

    Pixels inside the derived silhouette keep their Fashion-MNIST values, the others are texture (in about
    [0, 0.5] times ``texture_gain``, clipped to [0, 1]); the test texture family differs, so a model that reads
    the background loses accuracy. ``standard`` uses a gain of 1.5: at 1.0, ERM's shift gap is 0.12-0.17 at
    its scale, at 1.5 it is 0.23-0.24 (seeds 0, 1).
    ``meta["train_background"]`` is a background of the training family for every image, drawn from the same
    random stream as the split's own (on the training split, the split's own), so the shift gap compares each
    test object on both families.

    >>> TexturedFashionMNIST.parse_config({"test_texture": "gratings"}).train_texture
    'gratings'
    """

    name = "textured_fashion_mnist"
    version = "1"
    meta = dataclasses.replace(FashionMNIST.meta, extras=("train_background",))

    @dataclasses.dataclass(frozen=True)
    class Config(FashionMNIST.Config):
        train_texture: TextureName = "gratings"
        test_texture: TextureName = "checkers"
        # Scales both families' intensities (then clipped to [0, 1]): a stronger background poses a larger shift.
        texture_gain: Annotated[float, Range(gt=0.0, le=2.0)] = 1.0

    def load(self, split: Split, seed: int = 0) -> Batch:
        batch = super().load(split, seed)
        gain = self.cfg.texture_gain
        train_background = self.background(self.cfg.train_texture, split, seed, batch, gain)
        background = (train_background if split == "train"
                      else self.background(self.cfg.test_texture, split, seed, batch, gain))
        return dataclasses.replace(batch, x=paste_objects(batch.x, batch.mask, background),
                                   meta={**batch.meta, "train_background": train_background})

    @staticmethod
    def background(texture: TextureName, split: Split, seed: int, batch: Batch, gain: float = 1.0) -> torch.Tensor:
        """One texture of family ``texture`` per image, N x H x W in [0, 1]; the same draws for every family."""
        drawn = TEXTURES[texture](split_rng(seed, split, stream=1), len(batch), batch.x.shape[-1])
        return torch.from_numpy(np.clip(gain * drawn, 0.0, 1.0).astype(np.float32))
