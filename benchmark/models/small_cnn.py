"""A small ReLU CNN with a global-average-pooling head."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU())


@ARCHITECTURES.register
class SmallCNN(Architecture):
    """Small CNN: three conv-ReLU blocks with two max-pools, global average pooling, linear head.

    >>> model = SmallCNN(SmallCNN.Config(), (1, 32, 32), num_classes=4)
    >>> model(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 4])
    """

    name = "small_cnn"
    version = "1"
    modality = "image"
    cam_layer = "features.4"  # the last conv block, 8x8 at 32 px
    flint_layers = ("features.3",)  # after the second block and pool: 2w x 8 x 8 at 32 px (MNIST design: 32x14x14)
    lrp_supported = True
    mode_free = True  # no dropout, no batch norm

    @dataclasses.dataclass(frozen=True)
    class Config:
        width: PositiveInt = 16

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **stats: Any):
        super().__init__(config, input_shape, num_classes, **stats)
        w = config.width
        self.features = nn.Sequential(
            conv_block(input_shape[0], w), nn.MaxPool2d(2),
            conv_block(w, 2 * w), nn.MaxPool2d(2),
            conv_block(2 * w, 4 * w),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.features(self.normalization(x)))
        return self.classifier(h.flatten(1))
