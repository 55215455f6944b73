"""A complete architecture plugin in one file: two conv-ReLU blocks and a linear head, with a Grad-CAM layer.

The constructor is the typed factory ``Arch(config, input_shape, num_classes, mean=..., std=...)``; the base
class builds ``self.normalization``, which must run first. Declared layers (``cam_layer``) are module paths.
Check it with ``xaibench.testing.check_architecture``.
"""
from __future__ import annotations

import dataclasses

from torch import nn

from xaibench import ARCHITECTURES, Architecture
from xaibench.ranges import PositiveInt


@ARCHITECTURES.register
class TinyConvNet(Architecture):
    """Tiny ConvNet: two 3x3 conv-ReLU blocks, global average pooling, a linear head."""

    name = "tiny_convnet"
    version = "1"
    modality = "image"
    cam_layer = "features.3"  # the last ReLU: Grad-CAM reads its output
    lrp_supported = True

    @dataclasses.dataclass(frozen=True)
    class Config:
        width: PositiveInt = 8

    def __init__(self, config, input_shape, num_classes, **data):
        super().__init__(config, input_shape, num_classes, **data)
        w = config.width
        self.features = nn.Sequential(nn.Conv2d(input_shape[0], w, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(w, 2 * w, 3, padding=1, stride=2), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(2 * w, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.features(self.normalization(x))).flatten(1))
