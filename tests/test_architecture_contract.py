"""The architecture contract (models/base.py, EXPLAINERS.md §0), checked for every registered architecture,
and every architecture on every available task of its modality."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from conftest import example_model
from xaibench.errors import ConfigError, DataUnavailableError
from xaibench.metrics.explainers.base import check_relu_modules
from xaibench.registries import ARCHITECTURES, TASKS
from xaibench.cell import model_inputs

NAMES = ARCHITECTURES.names()
IMAGE_NAMES = [n for n in NAMES if ARCHITECTURES.get(n).modality == "image"]
FEATURE_MAP_NDIM = {"image": 4, "time_series": 3}  # N x C x H x W, N x F x T
RELU_FUNCTIONS = {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
SMALL_TASK_PARAMS = {"n_train": 16, "n_test": 16}


@pytest.fixture(autouse=True)
def deterministic_single_thread():
    """Deterministic kernels; one thread, since on these tiny inputs (and a shared CPU) threads only cost time."""
    enabled, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    yield
    torch.use_deterministic_algorithms(enabled)
    torch.set_num_threads(threads)


class CountReluCalls(TorchFunctionMode):
    """Counts relu calls at the torch-function level (nn.ReLU makes exactly one, through F.relu)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func in RELU_FUNCTIONS
        return func(*args, **(kwargs or {}))


def record_outputs(model: nn.Module, paths: list[str]) -> tuple[dict[str, object], list]:
    """Forward hooks storing the output of each module path; returns (outputs, handles)."""
    outputs: dict[str, object] = {}
    handles = [model.get_submodule(p).register_forward_hook(lambda m, i, o, p=p: outputs.__setitem__(p, o))
               for p in paths]
    return outputs, handles


def relu_violations(model: nn.Module, x: torch.Tensor) -> list[str]:
    """ReLU modules run more than once per forward, and relus called as functions rather than through nn.ReLU."""
    calls: dict[str, int] = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: calls.__setitem__(n, calls.get(n, 0) + 1))
               for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    try:
        with CountReluCalls() as counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
    found = [f"ReLU '{n}' runs {c} times per forward" for n, c in calls.items() if c != 1]
    if counter.count != sum(calls.values()):
        found.append(f"{counter.count - sum(calls.values())} relu calls outside nn.ReLU modules")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_float_logits(name):
    model, x = example_model(name, num_classes=4)
    logits = model(x)
    assert logits.shape == (len(x), 4) and logits.dtype == torch.float32 and logits.isfinite().all()


@pytest.mark.parametrize("name", NAMES)
def test_backward_reaches_every_parameter(name):
    model, x = example_model(name)
    weights = torch.randn(len(x), 4, generator=torch.Generator().manual_seed(1))
    (model(x) * weights).sum().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert unused == [], f"parameters not used in forward: {unused}"
    assert [n for n, p in model.named_parameters() if not p.grad.isfinite().all()] == []


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_per_example_in_eval_mode(name):
    model, x = example_model(name)
    model.eval()
    with torch.no_grad():
        whole = model(x)
        single = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
    torch.testing.assert_close(whole, single, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_bitwise_identical_init(name):
    a, b, c = (example_model(name, seed=s)[0].state_dict() for s in (0, 0, 1))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a), "the init does not depend on torch.manual_seed"


@pytest.mark.parametrize("name", NAMES)
def test_normalization_is_the_first_layer_and_is_applied(name):
    model, x = example_model(name)
    if model.modality not in FEATURE_MAP_NDIM:
        pytest.skip(f"{model.modality} models take token ids, not normalized values")
    model.eval()
    assert next(iter(model.children())) is model.normalization
    order: list[nn.Module] = []
    handles = [m.register_forward_pre_hook(lambda m, i: order.append(m)) for m in model.modules() if m is not model]
    with torch.no_grad():
        reference = model(x)
    for h in handles:
        h.remove()
    assert order[0] is model.normalization, f"{type(order[0]).__name__} runs before the normalization"
    # The model sees x only through x - mean: shifting both leaves the logits, shifting the mean alone does not.
    model.normalization.mean += 0.25
    with torch.no_grad():
        torch.testing.assert_close(model(x + 0.25), reference, rtol=0, atol=1e-5)
        assert (model(x) - reference).abs().max() > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_declared_layers_resolve_run_and_feed_the_logits(name):
    model, x = example_model(name)
    cls = type(model)
    assert isinstance(cls.flint_layers, tuple) and all(isinstance(p, str) for p in cls.flint_layers)
    paths = [p for p in (cls.cam_layer, *cls.flint_layers, cls.embedding_layer) if p is not None]
    for path in paths:
        try:
            model.get_submodule(path)
        except AttributeError as err:
            pytest.fail(f"{name}: declared layer '{path}' does not resolve: {err}")
    if cls.modality == "text":
        assert cls.embedding_layer is not None, "text models declare the embedding_layer attributions are taken at"
    outputs, handles = record_outputs(model, paths)
    logits = model(x)
    for h in handles:
        h.remove()
    assert sorted(outputs) == sorted(set(paths)), f"hooks that never fired: {set(paths) - set(outputs)}"
    for path, out in outputs.items():
        assert isinstance(out, torch.Tensor) and len(out) == len(x), f"'{path}' output is not an N-row tensor"
    if cls.cam_layer is not None:
        assert outputs[cls.cam_layer].dim() == FEATURE_MAP_NDIM[cls.modality], "cam_layer output is no feature map"
    assert all(outputs[p].dim() >= 2 for p in cls.flint_layers)
    if not paths:
        return
    grads = torch.autograd.grad(logits.sum(), [outputs[p] for p in paths], allow_unused=True)
    assert [p for p, g in zip(paths, grads) if g is None] == [], "declared layers whose output the logits ignore"


@pytest.mark.parametrize("name", NAMES)
def test_relus_are_distinct_non_inplace_modules_and_the_only_relus(name):
    model, x = example_model(name)
    check_relu_modules(model)  # raises on in-place or shared ReLU modules
    assert not any(isinstance(m, nn.ReLU6) for m in model.modules()), "use nn.ReLU: explainers swap its rule"
    assert relu_violations(model, x) == []


class BadRelus(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.relu(self.linear(self.relu(x)))).relu()


def test_relu_violations_are_found():
    assert relu_violations(BadRelus(), torch.randn(2, 3)) == [
        "ReLU 'relu' runs 2 times per forward", "2 relu calls outside nn.ReLU modules"]


@pytest.mark.parametrize("name", NAMES)
def test_lrp_supported_models_run_captum_lrp(name):
    from captum.attr import LRP
    from captum.attr._utils.lrp_rules import IdentityRule

    model, x = example_model(name)
    if not model.lrp_supported:
        pytest.skip(f"{name} declares lrp_supported=False")
    assert model.modality != "text", "captum's LRP has no rule for nn.Embedding: text models are not lrp_supported"
    model.eval()
    model.normalization.rule = IdentityRule()  # as the LRP explainer (EXPLAINERS.md §1)
    A = LRP(model).attribute(x.requires_grad_(), target=torch.arange(len(x)) % 4)
    assert A.shape == x.shape and A.isfinite().all() and A.abs().sum() > 0


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_image_models_run_on_mnist_and_cifar_shapes(name, shape):
    cls = ARCHITECTURES.get(name)
    torch.manual_seed(0)
    model = cls(cls.make_config(), shape, 10, mean=[0.5] * shape[0], std=[0.25] * shape[0])
    x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(0))
    logits = model(x)
    assert logits.shape == (3, 10)
    logits.sum().backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in model.parameters())


# -- every architecture on every available task of its modality -----------------------------------------------

def task_architecture_pairs() -> list[tuple[str, str]]:
    return [(t, a) for t in TASKS.names() for a in NAMES
            if TASKS.get(t).meta.modality == ARCHITECTURES.get(a).modality]


@pytest.mark.parametrize("task_name,arch_name", task_architecture_pairs())
def test_architecture_trains_on_task(task_name, arch_name):
    task_cls, arch_cls = TASKS.get(task_name), ARCHITECTURES.get(arch_name)
    fields = {f.name for f in dataclasses.fields(task_cls.Config)}
    task = task_cls(task_cls.parse_config({k: v for k, v in SMALL_TASK_PARAMS.items() if k in fields}))
    try:
        task.check_available()
    except DataUnavailableError as err:
        pytest.skip(str(err))
    meta = task.meta
    batch = task.load("test", seed=0)[:8]
    assert tuple(batch.x.shape[1:]) == meta.input_shape
    torch.manual_seed(0)
    model = arch_cls(arch_cls.make_config(), meta.input_shape, meta.num_classes, **model_inputs(meta, batch))
    logits = model(batch.x)
    assert logits.shape == (len(batch), meta.num_classes)
    F.cross_entropy(logits, batch.y).backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in model.parameters())


# -- the built-in image architectures match their references ---------------------------------------------------

@pytest.mark.parametrize("name,params,shape,classes,expected", [
    ("resnet18", {"width": 64}, (3, 32, 32), 10, 11_173_962),  # the common CIFAR ResNet-18 (kuangliu/pytorch-cifar)
    ("mobilenet_v2", {"width_mult": 1.0}, (3, 224, 224), 1000, 3_504_872),  # torchvision mobilenet_v2
    ("vit", {"patch_size": 16, "dim": 768, "depth": 12, "heads": 12, "mlp_ratio": 4}, (3, 224, 224), 1000,
     86_567_656),  # ViT-B/16 (timm vit_base_patch16_224)
    ("mlp", {"hidden": [256, 128]}, (3, 32, 32), 10, 3072 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10),
])
def test_parameter_counts_match_the_references(name, params, shape, classes, expected):
    cls = ARCHITECTURES.get(name)
    with torch.device("meta"):  # counts without allocating
        model = cls(cls.parse_config(params), shape, classes)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("name,expected", [
    ("resnet18", {"layer3": (64, 8, 8), "layer4.0": (128, 4, 4), "layer4": (128, 4, 4)}),
    ("mobilenet_v2", {"features.13": (24, 8, 8), "features.14": (40, 4, 4), "features.18": (320, 4, 4)}),
    ("vit", {"blocks.1": (65, 64), "norm": (65, 64)}),
    ("mlp", {"hidden.0": (256,)}),
])
def test_declared_layer_shapes_at_32px(name, expected):
    cls = ARCHITECTURES.get(name)
    model = cls(cls.make_config(), (3, 32, 32), 4)
    outputs, _ = record_outputs(model, list(expected))
    model(torch.zeros(2, 3, 32, 32))
    assert {p: tuple(o.shape[1:]) for p, o in outputs.items()} == expected


@pytest.mark.parametrize("name,params,shape,message", [
    ("vit", {}, (1, 30, 30), "vit: patch_size=4 does not divide the input size 30x30"),
    ("vit", {"dim": 10, "heads": 4}, (1, 32, 32), "params: dim=10 is not divisible by heads=4"),
    ("mlp", {"hidden": []}, (1, 28, 28), "params: hidden=[]: needs at least one layer, each of width >= 1"),
    ("resnet18", {"width": 0}, (1, 28, 28), "params: width=0: must be >= 1"),
])
def test_bad_settings_are_one_line_errors_naming_the_value(name, params, shape, message):
    cls = ARCHITECTURES.get(name)
    with pytest.raises(ConfigError) as err:
        cls(cls.parse_config(params), shape, 4)
    assert str(err.value) == message
