"""FLINT relevance maps (EXPLAINERS.md §4): the input gradient of the relevance-weighted attributes."""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F

from xaibench.errors import ConfigError
from xaibench.methods.flint import flint_nets, relevance
from xaibench.methods.hooks import capture_outputs
from xaibench.metrics.explainers.base import Explainer
from xaibench.metrics.explainers.cam import expand_like, upsample
from xaibench.metrics.functional.maps import minmax
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class FlintRelevance(Explainer):
    """FLINT relevance (FLINT models only): ∂/∂x Σ_j r̄_j Φ_j(x), r̄ = the attributes' detached relevance for the target.

    r_j = |Φ_j(x) w_cj| / max_i |Φ_i(x) w_ci| with w = the interpreter's weight (METRICS.md §8). ``form=gradcam``
    gives the Grad-CAM of the same scalar at the first ``flint_layers`` entry, replicated over channels.

    >>> from xaibench.methods.flint import attach_flint
    >>> from xaibench.models.small_cnn import SmallCNN
    >>> model = SmallCNN(SmallCNN.Config(width=4), (1, 32, 32), num_classes=4)
    >>> _ = attach_flint(model, torch.rand(2, 1, 32, 32))
    >>> with FlintRelevance(model) as e:
    ...     A = e.explain(torch.rand(2, 1, 32, 32), torch.tensor([0, 3]))
    >>> A.shape
    torch.Size([2, 1, 32, 32])
    """

    name = "flint_relevance"
    version = "1"
    requires = frozenset({"flint"})
    mean_shift_invariant = True  # a function of internal activations only (EXPLAINERS.md §5)

    @dataclasses.dataclass(frozen=True)
    class Config:
        form: Literal["gradient", "gradcam"] = "gradient"

    def setup(self) -> None:
        if flint_nets(self.model) is None:
            raise ConfigError(f"explainer 'flint_relevance' needs a model trained with flint or flint_posthoc; "
                              f"{type(self.model).__name__} has no FLINT networks (model.xaibench_aux['flint'])")
        if not self.model.flint_layers:
            raise ConfigError(f"explainer 'flint_relevance': {type(self.model).__name__} declares no flint_layers")

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        if not x.dtype.is_floating_point:
            raise ConfigError("explainer 'flint_relevance' explains float inputs (images, time series), not token ids")
        nets, layers = flint_nets(self.model), list(self.model.flint_layers)
        x = x.detach().requires_grad_(True)
        with capture_outputs(self.model, layers) as captured:
            self.model(x)
        hidden = [captured[p] for p in layers]
        P = nets["phi"](hidden)
        r = relevance(P, nets["h"][-1].weight, target).detach()
        score = (r * P).sum()
        if self.cfg.form == "gradient":
            (grad,) = torch.autograd.grad(score, x)
            return grad
        A = hidden[0]
        if A.dim() < 3:
            raise ConfigError(f"explainer 'flint_relevance': form=gradcam needs a spatial flint layer, "
                              f"'{layers[0]}' outputs shape {tuple(A.shape)}")
        (grads,) = torch.autograd.grad(score, A)
        cam = F.relu((expand_like(grads.flatten(2).mean(2), A) * A).sum(1, keepdim=True))
        return minmax(upsample(cam.detach(), x.shape[2:])).repeat(1, x.shape[1], *(1 for _ in x.shape[2:]))
