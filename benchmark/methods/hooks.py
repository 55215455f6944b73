"""Context managers that training methods use for temporary changes to a model: each one undoes itself on exit,
also on error, so no hook, swap or mode change outlives the step that needed it (TRAINING_METHODS.md §0)."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from xaibench.errors import ConfigError


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Switch ``model`` to eval mode; restore every module's own mode on exit (mixed modes survive).

    >>> model = nn.Sequential(nn.Dropout(), nn.Linear(2, 2)).train()
    >>> _ = model[1].eval()
    >>> with eval_mode(model):
    ...     model.training
    False
    >>> model.training, model[1].training
    (True, False)
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[nn.Module]:
    """Forward passes inside leave every BatchNorm's running statistics untouched.

    Train-mode BatchNorm still normalizes with the batch statistics; it only stops updating the buffers
    (and ``num_batches_tracked``), so target-building passes do not count twice. Eval mode is unaffected.

    >>> bn = nn.BatchNorm1d(2).train()
    >>> with frozen_bn_stats(bn):
    ...     _ = bn(torch.randn(8, 2) + 5)
    >>> bn.running_mean.tolist(), bn.num_batches_tracked.item()
    ([0.0, 0.0], 0)
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracked = [m.track_running_stats for m in bns]
    for m in bns:
        # With track_running_stats off, train-mode BN passes no buffers to F.batch_norm: nothing is written.
        m.track_running_stats = False
    try:
        yield model
    finally:
        for m, flag in zip(bns, tracked):
            m.track_running_stats = flag


class _GuidedReLU(torch.autograd.Function):
    """relu forward; backward relu(grad_out) * 1[input > 0], itself differentiable in grad_out."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_out.clamp(min=0) * (x > 0).to(grad_out.dtype)


def _guided_forward(x: torch.Tensor) -> torch.Tensor:
    return _GuidedReLU.apply(x)


@contextlib.contextmanager
def guided_relu(model: nn.Module) -> Iterator[nn.Module]:
    """Guided backpropagation: every ``nn.ReLU`` passes back relu(grad_out) * 1[input > 0] inside the block.

    The swap is an instance attribute ``forward`` on each ReLU, deleted on exit, so the modules come back
    exactly as they were. Works with ``create_graph=True`` (the guided backward is made of differentiable ops).

    >>> model = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = model[0].weight.fill_(1.0), model[0].bias.fill_(0.0)
    >>> x = torch.tensor([[2.0]], requires_grad=True)
    >>> with guided_relu(model):
    ...     (g,) = torch.autograd.grad(-model(x).sum(), x)  # the negative upstream gradient is cut
    >>> g.item(), "forward" in vars(model[1])
    (0.0, False)
    """
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    swapped = []
    try:
        for relu in relus:
            if "forward" in vars(relu):
                raise ConfigError(f"guided_relu: {type(model).__name__} already has a swapped ReLU forward "
                                  "(nested ReLU swaps)")
            relu.forward = _guided_forward
            swapped.append(relu)
        yield model
    finally:
        for relu in swapped:
            del relu.forward


@contextlib.contextmanager
def capture_outputs(model: nn.Module, paths: Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Forward hooks keeping the last output of each submodule ``paths[i]`` in the yielded dict.

    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> with capture_outputs(model, ["0"]) as out:
    ...     _ = model(torch.zeros(1, 2))
    >>> out["0"].shape, model[0]._forward_hooks
    (torch.Size([1, 3]), OrderedDict())
    """
    captured: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for path in paths:
            handles.append(submodule(model, path).register_forward_hook(_keep(captured, path)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def _keep(captured: dict[str, torch.Tensor], path: str) -> Callable[..., None]:
    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        captured[path] = output
    return hook


def submodule(model: nn.Module, path: str, what: str = "layer") -> nn.Module:
    """``model.get_submodule(path)``; a ConfigError naming the model and the path if there is none."""
    try:
        return model.get_submodule(path)
    except AttributeError as err:
        raise ConfigError(f"model {type(model).__name__}: {what} '{path}' is not a submodule: {err}") from err


@contextlib.contextmanager
def embedded(model: nn.Module, x: torch.Tensor) -> Iterator[tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]]:
    """The differentiable input of ``model`` and a forward from it: ``(e, forward)``.

    Float inputs (images, time series): e = x and forward = model. Token ids (text): e = the output of the
    model's ``embedding_layer`` on x (in the graph, so the embedding still trains) and forward(e') runs the
    model with e' in place of that output. Gradient methods differentiate w.r.t. e.

    >>> model = nn.Sequential(nn.Embedding(5, 2), nn.Flatten(), nn.Linear(6, 1))
    >>> model.embedding_layer = "0"
    >>> with embedded(model, torch.tensor([[1, 2, 0]])) as (e, forward):
    ...     e.shape, torch.equal(forward(e), model(torch.tensor([[1, 2, 0]])))
    (torch.Size([1, 3, 2]), True)
    """
    if x.dtype.is_floating_point:
        yield x, model
        return
    path = getattr(model, "embedding_layer", None)
    if not path:
        raise ConfigError(f"model {type(model).__name__} takes token ids but declares no embedding_layer")
    layer = submodule(model, path, "embedding_layer")
    e = layer(x)
    replacement: list[torch.Tensor] = []

    def swap(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
        return replacement[0] if replacement else None  # plain model(x) calls pass through

    def forward(e_new: torch.Tensor) -> torch.Tensor:
        replacement[:] = [e_new]
        try:
            return model(x)
        finally:
            replacement.clear()

    handle = layer.register_forward_hook(swap)
    try:
        yield e, forward
    finally:
        handle.remove()


def expand_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A ground-truth mask broadcastable to ``like``: images N×H×W → N×1×H×W, text N×L → N×L×1 (embeddings).

    >>> expand_mask(torch.ones(2, 4, 4), torch.ones(2, 3, 4, 4)).shape, expand_mask(torch.ones(2, 5), torch.ones(2, 5, 8)).shape
    (torch.Size([2, 1, 4, 4]), torch.Size([2, 5, 1]))
    """
    if mask.dim() == like.dim():
        return mask
    if like.dim() == 4 and mask.dim() == 3:
        return mask[:, None]
    if mask.dim() == 2 and like.dim() == 3 and like.shape[1] == mask.shape[1]:
        return mask[..., None]
    raise ValueError(f"mask of shape {tuple(mask.shape)} does not fit input of shape {tuple(like.shape)}")


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """``requires_grad_(False)`` on every parameter inside the block; the flags come back on exit.

    >>> lin = nn.Linear(2, 2)
    >>> with frozen(lin):
    ...     lin.weight.requires_grad
    False
    >>> lin.weight.requires_grad
    True
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
