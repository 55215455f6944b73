"""`check_training_method`: the self-check of a training method (TRAINING_METHODS.md §0), for plugin authors.

It trains a few steps on a tiny built-in task on the CPU and reports every broken rule in the author's terms.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import XaibenchError
from xaibench.methods.base import TrainingContext, TrainingMethod
from xaibench.testing.configs import component_problems
from xaibench.testing.helpers import CheckError, hooks_left, module_state, one_thread, tiny_data, tiny_model

EPOCHS, BATCH_SIZE = 2, 8  # 2 epochs of 2 minibatches of the 16 tiny images = 4 optimizer steps


class MethodCheckError(CheckError):
    """A training method breaks the plugin contract; the message lists every problem found."""


@dataclasses.dataclass
class CheckReport:
    """What the check saw: the losses of every ``loss`` call, the steps counted, the time per step and the
    training FLOPs counted (``ctx.flops``)."""

    method: str
    losses: list[float]
    steps: int
    seconds_per_step: float
    flops: int = 0


class EveryStep(dict):
    """A FLOP cache (``TrainingContext.flop_cache``) that never hits, so every step is counted, and that also
    adds up what the real cache would have given (each ``step_key``'s first count, reused): the two must agree.

    >>> cache = EveryStep()
    >>> cache["a"], cache["a"], cache["b"] = 5, 7, 1  # key "a": the second step did other work than the first
    >>> cache.counted, cache.reused
    (13, 11)
    """

    def __init__(self) -> None:
        super().__init__()
        self.counted = self.reused = 0

    def __contains__(self, key: object) -> bool:
        return False

    def __setitem__(self, key: Any, flops: int) -> None:
        self.counted += flops
        self.reused += self.setdefault(key, flops)


def check_training_method(cls: type, config: Any = None) -> CheckReport:
    """Train ``cls`` (with ``config``: None, a params dict or a Config) for a few steps on a tiny CPU task.

    Raises `MethodCheckError` listing what is wrong: the Config (not a frozen dataclass, unknown keys), the
    ``loss`` (not a scalar tensor with a graph, NaN/Inf), ``fit`` (not returning the model, no parameter
    changed), hooks or module swaps left behind, train/eval modes not restored. Masks are given only to
    methods that declare ``requires_mask``.

    >>> from xaibench.methods.erm import ERM
    >>> report = check_training_method(ERM)
    >>> report.steps, len(report.losses), all(math.isfinite(v) for v in report.losses)
    (4, 4, True)
    """
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    problems = _static_problems(cls)
    if problems:
        raise MethodCheckError(f"training method '{name}': " + "; ".join(problems))
    try:
        method = cls(config)
    except XaibenchError as err:
        raise MethodCheckError(f"training method '{name}': config: {err}") from err

    with one_thread():  # tiny tensors: thread-pool overhead would dominate
        return _run_check(cls, name, method, problems)


def _run_check(cls: type, name: str, method: TrainingMethod, problems: list[str]) -> CheckReport:
    data = tiny_data(cls.requires_mask)
    model = tiny_model()
    method.prepare(model, data.x[:2])
    cache = EveryStep()
    method.ctx = tiny_context(model, cache)
    losses: list[float] = []
    method.loss = _checked_loss(method.loss, model, losses, problems, name)  # an instance attribute: fit calls it too
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    swaps = module_state(model)
    model.train()
    start = time.perf_counter()
    try:
        result = method.fit(model, data, Budget(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=1e-3))
    finally:
        del method.loss
    elapsed = time.perf_counter() - start

    if not isinstance(result, nn.Module):
        problems.append(f"fit returned {type(result).__name__}, expected the trained nn.Module")
    elif result is model:
        unchanged = [k for k, p in model.named_parameters() if k in before and torch.equal(p.detach(), before[k])]
        if len(unchanged) == len(before):
            problems.append("no parameter changed: no gradient reaches the model (or fit never steps)")
        elif unchanged:
            problems.append(f"parameters unchanged after {method.ctx.step} steps (no gradient reached them): "
                            f"{', '.join(unchanged)}")
    problems += [f"hook left on the model after fit: {h}" for h in hooks_left(model)]
    if module_state(model) != swaps:
        changed = [k for k, v in module_state(model).items() if swaps.get(k) != v]
        problems.append(f"modules swapped or patched after fit (use a context manager): {', '.join(changed[:5])}")
    not_train = [k or "<model>" for k, m in model.named_modules() if not m.training]
    if not_train:
        problems.append(f"fit left modules in eval mode (the loop trains in train mode): {', '.join(not_train[:5])}")
    if method.ctx.step < 1 or method.ctx.total_steps < 1:
        problems.append(f"ctx.step={method.ctx.step}, ctx.total_steps={method.ctx.total_steps}: an own fit must "
                        "count optimizer steps in self.ctx (progress = step / total_steps)")
    if method.ctx.flops <= 0:
        problems.append("no training FLOPs counted (ctx.flops = 0): an own fit must call self.train_step for each "
                        "optimizer step")
    elif cache.reused != cache.counted:
        problems.append(f"step_key gives {method.ctx.flops - cache.counted + cache.reused} training FLOPs, but "
                        f"{method.ctx.flops} counting every step: it must name everything that changes a step's work")
    if problems:
        raise MethodCheckError(f"training method '{name}': " + "; ".join(dict.fromkeys(problems)))
    return CheckReport(name, losses, method.ctx.step, elapsed / max(method.ctx.step, 1), method.ctx.flops)


def tiny_context(model: nn.Module, flop_cache: dict[Any, int] | None = None) -> TrainingContext:
    return TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(0),
                           cam_layer=model.cam_layer, flint_layers=model.flint_layers,
                           normalization=model.normalization, flop_cache={} if flop_cache is None else flop_cache)



def _static_problems(cls: type) -> list[str]:
    problems = component_problems(cls, TrainingMethod)
    if not (isinstance(cls, type) and issubclass(cls, TrainingMethod)):
        return problems
    if cls.loss is TrainingMethod.loss and cls.fit is TrainingMethod.fit:
        problems.append("override loss(model, batch, step) or fit(model, train_data, budget)")
    return problems


def _checked_loss(loss: Callable[..., Any], model: nn.Module, losses: list[float], problems: list[str],
                  name: str) -> Callable[..., Any]:
    """``loss`` that records its value and notes a wrong type, a missing graph, NaN/Inf or a changed mode."""

    def fatal(problem: str) -> MethodCheckError:  # training cannot go on: report what was found so far
        return MethodCheckError(f"training method '{name}': " + "; ".join([*problems, problem]))

    def checked(m: nn.Module, batch: Batch, step: int) -> Any:
        modes = {k: sub.training for k, sub in model.named_modules()}
        value = loss(m, batch, step)
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise fatal(f"loss returned {shape} at step {step}; it must return a scalar tensor")
        if not value.requires_grad:
            raise fatal(f"loss at step {step} has no graph (detached or computed under no_grad)")
        if not math.isfinite(value.item()):
            problems.append(f"loss is {value.item()} at step {step}")
        if {k: sub.training for k, sub in model.named_modules()} != modes:
            switched = [k or "<model>" for k, sub in model.named_modules() if sub.training != modes.get(k)]
            problems.append(f"loss changed the train/eval mode of {', '.join(switched[:5])} and did not restore it")
        losses.append(value.item())
        return value

    return checked
