"""`check_explainer`: the self-check of an explainer (EXPLAINERS.md §0, §5), for plugin authors.

On a small model of every modality the explainer declares (or on given architectures) it explains a batch of 4
and reports every broken rule: metadata, the attributions' shape, dtype and device, a sample's map not depending
on the rest of its batch (alone, permuted), the same map on a repeat, noise that follows the dataset index
(stochastic explainers), mean-shift invariance as declared, and the model left exactly as it was (hooks, module
swaps, parameters, modes, gradients), also when the call or the ``with`` block raises.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from xaibench.metrics.explainers.base import Explainer
from xaibench.testing.configs import component_problems, make_config
from xaibench.testing.helpers import (EXAMPLE_ARCHITECTURES, changed_modes, example_model, fail_on, hooks_left,
                                      module_state, modes, one_thread)

N, NUM_CLASSES = 4, 4
PERMUTATION = (2, 0, 3, 1)
MEAN_SHIFT = 1.0
REQUIREMENTS = frozenset({"cam_layer", "relu_modules", "flint"})
MODALITIES = frozenset({"image", "time_series", "text"})


@dataclasses.dataclass(frozen=True)
class ExplainerReport:
    """What the check ran: per architecture the attributions of the batch, and the architectures left out."""

    explainer: str
    attributions: dict[str, torch.Tensor]
    unsupported: dict[str, str]  # architecture -> the reason `supports` gave


def check_explainer(cls: type, config: Any = None, architectures: Sequence[str] | None = None,
                    quick: bool = False) -> ExplainerReport:
    """Explain a tiny batch with ``cls`` (``config``: None, a params dict or a Config) and check the contract.

    ``architectures``: registered names to run on (default: one per modality the explainer declares, see
    `xaibench.testing.EXAMPLE_ARCHITECTURES`); those ``supports`` refuses are reported, not run, but refusing
    all is an error. ``quick`` runs only shape, batch independence, a repeat and the model left untouched.
    Raises `xaibench.testing.CheckError` listing what is wrong.

    >>> from xaibench.metrics.explainers.saliency import Saliency
    >>> report = check_explainer(Saliency)
    >>> sorted(report.attributions), tuple(report.attributions["small_cnn"].shape)
    (['small_cnn', 'text_transformer', 'ts_tcn'], (4, 1, 32, 32))
    """
    from xaibench.registries import ARCHITECTURES

    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    problems = _static_problems(cls)
    fail_on("explainer", name, problems)
    config, problems = make_config(cls, config)
    fail_on("explainer", name, problems)
    if architectures is None:
        architectures = [EXAMPLE_ARCHITECTURES[m] for m in sorted(cls.modalities)]
    maps, unsupported = {}, {}
    with one_thread(), _deterministic():
        for arch in architectures:
            reason = cls.supports(ARCHITECTURES.get(arch))
            if reason:
                unsupported[arch] = reason
                continue
            maps[arch] = _check_on(cls, config, arch, quick, problems)
    if not maps:
        problems.append(f"supports() refuses every architecture tried: {'; '.join(unsupported.values())}")
    fail_on("explainer", name, problems)
    return ExplainerReport(name, maps, unsupported)


def _static_problems(cls: Any) -> list[str]:
    problems = component_problems(cls, Explainer)
    if not (isinstance(cls, type) and issubclass(cls, Explainer)):
        return problems
    if not isinstance(cls.requires, frozenset) or not cls.requires <= REQUIREMENTS:
        problems.append(f"requires={sorted(cls.requires)}: a subset of {sorted(REQUIREMENTS)}")
    for flag in ("stochastic", "mean_shift_invariant"):
        if not isinstance(getattr(cls, flag), bool):
            problems.append(f"{flag} must be True or False (EXPLAINERS.md §5)")
    if not cls.modalities or not cls.modalities <= MODALITIES:
        problems.append(f"modalities={sorted(cls.modalities)}: a non-empty subset of {sorted(MODALITIES)}")
    if cls.attribute is Explainer.attribute:
        problems.append("override attribute(x, target, index)")
    return problems


class _deterministic:
    """Deterministic kernels and a fixed global seed while the check runs."""

    def __enter__(self) -> None:
        self.enabled = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(0)

    def __exit__(self, *exc: object) -> None:
        torch.use_deterministic_algorithms(self.enabled)


def _model(cls: type, arch: str) -> tuple[nn.Module, torch.Tensor]:
    model, x = example_model(arch, NUM_CLASSES, n=N)
    if "flint" in cls.requires:  # FLINT explainers read the networks that training attaches
        from xaibench.methods.flint import attach_flint

        attach_flint(model, x[:2])
    return model, x


def _call(cls: type, config: Any, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
          index: torch.Tensor | None) -> torch.Tensor:
    with cls(model, config) as e:
        return e.explain(x, target, index=index)


def _untouched(model: nn.Module, snapshot: dict[str, Any], when: str) -> list[str]:
    """What the explainer left changed on ``model`` since ``snapshot``."""
    found = [f"hook left on the model {when}: {h}" for h in hooks_left(model)[:5]]
    if module_state(model) != snapshot["modules"]:
        changed = [k or "<model>" for k, v in module_state(model).items() if snapshot["modules"].get(k) != v]
        found.append(f"modules swapped or patched {when} (undo them in teardown): {', '.join(changed[:5])}")
    if changed_modes(model, snapshot["modes"]):
        found.append(f"train/eval modes not restored {when}: {', '.join(changed_modes(model, snapshot['modes'])[:5])}")
    if {n: id(p) for n, p in model.named_parameters()} != snapshot["parameters"]:
        found.append(f"parameters replaced {when}")
    after = model.state_dict()
    if after.keys() != snapshot["state"].keys() or any(not torch.equal(after[k], v)
                                                       for k, v in snapshot["state"].items()):
        found.append(f"parameters or buffers changed {when}")
    if any(p.grad is not None for p in model.parameters()):
        found.append(f"parameter gradients left {when} (use torch.autograd.grad, or zero them)")
    return found


def _snapshot(model: nn.Module) -> dict[str, Any]:
    return {"modules": module_state(model), "modes": modes(model), "state": copy.deepcopy(model.state_dict()),
            "parameters": {n: id(p) for n, p in model.named_parameters()}}


def _check_on(cls: type, config: Any, arch: str, quick: bool, problems: list[str]) -> torch.Tensor | None:
    model, x = _model(cls, arch)
    target, index = torch.arange(N) % NUM_CLASSES, torch.arange(100, 100 + N)
    at = f"on {arch}"
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    model.normalization.eval()  # a mix of modes (e.g. frozen BatchNorm) must survive too
    snapshot = _snapshot(model)
    try:
        A = _call(cls, config, model, x, target, index)
        alone = _call(cls, config, model, x[1:2], target[1:2], index[1:2])
        again = _call(cls, config, model, x, target, index)
    except Exception as err:
        problems.append(f"explain raised {type(err).__name__} {at}: {err}")
        return None
    problems += _untouched(model, snapshot, f"after explain {at}")
    model.eval()
    with torch.no_grad():
        if not torch.equal(model(x), logits):
            problems.append(f"the model's output changed after explain {at}")
    model.train()
    model.normalization.eval()

    shape = x.shape if x.is_floating_point() else (*x.shape, model.get_submodule(model.embedding_layer).embedding_dim)
    if (A.shape, A.dtype, A.device) != (shape, torch.float32, x.device):
        problems.append(f"attributions are {tuple(A.shape)} {A.dtype} on {A.device} {at}, expected "
                        f"{tuple(shape)} float32 on {x.device}")
        return A
    if not torch.equal(A, again):
        problems.append(f"a repeat gives another map {at}: draw noise from (seed, index) only")
    # Other batch compositions: CPU kernels promise no bitwise equality (issue 17), so a float tolerance.
    if not _close(alone, A[1:2]):
        problems.append(f"a sample explained alone differs from the same sample in its batch {at}")
    if quick:
        return A
    try:
        problems += _full_problems(cls, config, model, x, target, index, A, at)
    except Exception as err:  # e.g. under no_grad or with frozen parameters
        problems.append(f"explain raised {type(err).__name__} {at} (in a later check): {err}")
    return A


def _full_problems(cls: type, config: Any, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                   index: torch.Tensor, A: torch.Tensor, at: str) -> list[str]:
    """Permutation, the dataset-index noise, mean shift, no_grad and frozen parameters, cleanup on errors."""
    problems = []
    perm = torch.tensor(PERMUTATION)
    if not _close(_call(cls, config, model, x[perm], target[perm], index[perm]), A[perm]):
        problems.append(f"maps do not follow their sample {at}: a permuted batch (with its index) gives other maps")
    if cls.stochastic:
        if _close(_call(cls, config, model, x, target, index + N), A):
            problems.append(f"stochastic, but other dataset indices give the same maps {at}: seed each sample's "
                            "noise from (seed, index_i) (xaibench.metrics.explainers.base.per_sample_noise)")
        if not torch.equal(_call(cls, config, model, x, target, None), _call(cls, config, model, x, target, None)):
            problems.append(f"without an index, the same batch gives other maps {at}")
    problems += _mean_shift_problems(cls, config, model, x, target, index, A, at)
    with torch.no_grad():
        if not torch.equal(_call(cls, config, model, x, target, index), A):
            problems.append(f"under torch.no_grad the maps differ {at} (explain must enable gradients itself)")
    model.requires_grad_(False)
    if not torch.equal(_call(cls, config, model, x, target, index), A):
        problems.append(f"with frozen parameters (requires_grad=False) the maps differ {at}")
    if any(p.requires_grad for p in model.parameters()):
        problems.append(f"requires_grad of frozen parameters switched on {at}")
    model.requires_grad_(True)
    return problems + _cleanup_problems(cls, config, model, x, target, index, A, at)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    try:
        torch.testing.assert_close(a, b)
        return True
    except AssertionError:
        return False


def _mean_shift_problems(cls: type, config: Any, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                         index: torch.Tensor, A: torch.Tensor, at: str) -> list[str]:
    """METRICS.md §3.2: f₂ = f₁ with c added to the normalization mean, so f₂(x + c) = f₁(x)."""
    if not x.is_floating_point() or A.abs().amax() == 0:
        return []
    shifted = copy.deepcopy(model)
    with torch.no_grad():
        shifted.normalization.mean += MEAN_SHIFT
    A2 = _call(cls, config, shifted, x + MEAN_SHIFT, target, index)
    delta = ((A - A2).abs().amax() / A.abs().amax()).item()
    if cls.mean_shift_invariant and delta > 1e-5:  # rounding: (x + c) - (mean + c) is not bitwise x - mean
        return [f"declares mean_shift_invariant=True, but a mean shift changes the maps by {delta:.3g} {at}"]
    if not cls.mean_shift_invariant and delta < 1e-3:
        return [f"declares mean_shift_invariant=False, but a mean shift leaves the maps ({delta:.3g}) {at}"]
    return []


class _Boom(Exception):
    pass


def _cleanup_problems(cls: type, config: Any, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                      index: torch.Tensor, A: torch.Tensor, at: str) -> list[str]:
    """The model is restored when ``attribute`` raises (an out-of-range target) or the ``with`` block does, and
    ``explain`` outside a ``with`` block opens one for the call."""
    found = []
    snapshot = _snapshot(model)
    try:
        _call(cls, config, model, x, torch.full_like(target, NUM_CLASSES), index)
    except Exception:
        found += _untouched(model, snapshot, f"after explain raised {at}")
    try:
        with cls(model, config) as e:
            e.explain(x, target, index=index)
            raise _Boom
    except _Boom:
        found += _untouched(model, snapshot, f"after the with block raised {at}")
    if not torch.equal(cls(model, config).explain(x, target, index=index), A):
        found.append(f"explain outside a with block gives other maps {at}")
    found += _untouched(model, snapshot, f"after explain outside a with block {at}")
    return found
