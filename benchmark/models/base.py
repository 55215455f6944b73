"""Architectures: typed factories whose models declare the layers explainers and methods read."""
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import torch
from torch import nn

from xaibench.component import Component


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std``: the first layer of every model, so inputs stay raw."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)  # channels on axis 1, any number of trailing axes
        return (x - self.mean.view(shape)) / self.std.view(shape)


class Architecture(Component, nn.Module):
    """Base of every model: ``forward(x)`` returns logits, ``normalization`` is the first layer.

    Class metadata declares ``modality``, ``cam_layer`` (the module whose output Grad-CAM reads,
    a path for ``get_submodule``), ``flint_layers``, ``embedding_layer`` (text models: where
    attributions are taken), ``lrp_supported``, ``flops_depend_on_data`` (a batch's work depends on more
    than its shape, e.g. packed sequences: training then counts every step's FLOPs, not one step per shape) and
    ``mode_free`` (the forward is the same in train and eval mode: no dropout, no batch norm; methods that need an
    eval-mode pass may then reuse the training pass, e.g. SGT's saliency).
    The constructor is the typed factory:
    ``Arch(config, input_shape, num_classes, mean=..., std=..., vocab_size=...)``, where mean and std
    are the per-channel training statistics (images, time series) and vocab_size is for text.
    """

    modality: ClassVar[Literal["image", "time_series", "text"]] = "image"
    cam_layer: ClassVar[str | None] = None
    flint_layers: ClassVar[tuple[str, ...]] = ()
    embedding_layer: ClassVar[str | None] = None
    lrp_supported: ClassVar[bool] = False
    flops_depend_on_data: ClassVar[bool] = False
    mode_free: ClassVar[bool] = False

    def __init__(self, config: object, input_shape: tuple[int, ...], num_classes: int, *,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 vocab_size: int | None = None):
        nn.Module.__init__(self)
        self.cfg = self.make_config(config)  # a ready Config is checked against its ranges too
        channels = input_shape[0]
        self.vocab_size = vocab_size
        self.normalization = Normalize(mean or [0.0] * channels, std or [1.0] * channels)
