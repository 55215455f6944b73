"""The architecture contract (models/base.py, EXPLAINERS.md §0) for every registered architecture, through the
plugin self-check `xaibench.testing.check_architecture`; every architecture on every available task of its
modality; the built-ins against their references; and the check itself: each broken rule is found and named."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import REPO
from xaibench.cell import model_inputs
from xaibench.errors import ConfigError, DataUnavailableError
from xaibench.models.base import Architecture
from xaibench.plugins import load_plugin_file
from xaibench.registries import ARCHITECTURES, TASKS
from xaibench.testing import CheckError, check_architecture
from xaibench.testing.architecture import relu_violations

load_plugin_file(str(REPO / "examples" / "tiny_convnet.py"))  # the plugin example is checked like the rest
NAMES = ARCHITECTURES.names()
IMAGE_NAMES = [n for n in NAMES if ARCHITECTURES.get(n).modality == "image"]
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


@pytest.mark.parametrize("name", NAMES)
def test_every_architecture_passes_its_check(name):
    report = check_architecture(ARCHITECTURES.get(name))
    assert report.architecture == name and report.parameters > 0


def record_outputs(model: nn.Module, paths: list[str]) -> tuple[dict[str, object], list]:
    """Forward hooks storing the output of each module path; returns (outputs, handles)."""
    outputs: dict[str, object] = {}
    handles = [model.get_submodule(p).register_forward_hook(lambda m, i, o, p=p: outputs.__setitem__(p, o))
               for p in paths]
    return outputs, handles



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
    ("mlp", {"hidden": []}, (1, 28, 28), "params: hidden=[]: needs at least one layer"),
    ("mlp", {"hidden": [8, 0]}, (1, 28, 28), "params.hidden[1]: 0 is out of range (must be >= 1)"),
    ("resnet18", {"width": 0}, (1, 28, 28), "params.width: 0 is out of range (must be >= 1)"),
    ("ts_transformer", {"dim": 30}, (3, 40), "params: dim=30 is not divisible by heads=4"),
])
def test_bad_settings_are_one_line_errors_naming_the_value(name, params, shape, message):
    cls = ARCHITECTURES.get(name)
    with pytest.raises(ConfigError) as err:
        cls(cls.parse_config(params), shape, 4)
    assert str(err.value) == message


# -- the check finds what is broken ----------------------------------------------------------------------

class Good(Architecture):
    """Conv, ReLU, pool, linear (a test fixture)."""

    name = "fixture"
    cam_layer = "relu"

    @dataclasses.dataclass(frozen=True)
    class Config:
        pass

    def __init__(self, config, input_shape, num_classes, **data):
        super().__init__(config, input_shape, num_classes, **data)
        self.conv = nn.Conv2d(input_shape[0], 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.head = nn.Linear(4, num_classes)
        self.unused = nn.Identity()

    def forward(self, x):
        return self.head(self.relu(self.conv(self.normalization(x))).mean((2, 3)))


def architecture(forward=None, **attrs):
    return type("Broken", (Good,), {"name": "broken", "__doc__": "A broken architecture (test fixture).",
                                    **({"forward": forward} if forward else {}), **attrs})


def test_the_fixture_passes():
    assert check_architecture(architecture()).layer_shapes == {"relu": (4, 32, 32)}


@pytest.mark.parametrize("forward, attrs, message", [
    (lambda self, x: Good.forward(self, x)[:, :2], {}, r"forward returned \(\(6, 2\), torch\.float32\), expected"),
    (lambda self, x: Good.forward(self, x).double(), {}, r"expected float32 logits \(6, 4\)"),
    (lambda self, x: Good.forward(self, x) + x.mean(), {}, r"a sample's logits alone differ from its logits in the batch"),
    (lambda self, x: Good.forward(self, x) + torch.rand(1), {}, r"in a permuted batch differ"),
    (lambda self, x: self.head(self.relu(self.conv(x)).mean((2, 3))), {},
     r"the model does not see x only through its normalization"),
    (lambda self, x: self.head(self.relu(self.conv(self.normalization(x))).mean((2, 3)).detach() * 0 + 1), {},
     r"parameters the forward pass never uses: normalization|parameters the forward pass never uses: conv\.weight"),
    (lambda self, x: (self.eval(), Good.forward(self, x))[1], {}, r"forward changed train/eval modes: <model>"),
    (lambda self, x: self.head(F.relu(self.relu(self.conv(self.normalization(x)))).mean((2, 3))), {},
     r"1 relu calls outside nn\.ReLU modules"),
    (None, {"cam_layer": "body.relu"}, r"declared layer 'body\.relu' does not resolve"),
    (None, {"cam_layer": "unused"}, r"declared layers that never run in forward: unused"),
    (None, {"cam_layer": "head"}, r"cam_layer 'head' outputs 2-D tensors, not feature maps \(4-D\)"),
    (None, {"lrp_supported": "yes", "modality": "text"}, r"text models declare embedding_layer"),
    (None, {"version": ""}, r"version='': must be a non-empty string"),
    (lambda self, x: Good.forward(self, x) * (1.0 if self.training else 2.0), {"mode_free": True},
     r"mode_free=True, but train and eval mode give different logits"),
])
def test_check_names_what_is_wrong(forward, attrs, message):
    with pytest.raises(CheckError, match=r"^architecture 'broken': .*" + message):
        check_architecture(architecture(forward, **attrs))


def test_check_finds_a_dropout_in_a_model_declared_mode_free():
    def with_dropout(self, config, input_shape, num_classes, **data):
        Good.__init__(self, config, input_shape, num_classes, **data)
        self.drop = nn.Dropout(0.0)  # p = 0: the same logits, yet a module whose forward reads the mode

    forward = lambda self, x: self.head(self.drop(self.relu(self.conv(self.normalization(x)))).mean((2, 3)))  # noqa
    with pytest.raises(CheckError, match=r"mode_free=True, but drop depend\(s\) on train/eval mode"):
        check_architecture(architecture(forward, __init__=with_dropout, mode_free=True))


def test_check_finds_in_place_relus_and_an_init_that_ignores_the_seed():
    def inplace_init(self, config, input_shape, num_classes, **data):
        Good.__init__(self, config, input_shape, num_classes, **data)
        self.relu = nn.ReLU(inplace=True)

    with pytest.raises(CheckError, match=r"ReLU 'relu' is in-place; ReLU rules need inplace=False"):
        check_architecture(architecture(__init__=inplace_init))

    def fixed_init(self, config, input_shape, num_classes, **data):
        Good.__init__(self, config, input_shape, num_classes, **data)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(7)))

    with pytest.raises(CheckError, match=r"the init does not depend on torch\.manual_seed"):
        check_architecture(architecture(__init__=fixed_init))
