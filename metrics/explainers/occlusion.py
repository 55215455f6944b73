"""Occlusion: captum's sliding black window, the target-logit drop averaged over the windows covering each input."""
from __future__ import annotations

import dataclasses
from typing import Any

import captum.attr
import torch

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.ranges import PositiveInt
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class Occlusion(CaptumExplainer):
    """Occlusion (Zeiler & Fergus 2014): how much the target logit drops when a window is set to 0.

    The default window spans all channels and 4 (stride 2) positions per spatial axis when the
    smallest spatial size is below 64, else 16 (stride 8) [D]. With a window of one entry the map
    of a linear model is x ⊙ W_c:

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = torch.rand(1, 1, 2, 2)
    >>> A = Occlusion(model, {"window": [1, 1, 1], "stride": 1}).explain(x, torch.tensor([0]))
    >>> torch.allclose(A.flatten(1), x.flatten(1) * model[1].weight[:1])
    True
    """

    name = "occlusion"
    version = "1"
    method = captum.attr.Occlusion

    @dataclasses.dataclass(frozen=True)
    class Config:
        window: tuple[PositiveInt, ...] | None = None  # (C, *spatial); None: the default above
        stride: PositiveInt | None = None
        internal_batch_size: PositiveInt = 64  # occluded copies per forward pass

    def captum_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        window, stride = self.window(x.shape[1:])
        # captum evaluates N · perturbations_per_eval occluded inputs per pass.
        per_eval = max(1, self.cfg.internal_batch_size // max(len(x), 1))
        return {"sliding_window_shapes": window, "strides": stride, "baselines": 0.0,
                "perturbations_per_eval": per_eval}

    def window(self, shape: torch.Size) -> tuple[tuple[int, ...], int]:
        """The sliding window (C, *spatial) and stride for inputs of one sample's ``shape``."""
        large = min(shape[1:]) >= 64
        size, stride = (16, 8) if large else (4, 2)
        window = self.cfg.window or (shape[0], *(min(size, s) for s in shape[1:]))
        if len(window) != len(shape):
            raise ConfigError(f"explainer '{self.name}': params.window {list(window)} needs {len(shape)} "
                              f"entries (channels first) for inputs of shape {tuple(shape)}")
        return tuple(window), self.cfg.stride or stride
