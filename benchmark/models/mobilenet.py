"""A narrow CIFAR-style MobileNet-V2."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.models.resnet import init_conv_weights
from xaibench.ranges import PositiveFloat
from xaibench.registries import ARCHITECTURES

# (expansion t, channels c, repeats n, first stride s) of MobileNet-V2 (Sandler et al. 2018, Table 2), with the
# stride of the second stage set to 1 (as CIFAR ports do) so 32 px inputs end at 4x4.
STAGES = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
LAST_CHANNELS = 1280
N_BLOCKS = sum(n for _, _, n, _ in STAGES)
LAST_DOWN = 1 + sum(n for _, _, n, _ in STAGES[:5])  # index in ``features`` of the first block at 4x4 (32 px)


def divisible(channels: float, by: int = 8) -> int:
    """Round to the nearest multiple of ``by``, never below ``by`` nor more than 10% down (torchvision's rule)."""
    rounded = max(by, int(channels + by / 2) // by * by)
    return rounded + by if rounded < 0.9 * channels else rounded


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise conv, linear 1x1 bottleneck; a residual addition when shapes match.

    >>> InvertedResidual(8, 8, stride=1, expansion=6)(torch.zeros(1, 8, 4, 4)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        layers = [conv_bn_relu(c_in, hidden, kernel=1)] if expansion != 1 else []
        layers += [conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]  # linear bottleneck: no ReLU
        self.block = nn.Sequential(*layers)
        if self.residual:  # zero last BN scale (Goyal et al. 2017): blocks start as the identity, so the scale of an
            nn.init.zeros_(self.block[-1].weight)  # untrained net does not grow with depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


@ARCHITECTURES.register
class MobileNetV2(Architecture):
    """MobileNet-V2: inverted residual blocks (expansion, depthwise conv, linear bottleneck), width multiplier, GAP head.

    CIFAR-style: stride-1 stem and second stage, so 28 and 32 px inputs end at 4x4 in ``features[-1]`` (the last
    1x1 conv block, ``cam_layer``). Activations are distinct non-inplace ``nn.ReLU`` modules, not ReLU6: explainers
    swap the ReLU backward rule. LRP is off: captum has no rule for the residual additions.

    >>> model = MobileNetV2(MobileNetV2.Config(width_mult=0.1), (1, 28, 28), num_classes=10)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    name = "mobilenet_v2"
    version = "1"
    modality = "image"
    cam_layer = f"features.{N_BLOCKS + 1}"  # features[-1]: stem, the blocks, then the last conv block
    # the last 8x8 block and the first 4x4 block, as FLINT's ResNet design reads layer3 and layer4.0
    flint_layers = (f"features.{LAST_DOWN - 1}", f"features.{LAST_DOWN}")
    lrp_supported = False

    @dataclasses.dataclass(frozen=True)
    class Config:
        width_mult: PositiveFloat = 0.25  # the original is 1.0; 0.25 keeps an epoch of 10k 32 px images CPU-friendly

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        c = divisible(32 * config.width_mult)
        layers = [conv_bn_relu(input_shape[0], c)]
        for t, channels, n, s in STAGES:
            c_out = divisible(channels * config.width_mult)
            for i in range(n):
                layers.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                c = c_out
        last = divisible(LAST_CHANNELS * config.width_mult)
        layers.append(conv_bn_relu(c, last, kernel=1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)
        init_conv_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(self.normalization(x))).flatten(1))
