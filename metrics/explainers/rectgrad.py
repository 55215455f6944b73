"""Rectified gradients (EXPLAINERS.md §3): a percentile gate on importance a ⊙ grad at every ReLU."""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Annotated, Any, Literal

import captum.attr
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.ranges import Range
from xaibench.registries import EXPLAINERS


def percentile(s: torch.Tensor, q: float, interpolation: Literal["nearest", "linear"] = "nearest") -> torch.Tensor:
    """Per-row q-th percentile of N×U ``s`` exactly as TensorFlow Probability computed it before May 2020
    (``tfp.stats.percentile``, and ``tf.contrib.distributions.percentile``, which the RectGrad authors called): sort
    descending, position e = (U−1)·(1 − q/100) in float64; ``nearest`` takes index round(e), half to even;
    ``linear`` interpolates between floor(e) and ceil(e). At exact halves this is not numpy's ascending rule.

    >>> s = torch.tensor([[4., 1., 3., 2.]])
    >>> percentile(s, 50).item(), percentile(s, 50, "linear").item()  # e = 1.5 rounds to 2: [4, 3, 2, 1][2]
    (2.0, 2.5)
    """
    ordered = s.sort(dim=1, descending=True).values
    last = s.shape[1] - 1
    position = last * (1.0 - q / 100.0)  # Python floats are float64, as TFP's cast of q and d

    def at(index: float) -> torch.Tensor:
        return ordered[:, min(max(int(index), 0), last)]  # TFP clips the index to [0, U − 1]

    if interpolation == "nearest":
        return at(round(position))  # Python's round is half-to-even, as tf.round
    fraction = torch.tensor(math.ceil(position) - position, dtype=s.dtype)
    return at(math.ceil(position)) * (1 - fraction) + at(math.floor(position)) * fraction


class _RectifiedReLU(torch.autograd.Function):
    """relu forward; backward grad_out · 1[a ⊙ grad_out > τ] with τ per sample (no 1[pre > 0] gate)."""

    @staticmethod
    def forward(ctx: Any, inputs: torch.Tensor, threshold: Any) -> torch.Tensor:
        out = torch.relu(inputs)
        ctx.save_for_backward(out)
        ctx.threshold = threshold
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (out,) = ctx.saved_tensors
        importance = out * grad
        tau = ctx.threshold(importance.flatten(1)).view(-1, *(1 for _ in grad.shape[1:]))
        return grad * (importance > tau), None


class _ProportionalPool(torch.autograd.Function):
    """max-pool forward; backward redistributes in proportion to the inputs: x · avgpool_vjp(g / (avgpool(x) + ε))."""

    @staticmethod
    def forward(ctx: Any, inputs: torch.Tensor, out: torch.Tensor, avgpool: Any) -> torch.Tensor:
        ctx.save_for_backward(inputs)
        ctx.avgpool = avgpool
        return out.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (inputs,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = inputs.detach().requires_grad_(True)
            mean = ctx.avgpool(leaf)
            (vjp,) = torch.autograd.grad(mean, leaf, grad / (mean.detach() + 1e-10))
        return inputs * vjp, None, None


def _zero_ring(grad: torch.Tensor) -> torch.Tensor:
    """The gradient with its outermost entry along every spatial axis set to 0 (the padding trick)."""
    grad = grad.clone()
    for dim in range(2, grad.dim()):
        grad.narrow(dim, 0, 1).zero_()
        grad.narrow(dim, grad.shape[dim] - 1, 1).zero_()
    return grad


def _padding_trick(conv: nn.Module, inputs: Any, out: torch.Tensor) -> None:
    if out.requires_grad:  # a tensor hook: it goes with the graph
        out.register_hook(_zero_ring)


def _pads(conv: nn.Module) -> bool:
    padding = conv.padding
    return padding != "valid" if isinstance(padding, str) else any(p > 0 for p in padding)


class RectifiedGradient(CaptumExplainer):
    """Shared mechanics: hooks that install the RectGrad ReLU rule, the padding trick and PRR max-pooling.

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> model = SmallCNN(SmallCNN.Config(width=4), (1, 16, 16), num_classes=3)
    >>> with NoBiasRectGrad(model) as e:
    ...     A = e.explain(torch.rand(2, 1, 16, 16), torch.tensor([0, 2]))
    >>> A.shape
    torch.Size([2, 1, 16, 16])
    """

    requires = frozenset({"relu_modules"})

    @dataclasses.dataclass(frozen=True)
    class Config:
        q: Annotated[float, Range(ge=0, le=100)] = 98.0  # percentile of the importances a ⊙ grad kept (strictly above) per sample and layer
        interpolation: Literal["nearest", "linear"] = "nearest"
        threshold: Literal["percentile", "fixed"] = "percentile"  # fixed: τ = 0 (RectGradConst)
        padding_trick: bool = True
        prr: bool = False  # proportional redistribution at max-pool layers

    def setup(self) -> None:
        super().setup()
        cfg = self.cfg
        if cfg.threshold == "fixed":
            threshold = lambda s: torch.zeros(len(s), dtype=s.dtype, device=s.device)  # noqa: E731
        else:
            threshold = functools.partial(percentile, q=cfg.q, interpolation=cfg.interpolation)
        for name, module in self.model.named_modules():
            if isinstance(module, nn.ReLU):
                self.add_hook(module.register_forward_hook(
                    lambda m, inputs, out: _RectifiedReLU.apply(inputs[0], threshold)))
            elif cfg.padding_trick and isinstance(module, (nn.Conv1d, nn.Conv2d)) and _pads(module):
                self.add_hook(module.register_forward_hook(_padding_trick))
            elif cfg.prr and isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
                self.add_hook(module.register_forward_hook(self._prr_hook(name, module)))

    def _prr_hook(self, name: str, pool: nn.Module) -> Any:
        if pool.dilation not in (1, (1,), (1, 1)) or pool.return_indices:
            raise ConfigError(f"explainer '{self.name}': prr does not support max-pool '{name}' "
                              "with dilation or return_indices")
        avg = F.avg_pool1d if isinstance(pool, nn.MaxPool1d) else F.avg_pool2d
        avgpool = functools.partial(avg, kernel_size=pool.kernel_size, stride=pool.stride, padding=pool.padding,
                                    ceil_mode=pool.ceil_mode)
        return lambda m, inputs, out: _ProportionalPool.apply(inputs[0], out, avgpool)


@EXPLAINERS.register
class RectGrad(RectifiedGradient):
    """RectGrad (Kim et al. 2019): x ⊙ the rectified gradient, which keeps the top 2% importances at each ReLU.

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x = torch.rand(2, 1, 2, 2)
    >>> A, B = RectGrad(model).explain(x, torch.tensor([0, 1])), NoBiasRectGrad(model).explain(x, torch.tensor([0, 1]))
    >>> torch.equal(A, B * x)
    True
    """

    name = "rectgrad"
    version = "2"  # 2: TFP's descending percentile (ERRATA)
    method = captum.attr.InputXGradient


@EXPLAINERS.register
class NoBiasRectGrad(RectifiedGradient):
    """NoBias-RectGrad (Brocki & Chung 2020): the rectified gradient itself, without the final ⊙ x.

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))  # no ReLU: the plain gradient W_c
    >>> A = NoBiasRectGrad(model).explain(torch.rand(1, 1, 2, 2), torch.tensor([1]))
    >>> torch.equal(A.flatten(1), model[1].weight[1:])
    True
    """

    name = "nobias_rectgrad"
    version = "2"  # 2: TFP's descending percentile (ERRATA)
    mean_shift_invariant = True  # the gates depend on activations only
    method = captum.attr.Saliency

    def captum_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        return {"abs": False}
