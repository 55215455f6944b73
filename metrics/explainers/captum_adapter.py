"""`CaptumExplainer`: one captum attribution method called on the target logit (EXPLAINERS.md §1)."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from xaibench.metrics.explainers.base import Explainer


@contextlib.contextmanager
def quiet_captum() -> Iterator[None]:
    """Silence captum's notices that it sets (and removes) hooks: the context manager guarantees that already."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Setting (forward, )?backward hooks")
        yield


class CaptumExplainer(Explainer):
    """An explainer that is one captum attribution class, called with ``captum_kwargs``.

    >>> import captum.attr
    >>> from torch import nn
    >>> class Deconvolution(CaptumExplainer):
    ...     method = captum.attr.Deconvolution
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> A = Deconvolution(model).explain(torch.rand(3, 1, 2, 2), torch.tensor([0, 1, 1]))
    >>> torch.equal(A.flatten(1), model[1].weight[[0, 1, 1]])
    True
    """

    method: ClassVar[Any]  # a captum.attr class taking the model
    _attributes: dict[nn.Module, set[str]] | None = None

    def setup(self) -> None:
        # captum leaves attributes on modules (LRP's `activations` always, DeepLift's when attribute raises):
        # remember what each module had, so teardown removes the rest.
        self._attributes = {m: set(vars(m)) for m in self.model.modules()}

    def teardown(self) -> None:
        for module, names in (self._attributes or {}).items():
            for name in set(vars(module)) - names:
                delattr(module, name)
        self._attributes = None

    def captum_kwargs(self, x: torch.Tensor) -> dict[str, Any]:
        """Keyword arguments of ``method.attribute`` besides inputs and target."""
        return {}

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        # captum differentiates with torch.autograd.grad, so parameter .grad stays None. It would set
        # requires_grad on (and zero .grad of) the caller's x: give it a fresh leaf that already requires grad.
        inputs = x.detach().requires_grad_(True)
        with quiet_captum():
            return self.method(self.model).attribute(inputs, target=target, **self.captum_kwargs(x))
