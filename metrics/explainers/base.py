"""`Explainer`: captum's call contract inside a context manager that leaves the model untouched."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from xaibench.component import Component
from xaibench.errors import ConfigError, NonFiniteAttributionError
from xaibench.metrics.functional.maps import chunked, index_draws


class Explainer(Component):
    """Base class of attribution methods.

    ``with Explainer(model, config) as e: A = e.explain(x, target, index=idx)`` returns float32
    attributions shaped like ``x`` on x's device; for token ids (text) they are taken at the model's
    ``embedding_layer`` and shaped like its output, N x L x D. Hooks added with ``add_hook`` in ``setup`` are
    removed on exit (also on error) and the model's train/eval mode is restored. ``explain``
    called outside a ``with`` block opens one for the call.

    Subclasses set ``name``, ``version``, ``requires`` (subset of {"cam_layer", "relu_modules",
    "flint"}), ``stochastic``, ``mean_shift_invariant`` (EXPLAINERS.md §5), ``modalities``, a
    ``Config``, and override ``attribute`` (and ``setup`` to hook). ``supports(arch_cls)`` says at
    resolve time why an architecture cannot be explained.

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> from xaibench.metrics.explainers.saliency import Saliency
    >>> model = SmallCNN(SmallCNN.Config(), (1, 32, 32), 4)
    >>> with Saliency(model) as e:
    ...     A = e.explain(torch.rand(2, 1, 32, 32), torch.tensor([0, 1]))
    >>> A.shape, Saliency.supports(SmallCNN)
    (torch.Size([2, 1, 32, 32]), None)
    """

    requires: ClassVar[frozenset[str]] = frozenset()
    stochastic: ClassVar[bool] = False
    mean_shift_invariant: ClassVar[bool] = False
    modalities: ClassVar[frozenset[str]] = frozenset({"image", "time_series"})

    def __init__(self, model: nn.Module, config: Any = None):
        self.model = model
        self.cfg = self.make_config(config)
        self._handles: list[Any] = []
        self._was_training: dict[nn.Module, bool] | None = None  # per module: mixed modes survive

    @classmethod
    def supports(cls, arch_cls: type) -> str | None:
        """Why models of ``arch_cls`` cannot be explained (one line), or None if they can."""
        arch = getattr(arch_cls, "name", "") or arch_cls.__name__
        modality = getattr(arch_cls, "modality", None)
        if modality not in cls.modalities:
            return (f"explainer '{cls.name}' supports {'/'.join(sorted(cls.modalities))} models, "
                    f"but architecture '{arch}' is {modality}")
        if "cam_layer" in cls.requires and not getattr(arch_cls, "cam_layer", None):
            return f"explainer '{cls.name}' needs a cam_layer, which architecture '{arch}' does not declare"
        if "flint" in cls.requires and not getattr(arch_cls, "flint_layers", ()):
            return f"explainer '{cls.name}' needs flint_layers, which architecture '{arch}' does not declare"
        return None

    # -- context management -------------------------------------------------------------
    def __enter__(self) -> Explainer:
        if self._was_training is not None:
            raise RuntimeError(f"explainer '{self.name}' is already active: do not nest its `with` blocks")
        self._was_training = {m: m.training for m in self.model.modules()}
        self.model.eval()
        try:
            if "relu_modules" in self.requires:
                check_relu_modules(self.model)
            self.setup()
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        try:
            for handle in reversed(self._handles):
                handle.remove()
            self._handles.clear()
            self.teardown()
        finally:  # the modes come back even if a hook refuses to go
            for module, training in (self._was_training or {}).items():
                module.training = training
            self._was_training = None

    def setup(self) -> None:
        """Install hooks (register their handles with ``add_hook``)."""

    def teardown(self) -> None:
        """Undo whatever ``setup`` did besides hooks."""

    def add_hook(self, handle: Any) -> None:
        self._handles.append(handle)

    # -- the call -------------------------------------------------------------------------
    def explain(self, x: torch.Tensor, target: torch.Tensor, *, index: torch.Tensor | None = None) -> torch.Tensor:
        if self._was_training is None:
            with self:
                return self.explain(x, target, index=index)
        if x.is_floating_point():
            inputs, model = x, self.model
        else:  # token ids: explain the embedding layer's output instead (N x L x D)
            inputs, model = embedding_input(self.model, x)
        original, self.model = self.model, model
        try:
            with torch.enable_grad():  # the caller may be inside no_grad
                attributions = self.attribute(inputs, target.to(x.device), index).detach().to(torch.float32)
        finally:
            self.model = original
        if attributions.shape != inputs.shape:
            raise ValueError(f"explainer '{self.name}' returned shape {tuple(attributions.shape)} for input "
                             f"{tuple(inputs.shape)}")
        bad = ~torch.isfinite(attributions.flatten(1)).all(dim=1)
        if bad.any():
            where = index[bad.cpu()] if index is not None else bad.nonzero().flatten()
            raise NonFiniteAttributionError(
                f"explainer '{self.name}' returned NaN/Inf attributions for samples {where.tolist()[:20]}")
        return attributions

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError


class EmbeddingInput(nn.Module):
    """``f(e) = model(ids)`` with the embedding layer's output replaced by ``e``: a text model as a function
    of its (continuous) embeddings. ``e`` may hold several copies of the batch (IG steps, noise samples)."""

    def __init__(self, model: nn.Module, ids: torch.Tensor, layer: nn.Module):
        super().__init__()
        self.model, self.layer = model, layer
        self.ids = ids

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        ids = self.ids.repeat(e.shape[0] // self.ids.shape[0], *([1] * (self.ids.dim() - 1)))
        handle = self.layer.register_forward_hook(lambda module, inputs, output: e)
        try:
            return self.model(ids)
        finally:
            handle.remove()


def embedding_input(model: nn.Module, ids: torch.Tensor) -> tuple[torch.Tensor, EmbeddingInput]:
    """The embeddings of ``ids`` and the model as a function of them (text models declare ``embedding_layer``)."""
    path = getattr(model, "embedding_layer", None)
    if not path:
        raise ConfigError(f"model {type(model).__name__} takes integer inputs but declares no embedding_layer")
    layer = model.get_submodule(path)
    with torch.no_grad():
        embeddings = layer(ids)
    return embeddings, EmbeddingInput(model, ids, layer)


def check_relu_modules(model: nn.Module) -> None:
    """ConfigError naming the first in-place or reused ``nn.ReLU``: ReLU backward rules need distinct modules."""
    seen: dict[int, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if not isinstance(module, nn.ReLU):
            continue
        if module.inplace:
            raise ConfigError(f"model {type(model).__name__}: ReLU '{name}' is in-place; ReLU rules need inplace=False")
        if id(module) in seen:
            raise ConfigError(f"model {type(model).__name__}: one ReLU module is used as both '{seen[id(module)]}' "
                              f"and '{name}'; ReLU rules need a distinct module per use")
        seen[id(module)] = name


def per_sample_noise(draw: Callable[..., torch.Tensor], shape: tuple[int, ...], n: int, seed: int,
                     index: torch.Tensor | None) -> torch.Tensor:
    """``draw`` (torch.rand, torch.randn) of ``shape`` per sample, stacked to n × shape on the CPU.

    With ``index`` each sample draws from its own "explainer" stream of (seed, index_i) (``maps.index_draws``);
    without, one generator seeded by ``seed`` serves the batch, so only identical batches reproduce.

    >>> a = per_sample_noise(torch.rand, (2,), 3, seed=0, index=torch.tensor([5, 6, 7]))
    >>> torch.equal(a[1:], per_sample_noise(torch.rand, (2,), 2, seed=0, index=torch.tensor([6, 7])))
    True
    """
    if index is None:
        return draw((n, *shape), generator=torch.Generator().manual_seed(seed))
    return index_draws("explainer", seed, index, lambda g: draw(shape, generator=g))


def in_chunks(fn: Callable[..., torch.Tensor], size: int, *tensors: torch.Tensor) -> torch.Tensor:
    """``fn`` applied to aligned slices of ``tensors`` of at most ``size`` rows, concatenated (bounds memory)."""
    return chunked(lambda sl: fn(*(t[sl] for t in tensors)), len(tensors[0]), max(size, 1))
