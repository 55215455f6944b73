"""`Explainer`: captum's call contract inside a context manager that leaves the model untouched."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xaibench.component import Component
from xaibench.errors import NonFiniteAttributionError


class Explainer(Component):
    """Base class of attribution methods.

    ``with Explainer(model, config) as e: A = e.explain(x, target, index=idx)`` returns float32
    attributions shaped like ``x`` on x's device. Hooks added with ``add_hook`` in ``setup`` are
    removed on exit (also on error) and the model's train/eval mode is restored. ``explain``
    called outside a ``with`` block opens one for the call.

    Subclasses set ``name``, ``version``, ``requires`` (subset of {"cam_layer", "relu_modules",
    "flint"}), ``stochastic``, a ``Config``, and override ``attribute`` (and ``setup`` to hook).

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> from xaibench.metrics.explainers.saliency import Saliency
    >>> model = SmallCNN(SmallCNN.Config(), (1, 32, 32), 4)
    >>> with Saliency(model) as e:
    ...     A = e.explain(torch.rand(2, 1, 32, 32), torch.tensor([0, 1]))
    >>> A.shape
    torch.Size([2, 1, 32, 32])
    """

    requires: ClassVar[frozenset[str]] = frozenset()
    stochastic: ClassVar[bool] = False

    def __init__(self, model: nn.Module, config: Any = None):
        self.model = model
        self.cfg = self.make_config(config)
        self._handles: list[Any] = []
        self._was_training: dict[nn.Module, bool] | None = None  # per module: mixed modes survive

    # -- context management -------------------------------------------------------------
    def __enter__(self) -> Explainer:
        if self._was_training is not None:
            raise RuntimeError(f"explainer '{self.name}' is already active: do not nest its `with` blocks")
        self._was_training = {m: m.training for m in self.model.modules()}
        self.model.eval()
        try:
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
        attributions = self.attribute(x, target.to(x.device), index).detach().to(torch.float32)
        if attributions.shape != x.shape:
            raise ValueError(f"explainer '{self.name}' returned shape {tuple(attributions.shape)} for input {tuple(x.shape)}")
        bad = ~torch.isfinite(attributions.flatten(1)).all(dim=1)
        if bad.any():
            where = index[bad.cpu()] if index is not None else bad.nonzero().flatten()
            raise NonFiniteAttributionError(
                f"explainer '{self.name}' returned NaN/Inf attributions for samples {where.tolist()[:20]}")
        return attributions

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError
