"""A small Vision Transformer."""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import torch
from torch import nn

from xaibench.errors import ConfigError
from xaibench.models.base import Architecture
from xaibench.ranges import PositiveInt, Range
from xaibench.registries import ARCHITECTURES


@ARCHITECTURES.register
class ViT(Architecture):
    """Vision Transformer: Conv2d patch embedding, class token, learned positions, pre-norm encoder blocks, linear head.

    The blocks are ``nn.TransformerEncoderLayer`` (pre-norm, GELU, no dropout); the head reads the class token after
    a final LayerNorm ``norm``. ``flint_layers`` outputs are token sequences N x (1 + patches) x dim. No
    ``cam_layer`` (no convolutional feature map) and no LRP (attention and residual additions have no captum rule).

    >>> model = ViT(ViT.Config(dim=8, depth=2, heads=2), (1, 28, 28), num_classes=10)
    >>> model(torch.zeros(2, 1, 28, 28)).shape, model.pos_embedding.shape
    (torch.Size([2, 10]), torch.Size([1, 50, 8]))
    """

    name = "vit"
    version = "1"
    modality = "image"
    flint_layers = ("blocks.1", "norm")  # a middle and the last token representation
    lrp_supported = False

    @dataclasses.dataclass(frozen=True)
    class Config:
        patch_size: PositiveInt = 4
        dim: PositiveInt = 64
        depth: Annotated[int, Range(ge=2)] = 4  # flint_layers reads blocks.1
        heads: PositiveInt = 4
        mlp_ratio: PositiveInt = 2

        def __post_init__(self) -> None:
            if self.heads < 1 or self.dim % self.heads:
                raise ValueError(f"dim={self.dim} is not divisible by heads={self.heads}")

    def __init__(self, config: Config, input_shape: tuple[int, ...], num_classes: int, **data: Any):
        super().__init__(config, input_shape, num_classes, **data)
        channels, height, width = input_shape
        p, d = config.patch_size, config.dim
        if height % p or width % p:
            raise ConfigError(f"vit: patch_size={p} does not divide the input size {height}x{width}")
        self.patch_embedding = nn.Conv2d(channels, d, p, stride=p)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 1 + (height // p) * (width // p), d))
        nn.init.trunc_normal_(self.class_token, std=0.02)  # as the reference ViT
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        self.blocks = nn.Sequential(*(
            nn.TransformerEncoderLayer(d, config.heads, config.mlp_ratio * d, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(config.depth)))
        self.norm = nn.LayerNorm(d)
        self.classifier = nn.Linear(d, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(self.normalization(x)).flatten(2).transpose(1, 2)  # N x patches x dim
        tokens = torch.cat([self.class_token.expand(len(x), -1, -1), patches], dim=1) + self.pos_embedding
        return self.classifier(self.norm(self.blocks(tokens))[:, 0])
