"""Model parameter randomization test (Adebayo et al. 2018), cascading. Spec: METRICS.md §4."""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from .maps import EXPLAIN_BATCH, Pooling, chunked, pool, sample_index
from .stats import spearman


def layers_output_to_input(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """Modules with their own parameters, except the input normalization, ordered from the output
    back to the input by when they first run in a forward pass on ``x``."""
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
    """Re-initialize ``layer`` with its own ``reset_parameters`` under a seeded RNG; reset BatchNorm statistics."""
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
    """ρ_l per sample (N x L): Spearman between the original map and the map after re-initializing the
    top l layers (cumulatively, output first); the target stays the original one."""
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
