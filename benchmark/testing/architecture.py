"""`check_architecture`: the self-check of an architecture (models/base.py, EXPLAINERS.md §0), for plugin authors.

It builds the model on a small input of its modality and reports every broken rule: metadata, float logits of
shape N x classes, a gradient for every parameter, a sample's logits not depending on its batch (alone,
permuted), the same init for the same seed, the normalization as the first layer that runs, the declared layers
(``cam_layer``, ``flint_layers``, ``embedding_layer``) resolving, running and feeding the logits, ReLUs as
distinct non-in-place ``nn.ReLU`` modules (the explainers swap their rules), the forward pass leaving modes and
hooks alone, captum's LRP running where ``lrp_supported`` says so, and train and eval mode giving the same logits
where ``mode_free`` says so.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from xaibench.errors import ConfigError
from xaibench.models.base import Architecture
from xaibench.testing.configs import component_problems, make_config
from xaibench.testing.helpers import changed_modes, example_model, fail_on, hooks_left, modes, one_thread

NUM_CLASSES = 4
FEATURE_MAP_NDIM = {"image": 4, "time_series": 3}  # N x C x H x W, N x F x T
RELU_FUNCTIONS = {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
PERMUTATION = (3, 0, 5, 1, 4, 2)


@dataclasses.dataclass(frozen=True)
class ArchitectureReport:
    """What the check built: the number of parameters and the output shape of every declared layer."""

    architecture: str
    parameters: int
    layer_shapes: dict[str, tuple[int, ...]]


def check_architecture(cls: type, config: Any = None) -> ArchitectureReport:
    """Build ``cls`` (``config``: None, a params dict or a Config) on 6 small inputs of its modality (images
    1 x 32 x 32, time series 3 x 40, text 16 token ids) with 4 classes, and check the contract.

    Raises `xaibench.testing.CheckError` listing what is wrong.

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> report = check_architecture(SmallCNN, {"width": 4})
    >>> report.parameters, report.layer_shapes
    (1572, {'features.3': (8, 8, 8), 'features.4': (16, 8, 8)})
    """
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    problems = _static_problems(cls)
    fail_on("architecture", name, problems)
    config, problems = make_config(cls, config)
    fail_on("architecture", name, problems)
    with one_thread(), torch.random.fork_rng():
        try:
            model, x = example_model(cls, NUM_CLASSES, config=config)
        except Exception as err:
            fail_on("architecture", name, [f"building it raised {type(err).__name__}: {err}"])
        try:
            shapes = _run_checks(cls, config, model, x, problems)
        except Exception as err:  # a probe the model breaks: report it with what was found so far
            problems.append(f"the model raised {type(err).__name__} during the checks: {err}")
            shapes = {}
    fail_on("architecture", name, problems)
    return ArchitectureReport(name, sum(p.numel() for p in model.parameters()), shapes)


def _static_problems(cls: Any) -> list[str]:
    problems = component_problems(cls, Architecture)
    if not (isinstance(cls, type) and issubclass(cls, Architecture)):
        return problems
    if cls.modality not in ("image", "time_series", "text"):
        problems.append(f"modality={cls.modality!r}: choose from image, time_series, text")
    if not isinstance(cls.flint_layers, tuple) or not all(isinstance(p, str) for p in cls.flint_layers):
        problems.append("flint_layers must be a tuple of module paths")
    if cls.modality == "text" and not cls.embedding_layer:
        problems.append("text models declare embedding_layer (where attributions are taken)")
    if cls.modality == "text" and cls.lrp_supported:
        problems.append("lrp_supported=True on a text model: captum's LRP has no rule for nn.Embedding")
    if cls.forward is nn.Module.forward:
        problems.append("override forward(x) (it returns logits)")
    return problems


def _run_checks(cls: type, config: Any, model: nn.Module, x: torch.Tensor, problems: list[str]) -> dict:
    before = modes(model)
    try:
        logits = model(x)
    except Exception as err:
        problems.append(f"forward raised {type(err).__name__}: {err}")
        return {}
    if changed_modes(model, before):
        problems.append(f"forward changed train/eval modes: {', '.join(changed_modes(model, before)[:5])}")
    if not isinstance(logits, torch.Tensor) or logits.shape != (len(x), NUM_CLASSES) or logits.dtype != torch.float32:
        got = (tuple(logits.shape), logits.dtype) if isinstance(logits, torch.Tensor) else type(logits).__name__
        problems.append(f"forward returned {got}, expected float32 logits ({len(x)}, {NUM_CLASSES})")
        return {}
    if not logits.isfinite().all():
        problems.append("forward gives NaN/Inf logits")
    weights = torch.randn(len(x), NUM_CLASSES, generator=torch.Generator().manual_seed(1))
    (logits * weights).sum().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    if unused:
        problems.append(f"parameters the forward pass never uses: {', '.join(unused[:5])}")
    if [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.isfinite().all()]:
        problems.append("NaN/Inf parameter gradients")
    model.zero_grad(set_to_none=True)
    problems += _batch_problems(model, x)
    problems += _seed_problems(cls, config)
    problems += _normalization_problems(model, x)
    shapes, layer_problems = _layer_problems(model, x)
    problems += layer_problems + _relu_problems(model, x) + _lrp_problems(model, x) + _mode_problems(model, x)
    if hooks_left(model):
        problems.append(f"hooks registered on the model: {', '.join(hooks_left(model)[:5])}")
    return shapes


def _batch_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    """In eval mode a sample's logits do not depend on the rest of its batch (float tolerance: other batch
    shapes may take other CPU kernels)."""
    model.eval()
    with torch.no_grad():
        whole = model(x)
        single = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
        perm = torch.tensor(PERMUTATION)
        permuted = model(x[perm])
    model.train()
    found = []
    for what, got, expected in (("alone", single, whole), ("in a permuted batch", permuted, whole[perm])):
        try:
            torch.testing.assert_close(got, expected)
        except AssertionError:
            found.append(f"in eval mode a sample's logits {what} differ from its logits in the batch")
    return found


def _seed_problems(cls: type, config: Any) -> list[str]:
    a, b, c = (example_model(cls, NUM_CLASSES, seed=s, config=config)[0].state_dict() for s in (0, 0, 1))
    if a.keys() != b.keys() or not all(torch.equal(a[k], b[k]) for k in a):
        return ["the same torch.manual_seed gives another init (draw from torch's global generator only)"]
    if all(torch.equal(a[k], c[k]) for k in a):
        return ["the init does not depend on torch.manual_seed"]
    return []


def _normalization_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    """``normalization`` is the first child and the first module to run; the model sees x only through it."""
    if model.modality not in FEATURE_MAP_NDIM:
        return []  # token ids are not normalized
    if next(iter(model.children()), None) is not model.normalization:
        return ["self.normalization must be the first child module (the base class makes it: call super().__init__)"]
    order: list[nn.Module] = []
    handles = [m.register_forward_pre_hook(lambda m, i: order.append(m)) for m in model.modules() if m is not model]
    model.eval()
    try:
        with torch.no_grad():
            reference = model(x)
    finally:
        for h in handles:
            h.remove()
    found = []
    if order and order[0] is not model.normalization:
        found.append(f"{type(order[0]).__name__} runs before the normalization: apply self.normalization first")
    with torch.no_grad():
        model.normalization.mean += 0.25
        try:
            shifted = model(x + 0.25)
            torch.testing.assert_close(shifted, reference, rtol=0, atol=1e-5)
        except AssertionError:
            found.append("the model does not see x only through its normalization (x - mean)")
        finally:
            model.normalization.mean -= 0.25
    model.train()
    return found


def _layer_problems(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    cls = type(model)
    paths = [p for p in dict.fromkeys((cls.cam_layer, *cls.flint_layers, cls.embedding_layer)) if p is not None]
    found = []
    for path in paths:
        try:
            model.get_submodule(path)
        except AttributeError as err:
            found.append(f"declared layer '{path}' does not resolve: {err}")
    if found:
        return {}, found
    outputs: dict[str, Any] = {}
    handles = [model.get_submodule(p).register_forward_hook(lambda m, i, o, p=p: outputs.__setitem__(p, o))
               for p in paths]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    missing = [p for p in paths if p not in outputs]
    if missing:
        return {}, [f"declared layers that never run in forward: {', '.join(missing)}"]
    for path, out in outputs.items():
        if not isinstance(out, torch.Tensor) or len(out) != len(x):
            found.append(f"declared layer '{path}' does not output one tensor with a row per sample")
    if found:
        return {}, found
    if cls.cam_layer is not None and outputs[cls.cam_layer].dim() != FEATURE_MAP_NDIM.get(cls.modality):
        found.append(f"cam_layer '{cls.cam_layer}' outputs {outputs[cls.cam_layer].dim()}-D tensors, not feature maps "
                     f"({FEATURE_MAP_NDIM.get(cls.modality)}-D)")
    linked = [p for p in paths if outputs[p].requires_grad]
    grads = torch.autograd.grad(logits.sum(), [outputs[p] for p in linked], allow_unused=True) if linked else ()
    ignored = [p for p in paths if p not in linked] + [p for p, g in zip(linked, grads) if g is None]
    if ignored:
        found.append(f"declared layers whose output the logits ignore: {', '.join(ignored)}")
    return {p: tuple(o.shape[1:]) for p, o in outputs.items() if p != cls.embedding_layer}, found


class _CountReluCalls(TorchFunctionMode):
    """Counts relu calls at the torch-function level (nn.ReLU makes exactly one, through F.relu)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func in RELU_FUNCTIONS
        return func(*args, **(kwargs or {}))


def relu_violations(model: nn.Module, x: torch.Tensor) -> list[str]:
    """ReLU modules run more than once per forward, and relus called as functions rather than through nn.ReLU."""
    calls: dict[str, int] = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: calls.__setitem__(n, calls.get(n, 0) + 1))
               for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    try:
        with _CountReluCalls() as counter:
            model(x)
    finally:
        for h in handles:
            h.remove()
    found = [f"ReLU '{n}' runs {c} times per forward" for n, c in calls.items() if c != 1]
    if counter.count != sum(calls.values()):
        found.append(f"{counter.count - sum(calls.values())} relu calls outside nn.ReLU modules")
    return found


def _relu_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    from xaibench.metrics.explainers.base import check_relu_modules

    found = []
    try:
        check_relu_modules(model)
    except ConfigError as err:
        found.append(str(err))
    if any(isinstance(m, nn.ReLU6) for m in model.modules()):
        found.append("nn.ReLU6 found: use nn.ReLU, whose backward rule the explainers swap")
    return found + relu_violations(model, x)


def _lrp_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    if not model.lrp_supported or model.modality == "text":
        return []
    from captum.attr import LRP
    from captum.attr._utils.lrp_rules import IdentityRule

    model.eval()
    model.normalization.rule = IdentityRule()  # as the LRP explainer does (EXPLAINERS.md §1)
    try:
        A = LRP(model).attribute(x.clone().requires_grad_(), target=torch.arange(len(x)) % NUM_CLASSES)
    except Exception as err:
        return [f"lrp_supported=True, but captum's LRP raised {type(err).__name__}: {err}"]
    finally:
        if hasattr(model.normalization, "rule"):  # captum may have removed it already
            del model.normalization.rule
        model.train()
    if A.shape != x.shape or not A.isfinite().all() or A.abs().sum() == 0:
        return ["lrp_supported=True, but captum's LRP gives no finite, non-zero attributions"]
    return []


MODE_DEPENDENT = (nn.modules.batchnorm._NormBase, nn.modules.dropout._DropoutNd)


def _mode_problems(model: nn.Module, x: torch.Tensor) -> list[str]:
    """``mode_free``: no dropout or batch-norm module, and the same logits in train and eval mode."""
    if not getattr(model, "mode_free", False):
        return []
    found = [name for name, m in model.named_modules() if isinstance(m, MODE_DEPENDENT)]
    if found:
        return [f"mode_free=True, but {', '.join(found[:3])} depend(s) on train/eval mode"]
    from xaibench.methods.hooks import eval_mode

    with torch.no_grad():
        train = model.train()(x)
        with eval_mode(model):
            evaluated = model(x)
    return [] if torch.equal(train, evaluated) else ["mode_free=True, but train and eval mode give different logits"]
