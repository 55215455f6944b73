"""LRP: captum's layer-wise relevance propagation, for architectures that declare captum supports them."""
from __future__ import annotations

import captum.attr
import torch
from captum.attr._utils.lrp_rules import IdentityRule
from torch import nn

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.captum_adapter import CaptumExplainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class LRP(CaptumExplainer):
    """LRP (Bach et al. 2015) with captum's default rules; the input normalization passes relevance unchanged.

    Only for architectures declaring ``lrp_supported`` (no silent fallback). On one bias-free
    Linear layer the map is x ⊙ W_c:

    >>> model = nn.Sequential(nn.Linear(4, 3, bias=False))  # captum reads the layers inside a container
    >>> x = torch.rand(2, 4)
    >>> A = LRP(model).explain(x, torch.tensor([1, 0]))
    >>> torch.allclose(A, x * model[0].weight[[1, 0]])
    True
    """

    name = "lrp"
    version = "1"
    mean_shift_invariant = True  # the identity rule at the normalization layer
    method = captum.attr.LRP

    @classmethod
    def supports(cls, arch_cls: type) -> str | None:
        if not getattr(arch_cls, "lrp_supported", False):
            arch = getattr(arch_cls, "name", "") or arch_cls.__name__
            return f"explainer 'lrp' is unsupported: architecture '{arch}' does not declare lrp_supported"
        return super().supports(arch_cls)

    def setup(self) -> None:
        if getattr(self.model, "lrp_supported", True) is False:  # plain nn.Modules get captum's own check
            raise ConfigError(f"explainer 'lrp' is unsupported: model {type(self.model).__name__} "
                              "does not declare lrp_supported")
        super().setup()

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        normalization = getattr(self.model, "normalization", None)
        if normalization is not None:  # captum deletes every rule after each call
            normalization.rule = IdentityRule()
        return super().attribute(x, target, index)
