"""Shared mechanics of the CAM family: capture ``cam_layer``, weight its channels, post-process (EXPLAINERS.md §2)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.base import Explainer
from xaibench.metrics.functional.maps import minmax


def cam_layer_of(model: nn.Module) -> nn.Module:
    """The module named by the model's ``cam_layer``; a ConfigError naming the model if there is none."""
    path = getattr(model, "cam_layer", None)
    if not path:
        raise ConfigError(f"model {type(model).__name__} declares no cam_layer, which the CAM explainers need")
    try:
        return model.get_submodule(path)
    except AttributeError as err:
        raise ConfigError(f"model {type(model).__name__}: cam_layer '{path}' is not a submodule: {err}") from err


class CAMExplainer(Explainer):
    """Class activation map: minmax(up(ReLU(Σ_k w_k A_k))) at ``cam_layer``, replicated over channels.

    Subclasses override ``channel_weights`` (N×K); ``target_gradients`` gives ∂z_c/∂A for those
    that need it. The forward hook installed in ``setup`` keeps the activations A (N×K×h×w, or N×K×t
    for time series, upsampled linearly over time) of the last forward pass.

    >>> class ActivationCAM(CAMExplainer):  # a new CAM: each channel weighted by its mean activation
    ...     def channel_weights(self, x, target, activations, logits):
    ...         return activations.flatten(2).mean(2)
    >>> from xaibench.models.small_cnn import SmallCNN
    >>> model = SmallCNN(SmallCNN.Config(), (3, 16, 16), num_classes=2)
    >>> with ActivationCAM(model) as e:
    ...     A = e.explain(torch.rand(2, 3, 16, 16), torch.tensor([0, 1]))
    >>> A.shape, bool((A[:, :1] == A).all())  # one map, replicated over the channels
    (torch.Size([2, 3, 16, 16]), True)
    """

    requires = frozenset({"cam_layer"})
    _activations: torch.Tensor | None = None

    def setup(self) -> None:
        self.add_hook(cam_layer_of(self.model).register_forward_hook(self._capture))

    def teardown(self) -> None:
        self._activations = None  # do not keep the last batch (and its graph) alive

    def _capture(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        self._activations = output

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        with torch.enable_grad():  # explain() enables it too; kept for direct calls
            # An input that requires grad puts A in the graph even when every parameter is frozen.
            logits = self.model(x.detach().requires_grad_(True))
            activations, self._activations = self._activations, None
            if activations is None:
                raise RuntimeError(f"explainer '{self.name}': the cam_layer of {type(self.model).__name__} "
                                   "was not called in the forward pass")
            weights = self.channel_weights(x, target, activations, logits)
        cam = self.combine(weights.detach(), activations.detach(), x.shape[2:])
        # Upsample before normalizing, so the map spans exactly [0, 1] at input resolution. minmax is the
        # metrics' own (METRICS.md §0): a constant map > 0 becomes 1, an all-zero map stays 0.
        return minmax(cam).repeat(1, x.shape[1], *(1 for _ in x.shape[2:]))

    def combine(self, weights: torch.Tensor, activations: torch.Tensor, size: torch.Size) -> torch.Tensor:
        """ReLU(Σ_k w_k A_k) upsampled to ``size``, N×1×spatial (Score-CAM applies the ReLU after upsampling)."""
        cam = F.relu((expand_like(weights, activations) * activations).sum(1, keepdim=True))
        return upsample(cam, size)

    def target_gradients(self, activations: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """∂z_c/∂A for the whole batch in one call: samples are independent in eval mode, so the
        gradient of Σ_i z_{c_i}(x_i) w.r.t. A_i is that of sample i's own target logit."""
        (grads,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), activations)
        return grads

    def channel_weights(self, x: torch.Tensor, target: torch.Tensor, activations: torch.Tensor,
                        logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def expand_like(weights: torch.Tensor, activations: torch.Tensor) -> torch.Tensor:
    """Per-channel weights N×K viewed as N×K×1×… to broadcast against activations N×K×spatial."""
    return weights.view(*weights.shape, *(1 for _ in activations.shape[2:]))


def upsample(maps: torch.Tensor, size: torch.Size, align_corners: bool = False) -> torch.Tensor:
    """N×K×spatial maps resized to ``size``: linear over time (1-D), bilinear for images (2-D); ``align_corners``
    as ``F.interpolate`` (True is ``nn.UpsamplingBilinear2d``)."""
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[maps.dim() - 2]
    return F.interpolate(maps, size=tuple(size), mode=mode, align_corners=align_corners)
