"""A fully connected ReLU network on the flattened input."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


@ARCHITECTURES.register
class MLP(Architecture):
    """MLP: flatten, Linear-ReLU hidden layers, linear head.

    The flatten is a reshape in ``forward`` (not an ``nn.Flatten`` module) so captum's LRP accepts every layer.

    >>> model = MLP(MLP.Config(hidden=(8,)), (1, 28, 28), num_classes=10)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    name = "mlp"
    version = "1"
    modality = "image"
    flint_layers = ("hidden.0",)  # the first hidden layer's ReLU output, N x hidden[0]
    lrp_supported = True
    mode_free = True  # no dropout, no batch norm

    @dataclasses.dataclass(frozen=True)
    class Config:
        hidden: tuple[PositiveInt, ...] = (256, 128)

        def __post_init__(self) -> None:
            if not self.hidden:
                raise ValueError(f"hidden={list(self.hidden)}: needs at least one layer")

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        widths = (math.prod(input_shape), *config.hidden)
        self.hidden = nn.Sequential(*(nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(widths, widths[1:])))
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.hidden(self.normalization(x).flatten(1)))
