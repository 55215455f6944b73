"""What the self-checks (and the test suite) share: tiny models and data, the explainer call, and the probes
that find hooks, patched modules and changed modes left behind."""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.errors import XaibenchError

HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
              "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs", "_forward_hooks_always_called")
GLOBAL_HOOK_DICTS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                     "_global_backward_pre_hooks", "_global_forward_hooks_always_called")
# A small input shape per modality, and the vocabulary of the text case.
EXAMPLE_SHAPES = {"image": (1, 32, 32), "time_series": (3, 40), "text": (16,)}
EXAMPLE_VOCAB = 50
# The built-in architecture each modality's checks run on.
EXAMPLE_ARCHITECTURES = {"image": "small_cnn", "time_series": "ts_tcn", "text": "text_transformer"}
# The tiny training task: 16 shapes at 32 px, a width-4 small_cnn.
N_TRAIN, WIDTH = 16, 4


class CheckError(XaibenchError):
    """A component breaks its plugin contract; the message lists every problem found."""


def fail_on(kind: str, name: str, problems: list[str]) -> None:
    """Raise `CheckError` ``"<kind> '<name>': problem; problem"`` if there are problems (duplicates once)."""
    if problems:
        raise CheckError(f"{kind} '{name}': " + "; ".join(dict.fromkeys(problems)))


def hooks_left(model: nn.Module) -> list[str]:
    """Every hook still registered on ``model``'s modules and parameters, and every global module hook."""
    found = [f"{name or '<model>'}.{attr}" for name, m in model.named_modules()
             for attr in HOOK_DICTS if getattr(m, attr, None)]
    found += [f"parameter {name} tensor hook" for name, p in model.named_parameters() if p._backward_hooks]
    found += [attr for attr in GLOBAL_HOOK_DICTS if getattr(nn.modules.module, attr, None)]
    return found


def module_state(model: nn.Module) -> dict[str, Any]:
    """Type, attribute names and plain attribute values (flags like ReLU.inplace) of every module: a module
    swapped or patched (e.g. a ReLU forward replaced) shows here. Train/eval modes are left to `modes`."""
    plain = (bool, int, float, str, tuple, type(None))
    return {name: (type(m).__name__, sorted(vars(m)),
                   {k: v for k, v in vars(m).items() if isinstance(v, plain) and k != "training"})
            for name, m in model.named_modules()}


def modes(model: nn.Module) -> dict[str, bool]:
    """The train/eval flag of every module."""
    return {name or "<model>": m.training for name, m in model.named_modules()}


def changed_modes(model: nn.Module, before: dict[str, bool]) -> list[str]:
    return [k for k, v in modes(model).items() if before.get(k) != v]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Tiny tensors: one intra-op thread avoids thread-pool stalls on a busy CPU (10-100x)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def example_model(arch: str | type, num_classes: int = 4, seed: int = 0, config: Any = None,
                  n: int = 6) -> tuple[nn.Module, torch.Tensor]:
    """A registered architecture (name or class) on ``n`` small inputs of its modality: (model, x).

    Images are 1 x 32 x 32 in [0, 1], time series 3 x 40, text 16 token ids < 50 with 3 padding ids (0) at the end.

    >>> model, x = example_model("small_cnn")
    >>> tuple(x.shape), tuple(model(x).shape)
    ((6, 1, 32, 32), (6, 4))
    """
    from xaibench.registries import ARCHITECTURES

    cls = ARCHITECTURES.get(arch) if isinstance(arch, str) else arch
    shape = EXAMPLE_SHAPES[cls.modality]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    if cls.modality == "text":
        model = cls(cls.make_config(config), shape, num_classes, vocab_size=EXAMPLE_VOCAB)
        x = torch.randint(1, EXAMPLE_VOCAB, (n, *shape), generator=g)
        x[:, -3:] = 0  # padding at the end
    else:
        model = cls(cls.make_config(config), shape, num_classes)
        x = torch.rand(n, *shape, generator=g)
    return model, x


def explain(cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor, config: object = None,
            index: torch.Tensor | None = None) -> torch.Tensor:
    """One explainer call inside its ``with`` block."""
    with cls(model, config) as e:
        return e.explain(x, target, index=index)


def const_model(logits: list[float]) -> nn.Module:
    """A model whose logits ignore the input: p_c is the softmax of ``logits`` for every sample.

    >>> const_model([0.0, 1.0])(torch.zeros(3, 5)).shape
    torch.Size([3, 2])
    """

    class ConstModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.logits = nn.Parameter(torch.tensor(logits))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.logits.expand(len(x), -1)

    return ConstModel()


def tiny_data(with_mask: bool, n: int = N_TRAIN) -> Batch:
    """``n`` training images of the built-in ``shapes`` task (32 px), with or without its masks."""
    from xaibench.tasks.images.shapes import Shapes

    data = Shapes({"n_train": n, "n_test": 4}).load("train", 0)
    return data if with_mask else dataclasses.replace(data, mask=None)


def tiny_model(seed: int = 0) -> nn.Module:
    """A width-4 ``small_cnn`` for 1 x 32 x 32 inputs and 4 classes."""
    from xaibench.models.small_cnn import SmallCNN

    torch.manual_seed(seed)
    return SmallCNN(SmallCNN.Config(width=WIDTH), (1, 32, 32), 4)


def first_line(cls: type) -> str:
    return ((cls.__doc__ or "").strip().splitlines() or [""])[0]
