"""DeepLift: captum's rescale rule against the black (all-zero) baseline."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import captum.attr
import torch

from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.registries import EXPLAINERS


@contextlib.contextmanager
def cpu_max_unpool_allowed(device: torch.device) -> Iterator[None]:
    """Let captum's max-pool rule call max_unpool under ``torch.use_deterministic_algorithms`` on the CPU.

    torch flags max_unpool as nondeterministic for every device, but its CPU kernel gives each
    (sample, channel) plane to one thread that writes it in order, so the result is reproducible.
    """
    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), \
        torch.is_deterministic_algorithms_warn_only_enabled()
    if not enabled or device.type != "cpu":
        yield
        return
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(True, warn_only=warn_only)


@EXPLAINERS.register
class DeepLift(CaptumExplainer):
    """DeepLift (Shrikumar et al. 2017), rescale rule, baseline 0: Σ A = z_c(x) − z_c(0) on ReLU nets without max-pool.

    captum's max-pool rule (kept: this is captum's DeepLift) does not conserve the sum (EXPLAINERS.md §1).

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x, target = torch.rand(2, 1, 2, 2), torch.tensor([0, 1])
    >>> A = DeepLift(model).explain(x, target)
    >>> gap = model(x) - model(torch.zeros_like(x))
    >>> torch.allclose(A.sum((1, 2, 3)), gap[[0, 1], target], atol=1e-5)
    True
    """

    name = "deeplift"
    version = "1"
    requires = frozenset({"relu_modules"})
    method = captum.attr.DeepLift  # captum's default baseline is zeros

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        with cpu_max_unpool_allowed(x.device):
            return super().attribute(x, target, index)
