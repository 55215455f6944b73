"""An LSTM over time steps, read out from its last hidden state."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


@ARCHITECTURES.register
class TimeSeriesLSTM(Architecture):
    """LSTM for time series: features at each step in, the last step's hidden state to a linear head.

    >>> model = TimeSeriesLSTM(TimeSeriesLSTM.Config(), (3, 40), num_classes=2)
    >>> model(torch.zeros(5, 3, 40)).shape
    torch.Size([5, 2])
    """

    name = "ts_lstm"
    version = "1"
    modality = "time_series"
    lrp_supported = False  # captum's LRP has no rule for LSTM

    @dataclasses.dataclass(frozen=True)
    class Config:
        hidden: PositiveInt = 64
        layers: PositiveInt = 1

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **stats: Any):
        super().__init__(config, input_shape, num_classes, **stats)
        self.lstm = nn.LSTM(input_shape[0], config.hidden, config.layers, batch_first=True)
        self.classifier = nn.Linear(config.hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.normalization(x).transpose(1, 2))  # N x F x T -> N x T x F
        return self.classifier(h[-1])
