"""A narrow CIFAR-style ResNet-18."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


def conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut (1x1 conv-BN when the shape changes), each followed by its own ReLU.

    >>> BasicBlock(4, 8, stride=2)(torch.zeros(1, 4, 8, 8)).shape
    torch.Size([1, 8, 4, 4])
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv_bn(c_in, c_out, stride=stride)
        self.relu1 = nn.ReLU()
        self.conv2 = conv_bn(c_out, c_out)
        self.shortcut = conv_bn(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else nn.Identity()
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.conv2(self.relu1(self.conv1(x))) + self.shortcut(x))


def init_conv_weights(model: nn.Module) -> None:
    """He-normal (fan-in) convs, which keep the signal's scale through conv-ReLU layers. PyTorch's default, and
    torchvision's fan-out for narrow-to-wide convs, shrink it per layer: an untrained MobileNet-V2 in eval mode (BatchNorm
    the identity) then gives the same logits for every input, and checks on untrained models see nothing."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")


@ARCHITECTURES.register
class ResNet18(Architecture):
    """ResNet-18: 3x3 stem without max-pool (CIFAR-style), four stages of two basic blocks, BatchNorm, GAP head.

    Stage widths are ``width * (1, 2, 4, 8)``; strides (1, 2, 2, 2) give 4x4 maps in ``layer4`` at 28 and 32 px.
    LRP is off: captum has no rule for the residual additions.

    >>> model = ResNet18(ResNet18.Config(width=4), (3, 32, 32), num_classes=10)
    >>> model(torch.zeros(2, 3, 32, 32)).shape, model.get_submodule("layer4")(torch.zeros(1, 16, 8, 8)).shape
    (torch.Size([2, 10]), torch.Size([1, 32, 4, 4]))
    """

    name = "resnet18"
    version = "1"
    modality = "image"
    cam_layer = "layer4"
    flint_layers = ("layer3", "layer4.0")  # as FLINT's ResNet design (TRAINING_METHODS.md §3)
    lrp_supported = False

    @dataclasses.dataclass(frozen=True)
    class Config:
        width: PositiveInt = 16  # the original is 64; 16 keeps an epoch of 10k 32 px images CPU-friendly

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        w = config.width
        self.stem = conv_bn(input_shape[0], w)
        self.stem_relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(w, w), BasicBlock(w, w))
        self.layer2 = nn.Sequential(BasicBlock(w, 2 * w, 2), BasicBlock(2 * w, 2 * w))
        self.layer3 = nn.Sequential(BasicBlock(2 * w, 4 * w, 2), BasicBlock(4 * w, 4 * w))
        self.layer4 = nn.Sequential(BasicBlock(4 * w, 8 * w, 2), BasicBlock(8 * w, 8 * w))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(8 * w, num_classes)
        init_conv_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem_relu(self.stem(self.normalization(x)))
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
        return self.classifier(self.pool(h).flatten(1))
