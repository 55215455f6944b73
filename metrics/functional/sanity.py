"""Model parameter randomization test (Adebayo et al. 2018), cascading. Spec: METRICS.md §4."""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .maps import EXPLAIN_BATCH, Pooling, chunked, pool, sample_index
from .stats import spearman


def layers_output_to_input(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """The model's parameterized layers in MPRT's cascade order: from the output back to the input.

    Modules with parameters of their own, except the input normalization, ordered by when they first run in one
    forward pass on ``x[:1]`` (forward hooks, removed afterwards), then reversed.

    Args:
        model: the model; its ``normalization`` layer, if any, is skipped.
        x: inputs, N x ..., of which the first sample is run.

    Returns:
        The layers, output first, a list of modules of ``model``.

    Example:
        >>> from xaibench.testing import example_model
        >>> model, x = example_model("small_cnn", n=1)
        >>> [type(layer).__name__ for layer in layers_output_to_input(model, x)]
        ['Linear', 'Conv2d', 'Conv2d', 'Conv2d']
    """
    skip = getattr(model, "normalization", None)
    order: list[nn.Module] = []
    candidates = [m for m in model.modules() if m is not skip and any(True for _ in m.parameters(recurse=False))]
    hooks = [m.register_forward_hook(lambda mod, *_: order.append(mod) if mod not in order else None)
             for m in candidates]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in hooks:
            h.remove()
    return order[::-1]


def randomize(layer: nn.Module, seed: int) -> None:
    """Re-initialize one layer in place with its own ``reset_parameters``, under a seeded RNG.

    The global RNG state is restored afterwards (``torch.random.fork_rng``); BatchNorm running statistics are reset.

    Args:
        layer: the module to re-initialize; it must have ``reset_parameters``.
        seed: the seed of the re-initialization.

    Returns:
        None (``layer`` is changed in place).

    Raises:
        TypeError: the layer has no ``reset_parameters``.

    Example:
        >>> a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
        >>> randomize(a, 7); randomize(b, 7)
        >>> torch.equal(a.weight, b.weight)
        True
    """
    devices = [p.device for p in layer.parameters() if p.device.type == "cuda"][:1]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if hasattr(layer, "reset_running_stats"):
            layer.reset_running_stats()
        if not hasattr(layer, "reset_parameters"):
            raise TypeError(f"MPRT cannot re-initialize {type(layer).__name__}: it has no reset_parameters()")
        layer.reset_parameters()


def mprt_curve(model: nn.Module, x: torch.Tensor, target: torch.Tensor, attributions: torch.Tensor,
               make_explainer: Callable[[nn.Module], object], *, index: torch.Tensor | None = None, seed: int = 0,
               pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Cascading model parameter randomization (Adebayo et al. 2018): ρ_l per sample and randomized depth l.

    ρ_l = Spearman(pool(A), pool(E(f_l, x))) where f_l has its top l layers (``layers_output_to_input``) re-initialized
    cumulatively, layer l with seed ``seed + l``; the targets stay the original ones. The explainer runs in batches
    of ``EXPLAIN_BATCH`` samples. ``model`` itself is not changed (a deep copy is randomized).

    Args:
        model: classifier, N x ... -> N x K logits.
        x: inputs, N x ..., floating.
        target: class per sample, N, long.
        attributions: the original maps E(f, x), N x C x H x W (or N x H x W).
        make_explainer: builds an explainer (a context manager with ``explain(x, target, index=...)``) from a model,
            for example an explainer class.
        index: the samples' dataset indices, N, long; default None = 0..N-1.
        seed: the base seed of the re-initializations, default 0.
        pooling: channel pooling of both maps (``maps.pool``), default ``"sum,abs"``.

    Returns:
        ρ, N x L (L parameterized layers), float64, in [-1, 1].

    Example:
        >>> from xaibench.metrics.explainers.saliency import Saliency
        >>> from xaibench.testing import example_model
        >>> model, x = example_model("small_cnn", n=2)
        >>> target = torch.tensor([0, 1])
        >>> mprt_curve(model, x, target, Saliency(model).explain(x, target), Saliency).shape  # 4 layers
        torch.Size([2, 4])
    """
    randomized = copy.deepcopy(model).eval()
    index = sample_index(index, len(x))
    curve = []
    for l, layer in enumerate(layers_output_to_input(randomized, x), start=1):
        randomize(layer, seed + l)
        with make_explainer(randomized) as explainer:
            # Batches of EXPLAIN_BATCH samples: the explainer's memory does not grow with N.
            curve.append(chunked(lambda sl: spearman(pool(attributions[sl], pooling), pool(
                explainer.explain(x[sl], target[sl], index=index[sl]), pooling)), len(x), EXPLAIN_BATCH))
    return torch.stack(curve, 1)
