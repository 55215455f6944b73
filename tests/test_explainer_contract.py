"""The explainer contract (EXPLAINERS.md §0, §5) for every registered explainer: the core checks on every
architecture (test_every_architecture), all checks on one representative per modality."""
from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from conftest import example_model
from xaibench.registries import ARCHITECTURES, EXPLAINERS
from xaibench.testing import hooks_left

NUM_CLASSES = 4
N = 4
MEAN_SHIFT = 1.0
CONTROLS = {"random", "constant"}  # model-independent: a bad target cannot make them fail

# EXPLAINERS.md §5: (stochastic, mean-shift invariant) of every built-in explainer.
EXPECTED_PROPERTIES = {
    "saliency": (False, True), "guided_backprop": (False, True), "grad_cam": (False, True),
    "grad_cam_pp": (False, True), "smoothgrad": (True, True), "nobias_rectgrad": (False, True),
    "lrp": (False, True), "input_x_gradient": (False, False), "rectgrad": (False, False),
    "integrated_gradients": (False, False), "deeplift": (False, False), "occlusion": (False, False),
    "score_cam": (False, False), "random": (True, True), "constant": (False, True),
}


pytestmark = pytest.mark.usefixtures("deterministic")


def architecture_params(names: list[str]) -> list[Any]:
    return list(names)


# Every architecture runs the core contract (test_every_architecture); the representatives (a CNN and a
# time-series CNN, both with a cam_layer) run every test. Both use cheap settings (cheap_params).
REPRESENTATIVES = [name for name in ("small_cnn", "ts_tcn") if name in ARCHITECTURES.names()]


@pytest.fixture(params=architecture_params(REPRESENTATIVES))
def arch(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def model_and_batch(arch: str) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    model, x = example_model(arch, NUM_CLASSES)
    return model, (x[:N], torch.arange(N) % NUM_CLASSES, torch.arange(100, 100 + N))


@pytest.fixture
def model(model_and_batch) -> nn.Module:
    return model_and_batch[0]


@pytest.fixture
def batch(model_and_batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return model_and_batch[1]


def usable(name: str, arch: str, model: nn.Module, x: torch.Tensor) -> type:
    """The explainer class, or a skip when it declares it cannot explain this architecture."""
    cls = EXPLAINERS.get(name)
    reason = cls.supports(ARCHITECTURES.get(arch))
    if reason:
        pytest.skip(reason)
    if "flint" in cls.requires:  # FLINT explainers need the FLINT networks that training attaches
        from xaibench.methods.flint import attach_flint
        attach_flint(model, x[:2])
    return cls


@pytest.fixture(params=EXPLAINERS.names())
def explainer(request: pytest.FixtureRequest, arch: str, model: nn.Module, batch) -> type:
    return usable(request.param, arch, model, batch[0])



def module_state(model: nn.Module) -> dict[str, Any]:
    """Types, attribute names and plain attribute values (flags like ReLU.inplace) of every module."""
    plain = (bool, int, float, str, tuple, type(None))
    return {name: (type(m), sorted(vars(m)), {k: v for k, v in vars(m).items() if isinstance(v, plain)})
            for name, m in model.named_modules()}


def explain(cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
            index: torch.Tensor | None) -> torch.Tensor:
    with cls(model, cheap_params(cls.name, x)) as e:
        return e.explain(x, target, index=index)


def cheap_params(name: str, x: torch.Tensor) -> dict[str, Any]:
    """Settings that expand each sample into as few model passes as possible (the contract is about mechanics)."""
    return {"integrated_gradients": {"n_steps": 2}, "smoothgrad": {"n_samples": 2},
            "occlusion": {"window": [x.shape[1], *(16 for _ in x.shape[2:])], "stride": 16}}.get(name, {})


def cam_channels(model: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad():
        captured: list[torch.Tensor] = []
        handle = model.get_submodule(model.cam_layer).register_forward_hook(lambda m, i, o: captured.append(o))
        try:
            model.eval()(x[:1])
        finally:
            handle.remove()
    return captured[0].shape[1]


@pytest.mark.parametrize("name", EXPLAINERS.names())
@pytest.mark.parametrize("arch_name", architecture_params(ARCHITECTURES.names()))
def test_every_architecture(name, arch_name):
    """Shape, dtype and device; a sample alone == in a batch; two calls in one block; then the model is untouched
    (hooks, module types and attributes, parameters, modes, state_dict, the forward pass bitwise)."""
    model, x = example_model(arch_name, NUM_CLASSES)
    x, target, index = x[:2], torch.tensor([1, 3]), torch.tensor([100, 101])
    cls = usable(name, arch_name, model, x)
    if "cam_layer" in cls.requires and cls.name == "score_cam" and cam_channels(model, x) > 64:
        pytest.skip("Score-CAM makes one forward pass per cam_layer channel: too slow here; its mechanics "
                    "run on the representatives, and Grad-CAM covers this cam_layer")
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    parameters = {n: id(p) for n, p in model.named_parameters()}
    modules = module_state(model)

    with cls(model, cheap_params(name, x)) as e:
        whole = e.explain(x, target, index=index)
        alone = e.explain(x[1:], target[1:], index=index[1:])

    # token ids are explained at the embedding layer: one attribution per embedding entry
    shape = x.shape if x.is_floating_point() else (*x.shape, model.get_submodule(model.embedding_layer).embedding_dim)
    assert (whole.shape, whole.dtype, whole.device) == (shape, torch.float32, x.device)
    torch.testing.assert_close(whole[1:], alone, rtol=0, atol=1e-5)
    assert hooks_left(model) == []
    assert module_state(model) == modules
    assert {n: id(p) for n, p in model.named_parameters()} == parameters
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert after.keys() == state.keys() and all(torch.equal(after[k], v) for k, v in state.items())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), logits)


# -- metadata --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED_PROPERTIES))
def test_metadata_matches_the_spec_table(name):
    cls = EXPLAINERS.get(name)
    assert (cls.stochastic, cls.mean_shift_invariant) == EXPECTED_PROPERTIES[name]
    assert cls.requires <= {"cam_layer", "relu_modules", "flint"}
    assert cls.name == name and cls.description() and "\n" not in cls.description()


def test_lrp_is_unsupported_where_the_architecture_does_not_declare_it():
    lrp = EXPLAINERS.get("lrp")
    for name in ARCHITECTURES.names():
        arch_cls = ARCHITECTURES.get(name)
        reason = lrp.supports(arch_cls)
        if arch_cls.lrp_supported and arch_cls.modality != "text":
            assert reason is None
        else:
            assert reason and "\n" not in reason and name in reason


# -- values and determinism --------------------------------------------------------------------------

def test_batched_equals_per_example(explainer, model, batch):
    x, target, index = batch
    whole = explain(explainer, model, x, target, index)
    parts = torch.cat([explain(explainer, model, x[i:i + 1], target[i:i + 1], index[i:i + 1]) for i in range(N)])
    torch.testing.assert_close(whole, parts, rtol=0, atol=1e-5)


def test_same_inputs_give_the_same_map(explainer, model, batch):
    x, target, index = batch
    assert torch.equal(explain(explainer, model, x, target, index), explain(explainer, model, x, target, index))


def test_stochastic_maps_follow_the_dataset_index(explainer, model, batch):
    """A sample's noise comes from (seed, index_i): a permuted batch gives the permuted maps, another index
    another map, and without an index only the identical batch reproduces."""
    if not explainer.stochastic:
        pytest.skip("deterministic explainer")
    x, target, index = batch
    A = explain(explainer, model, x, target, index)
    perm = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(explain(explainer, model, x[perm], target[perm], index[perm]), A[perm],
                               rtol=0, atol=1e-5)
    assert not torch.allclose(explain(explainer, model, x, target, index + N), A)
    assert torch.equal(explain(explainer, model, x, target, None), explain(explainer, model, x, target, None))


def test_mean_shift_invariance_is_as_declared(explainer, model, batch):
    """METRICS.md §3.2: f₂ = f₁ with c added to the normalization mean, so f₂(x + c) = f₁(x)."""
    x, target, index = batch
    shifted = copy.deepcopy(model)
    with torch.no_grad():
        shifted.normalization.mean += MEAN_SHIFT
    A1 = explain(explainer, model, x, target, index)
    A2 = explain(explainer, shifted, x + MEAN_SHIFT, target, index)
    delta = ((A1 - A2).abs().amax() / A1.abs().amax()).item()
    if explainer.mean_shift_invariant:
        assert delta < 1e-5  # rounding: (x + c) − (mean + c) is not bitwise x − mean
    else:
        assert delta > 1e-3


def test_works_under_no_grad_and_with_frozen_parameters(explainer, model, batch):
    x, target, index = batch
    reference = explain(explainer, model, x, target, index)
    with torch.no_grad():
        assert torch.equal(explain(explainer, model, x, target, index), reference)
    model.requires_grad_(False)
    assert torch.equal(explain(explainer, model, x, target, index), reference)
    assert not any(p.requires_grad for p in model.parameters())


# -- the model is left untouched -----------------------------------------------------------------------

def test_mixed_training_modes_are_restored(explainer, model, batch):
    """A model training with some submodules frozen in eval mode (e.g. BatchNorm) keeps that mix."""
    x, target, index = batch
    model.train()
    model.normalization.eval()
    explain(explainer, model, x, target, index)
    assert model.training and not model.normalization.training


def test_cleanup_when_attribute_raises(explainer, model, batch):
    if explainer.name in CONTROLS:
        pytest.skip("model-independent: an out-of-range target is never used")
    x, target, index = batch
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    modules = module_state(model)
    bad_target = torch.full_like(target, NUM_CLASSES)  # out of range
    with pytest.raises((IndexError, RuntimeError, ValueError, AssertionError)):
        explain(explainer, model, x, bad_target, index)
    assert hooks_left(model) == []
    assert module_state(model) == modules
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
        with explainer(model, cheap_params(explainer.name, x)) as e:
            e.explain(x, target, index=index)
            raise Boom
    assert hooks_left(model) == []
    assert model.training


def test_explain_outside_a_with_block_opens_one(explainer, model, batch):
    x, target, index = batch
    model.train()
    A = explainer(model, cheap_params(explainer.name, x)).explain(x, target, index=index)
    assert torch.equal(A, explain(explainer, model, x, target, index))
    assert hooks_left(model) == [] and model.training
