"""The explainer contract (EXPLAINERS.md §0), checked for every registered explainer on every architecture."""
from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from xaibench.registries import ARCHITECTURES, EXPLAINERS

INPUT_SHAPE = (1, 32, 32)
NUM_CLASSES = 4
N = 4
HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
              "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs", "_forward_hooks_always_called")
GLOBAL_HOOK_DICTS = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                     "_global_backward_pre_hooks", "_global_forward_hooks_always_called")


@pytest.fixture(autouse=True)
def deterministic():
    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    yield
    torch.use_deterministic_algorithms(enabled)


def satisfies(model: nn.Module, requirement: str) -> bool:
    """Whether the architecture declares what an explainer ``requires``."""
    if requirement == "cam_layer":
        return getattr(model, "cam_layer", None) is not None
    if requirement == "flint":
        return bool(getattr(model, "flint_layers", ()))
    if requirement == "relu_modules":  # distinct modules can't be seen from outside; in-place ones can
        return not any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules())
    raise AssertionError(f"unknown requirement {requirement!r}: teach this test about it")


@pytest.fixture(params=ARCHITECTURES.names())
def model(request: pytest.FixtureRequest) -> nn.Module:
    cls = ARCHITECTURES.get(request.param)
    return cls(cls.Config(), INPUT_SHAPE, num_classes=NUM_CLASSES)


@pytest.fixture(params=EXPLAINERS.names())
def explainer(request: pytest.FixtureRequest, model: nn.Module) -> type:
    cls = EXPLAINERS.get(request.param)
    missing = [r for r in sorted(cls.requires) if not satisfies(model, r)]
    if missing:
        pytest.skip(f"{type(model).__name__} does not declare {', '.join(missing)}")
    return cls


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.rand(N, *INPUT_SHAPE, generator=torch.Generator().manual_seed(1))
    return x, torch.arange(N) % NUM_CLASSES, torch.arange(100, 100 + N)


def hooks_left(model: nn.Module) -> list[str]:
    found = [f"{name or '<model>'}.{attr}" for name, m in model.named_modules()
             for attr in HOOK_DICTS if getattr(m, attr, None)]
    found += [f"parameter {name} tensor hook" for name, p in model.named_parameters() if p._backward_hooks]
    found += [attr for attr in GLOBAL_HOOK_DICTS if getattr(nn.modules.module, attr, None)]
    return found


def module_state(model: nn.Module) -> dict[str, Any]:
    """Types, attribute names and plain attribute values (flags like ReLU.inplace) of every module."""
    plain = (bool, int, float, str, tuple, type(None))
    return {name: (type(m), sorted(vars(m)), {k: v for k, v in vars(m).items() if isinstance(v, plain)})
            for name, m in model.named_modules()}


def explain(cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    with cls(model) as e:
        return e.explain(x, target, index=index)


def test_output_is_float32_shaped_like_the_input(explainer, model, batch):
    x, target, index = batch
    A = explain(explainer, model, x, target, index)
    assert (A.shape, A.dtype, A.device) == (x.shape, torch.float32, x.device)


def test_batched_equals_per_example(explainer, model, batch):
    x, target, index = batch
    whole = explain(explainer, model, x, target, index)
    halves = torch.cat([explain(explainer, model, x[:2], target[:2], index[:2]),
                        explain(explainer, model, x[2:], target[2:], index[2:])])
    torch.testing.assert_close(whole, halves, rtol=0, atol=1e-5)


def test_same_inputs_give_the_same_map(explainer, model, batch):
    x, target, index = batch
    assert torch.equal(explain(explainer, model, x, target, index), explain(explainer, model, x, target, index))


def test_works_under_no_grad_and_with_frozen_parameters(explainer, model, batch):
    x, target, index = batch
    reference = explain(explainer, model, x, target, index)
    with torch.no_grad():
        assert torch.equal(explain(explainer, model, x, target, index), reference)
    model.requires_grad_(False)
    assert torch.equal(explain(explainer, model, x, target, index), reference)
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_model_is_left_untouched(explainer, model, batch, training):
    x, target, index = batch
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train(training)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modules = module_state(model)
    modes = {name: m.training for name, m in model.named_modules()}
    x_before = x.clone()

    explain(explainer, model, x, target, index)

    assert hooks_left(model) == []
    assert module_state(model) == modules
    assert {name: m.training for name, m in model.named_modules()} == modes
    after = model.state_dict()
    assert after.keys() == state.keys() and all(torch.equal(after[k], v) for k, v in state.items())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert torch.equal(x, x_before) and x.grad is None and not x.requires_grad
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), logits)


def test_mixed_training_modes_are_restored(explainer, model, batch):
    """A model training with some submodules frozen in eval mode (e.g. BatchNorm) keeps that mix."""
    x, target, index = batch
    model.train()
    model.normalization.eval()
    explain(explainer, model, x, target, index)
    assert model.training and not model.normalization.training


def test_cleanup_when_attribute_raises(explainer, model, batch):
    x, target, index = batch
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    bad_target = torch.full_like(target, NUM_CLASSES)  # out of range
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        explain(explainer, model, x, bad_target, index)
    assert hooks_left(model) == []
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert all(p.grad is None for p in model.parameters())
    # The explainer still works afterwards.
    assert torch.equal(explain(explainer, model, x, target, index), explain(explainer, model, x, target, index))


def test_cleanup_when_the_with_block_raises(explainer, model, batch):
    x, target, index = batch
    model.train()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with explainer(model) as e:
            e.explain(x, target, index=index)
            raise Boom
    assert hooks_left(model) == []
    assert model.training


def test_explain_outside_a_with_block_opens_one(explainer, model, batch):
    x, target, index = batch
    model.train()
    A = explainer(model).explain(x, target, index=index)
    assert torch.equal(A, explain(explainer, model, x, target, index))
    assert hooks_left(model) == [] and model.training
