"""A bidirectional LSTM over token embeddings that never reads the padding."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt
from xaibench.registries import ARCHITECTURES


def lengths(x: torch.Tensor, pad: int = 0) -> torch.Tensor:
    """Per row, one past the last non-padding token (at least 1): padding sits at the end, and a 0 inside
    the text (a removed token) still counts as a position.

    >>> lengths(torch.tensor([[5, 0, 7, 0], [0, 0, 0, 0]])).tolist()
    [3, 1]
    """
    positions = torch.arange(1, x.shape[1] + 1, device=x.device)
    return (positions * (x != pad)).amax(1).clamp_min(1)


@ARCHITECTURES.register
class TextBiLSTM(Architecture):
    """Bidirectional LSTM for text: embeddings (padding id 0), packed sequences, both final states to a linear head.

    >>> model = TextBiLSTM(TextBiLSTM.Config(), (16,), num_classes=2, vocab_size=50)
    >>> model(torch.tensor([[4, 9, 2, 0, 0]])).shape
    torch.Size([1, 2])
    """

    name = "text_bilstm"
    version = "1"
    modality = "text"
    embedding_layer = "embedding"
    lrp_supported = False  # captum's LRP has no rule for LSTM
    flops_depend_on_data = True  # packed sequences: the LSTM's work follows the texts' lengths

    @dataclasses.dataclass(frozen=True)
    class Config:
        dim: PositiveInt = 64
        hidden: PositiveInt = 64

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        if not self.vocab_size:
            raise ValueError(f"{self.name} needs vocab_size, got {self.vocab_size!r}")
        self.embedding = nn.Embedding(self.vocab_size, config.dim, padding_idx=0)
        self.lstm = nn.LSTM(config.dim, config.hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * config.hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # packing stops each direction at the text's end, so trailing padding changes nothing
        packed = pack_padded_sequence(self.embedding(x), lengths(x).cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.classifier(torch.cat([h[-2], h[-1]], 1))  # forward and backward final states
