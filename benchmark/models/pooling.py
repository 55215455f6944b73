"""Max pooling that runs channels-last when no gradient is needed: the same values, faster on the CPU."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` whose no-grad CPU forward pools a channels-last copy and returns it contiguous again.

    torch's CPU max pooling is several times slower on NCHW than on NHWC tensors (perf/maxpool_layout.py); a maximum
    is exact, so the values are identical. With a gradient the NCHW kernel stays (its backward is the faster one).
    Explainers that look for ``nn.MaxPool2d`` still find it.

    >>> x = torch.rand(2, 3, 8, 8)
    >>> with torch.no_grad():
    ...     torch.equal(MaxPool2d(2)(x), nn.MaxPool2d(2)(x))
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.device.type != "cpu" or (torch.is_grad_enabled() and x.requires_grad) \
                or self.return_indices:
            return super().forward(x)
        return F.max_pool2d(x.contiguous(memory_format=torch.channels_last), self.kernel_size, self.stride,
                            self.padding, self.dilation, ceil_mode=self.ceil_mode).contiguous()
