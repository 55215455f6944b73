"""A Transformer encoder over time steps; its building blocks are shared with the text Transformer."""
from __future__ import annotations

import dataclasses
import math
from typing import Annotated, Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt, Range
from xaibench.registries import ARCHITECTURES


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The fixed sine/cosine position codes of Vaswani et al. (length x dim): no learned table, so any length works.

    >>> expected = torch.tensor([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)])
    >>> torch.allclose(sinusoidal_positions(3, 4)[1], expected)
    True
    """
    position = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim)
    codes[:, 0::2] = torch.sin(position * freq)
    codes[:, 1::2] = torch.cos(position * freq[:dim // 2])
    return codes


def encoder(dim: int, heads: int, layers: int, dropout: float) -> nn.TransformerEncoder:
    """Post-norm encoder layers whose feed-forward ReLU is an ``nn.ReLU`` module (one per layer, as the layer
    is deep-copied), so explainers can swap its backward rule."""
    layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout,
                                       activation=nn.ReLU(), batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def masked_mean(h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of N x L x D over the positions where ``keep`` (N x L) is true; zero for an empty row.

    >>> masked_mean(torch.tensor([[[1.0], [3.0], [9.0]]]), torch.tensor([[True, True, False]])).tolist()
    [[2.0]]
    """
    keep = keep.to(h.dtype)[..., None]
    return (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)


@ARCHITECTURES.register
class TimeSeriesTransformer(Architecture):
    """Transformer encoder for time series: per-step linear embedding, sinusoidal positions, mean over time.

    >>> model = TimeSeriesTransformer(TimeSeriesTransformer.Config(), (3, 40), num_classes=2)
    >>> model(torch.zeros(5, 3, 40)).shape
    torch.Size([5, 2])
    """

    name = "ts_transformer"
    version = "1"
    modality = "time_series"
    lrp_supported = False  # captum's LRP has no rule for attention or LayerNorm

    @dataclasses.dataclass(frozen=True)
    class Config:
        dim: PositiveInt = 32
        heads: PositiveInt = 4
        layers: PositiveInt = 2
        dropout: Annotated[float, Range(ge=0, lt=1)] = 0.1

        def __post_init__(self) -> None:
            if self.heads < 1 or self.dim % self.heads:
                raise ValueError(f"dim={self.dim} is not divisible by heads={self.heads}")

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **stats: Any):
        super().__init__(config, input_shape, num_classes, **stats)
        self.embed = nn.Linear(input_shape[0], config.dim)
        self.encoder = encoder(config.dim, config.heads, config.layers, config.dropout)
        self.classifier = nn.Linear(config.dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(self.normalization(x).transpose(1, 2))  # N x T x dim
        h = self.encoder(h + sinusoidal_positions(h.shape[1], h.shape[2]).to(h))
        return self.classifier(h.mean(1))
