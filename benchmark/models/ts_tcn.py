"""A temporal convolutional network (Bai et al. 2018): dilated causal Conv1d blocks with residuals."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt, Range
from xaibench.registries import ARCHITECTURES


class TemporalBlock(nn.Module):
    """Two dilated causal convolutions with ReLUs, plus the (1x1-projected) input: ``relu(net(x) + res(x))``.

    >>> TemporalBlock(3, 8, kernel=3, dilation=2)(torch.zeros(1, 3, 20)).shape
    torch.Size([1, 8, 20])
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int):
        super().__init__()
        pad = (kernel - 1) * dilation  # on the left only: the output at t sees inputs up to t
        self.net = nn.Sequential(
            nn.ConstantPad1d((pad, 0), 0.0), nn.Conv1d(c_in, c_out, kernel, dilation=dilation), nn.ReLU(),
            nn.ConstantPad1d((pad, 0), 0.0), nn.Conv1d(c_out, c_out, kernel, dilation=dilation), nn.ReLU(),
        )
        self.residual = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.net(x) + self.residual(x))


@ARCHITECTURES.register
class TimeSeriesTCN(Architecture):
    """TCN for time series: causal residual blocks with dilations 1, 2, 4, ..., global average pooling over time, linear head.

    >>> model = TimeSeriesTCN(TimeSeriesTCN.Config(), (3, 40), num_classes=2)
    >>> model(torch.zeros(5, 3, 40)).shape
    torch.Size([5, 2])
    """

    name = "ts_tcn"
    version = "1"
    modality = "time_series"
    cam_layer = "last_block"  # full time resolution
    flint_layers = ("blocks",)  # the output of the blocks before the last
    lrp_supported = False  # captum's LRP has no rule for Conv1d or the residual sum
    mode_free = True  # no dropout, no batch norm

    @dataclasses.dataclass(frozen=True)
    class Config:
        width: PositiveInt = 32
        kernel: PositiveInt = 3
        levels: Annotated[int, Range(ge=2)] = 3  # dilations 1, 2, 4: a receptive field of 29 steps at kernel 3

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **stats: Any):
        super().__init__(config, input_shape, num_classes, **stats)
        w = config.width
        self.blocks = nn.Sequential(*(TemporalBlock(input_shape[0] if i == 0 else w, w, config.kernel, 2**i)
                                      for i in range(config.levels - 1)))
        self.last_block = TemporalBlock(w, w, config.kernel, 2 ** (config.levels - 1))
        self.classifier = nn.Linear(w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # pooling over all steps, not reading the last one: the evidence may lie outside the last receptive field
        return self.classifier(self.last_block(self.blocks(self.normalization(x))).mean(2))
