"""A Transformer encoder over token embeddings, with padding masked out of attention and pooling."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.models.base import Architecture
from xaibench.models.ts_transformer import TimeSeriesTransformer, encoder, masked_mean, sinusoidal_positions
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


@ARCHITECTURES.register
class TextTransformer(Architecture):
    """Transformer encoder for text: embeddings (padding id 0) plus sinusoidal positions, padding-masked mean, linear head.

    >>> model = TextTransformer(TextTransformer.Config(), (16,), num_classes=2, vocab_size=50)
    >>> model(torch.tensor([[4, 9, 2, 0, 0]])).shape
    torch.Size([1, 2])
    """

    name = "text_transformer"
    version = "1"
    modality = "text"
    embedding_layer = "embedding"
    lrp_supported = False  # captum's LRP has no rule for attention or LayerNorm

    @dataclasses.dataclass(frozen=True)
    class Config(TimeSeriesTransformer.Config):  # the same encoder settings, a wider default
        dim: PositiveInt = 64

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        if not self.vocab_size:
            raise ValueError(f"{self.name} needs vocab_size, got {self.vocab_size!r}")
        self.embedding = nn.Embedding(self.vocab_size, config.dim, padding_idx=0)
        self.encoder = encoder(config.dim, config.heads, config.layers, config.dropout)
        self.classifier = nn.Linear(config.dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x != self.embedding.padding_idx
        # a text with every token removed attends to all positions rather than to none (which gives NaN)
        ignore = ~tokens & tokens.any(1, keepdim=True)
        h = self.embedding(x)
        h = self.encoder(h + sinusoidal_positions(h.shape[1], h.shape[2]).to(h), src_key_padding_mask=ignore)
        return self.classifier(masked_mean(h, tokens))
