"""Fashion-MNIST objects pasted on textures whose family changes between train and test (a background shift)."""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import torch

from xaibench.batch import Batch
from xaibench.registries import TASKS
from xaibench.tasks.base import Split
from xaibench.tasks.images.fashion_mnist import FashionMNIST
from xaibench.tasks.sampling import split_rng
from xaibench.tasks.images.textures import TEXTURES

TextureName = Literal["gratings", "checkers"]


@TASKS.register
class TexturedFashionMNIST(FashionMNIST):
    """Fashion-MNIST objects on textured backgrounds: gratings in training, checkerboards at test time; mask = object.

    Pixels inside the derived silhouette keep their Fashion-MNIST values, the others are texture (in about
    [0, 0.5]); the test texture family differs, so a model that reads the background loses accuracy.

    >>> TexturedFashionMNIST.parse_config({"test_texture": "gratings"}).train_texture
    'gratings'
    """

    name = "textured_fashion_mnist"
    version = "1"

    @dataclasses.dataclass(frozen=True)
    class Config(FashionMNIST.Config):
        train_texture: TextureName = "gratings"
        test_texture: TextureName = "checkers"

    def load(self, split: Split, seed: int = 0) -> Batch:
        batch = super().load(split, seed)
        texture = TEXTURES[self.cfg.train_texture if split == "train" else self.cfg.test_texture]
        background = texture(split_rng(seed, split, stream=1), len(batch), batch.x.shape[-1])
        background = torch.from_numpy(np.clip(background, 0.0, 1.0).astype(np.float32))
        x = torch.where(batch.mask.bool(), batch.x[:, 0], background)[:, None]
        return dataclasses.replace(batch, x=x)
