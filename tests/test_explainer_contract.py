"""The explainer contract (EXPLAINERS.md §0, §5) for every registered explainer, through the plugin self-check
`xaibench.testing.check_explainer`: all checks on one representative architecture per modality, the core
checks on every architecture; then the check itself: each broken rule is found and named."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from conftest import REPO
from xaibench.metrics.explainers.base import Explainer
from xaibench.plugins import load_plugin_file
from xaibench.registries import ARCHITECTURES, EXPLAINERS
from xaibench.testing import CheckError, check_explainer

load_plugin_file(str(REPO / "examples" / "squared_gradient.py"))  # the plugin example is checked like the rest

# EXPLAINERS.md §5: (stochastic, mean-shift invariant) of every built-in explainer.
EXPECTED_PROPERTIES = {
    "saliency": (False, True), "guided_backprop": (False, True), "grad_cam": (False, True),
    "grad_cam_pp": (False, True), "smoothgrad": (True, True), "nobias_rectgrad": (False, True),
    "lrp": (False, True), "input_x_gradient": (False, False), "rectgrad": (False, False),
    "integrated_gradients": (False, False), "deeplift": (False, False), "occlusion": (False, False),
    "score_cam": (False, False), "random": (True, True), "constant": (False, True),
}
# Score-CAM makes one forward pass per cam_layer channel: too slow on wide layers; it runs on the representatives.
WIDE_CAM_LAYERS = {"resnet18", "mobilenet_v2", "vit"}


def cheap_params(name: str) -> dict[str, Any]:
    """Settings that expand each sample into as few model passes as possible (the contract is about mechanics)."""
    return {"integrated_gradients": {"n_steps": 2}, "smoothgrad": {"n_samples": 2},
            "occlusion": {"internal_batch_size": 256}}.get(name, {})


@pytest.mark.parametrize("name", EXPLAINERS.names())
def test_every_explainer_passes_its_check(name):
    report = check_explainer(EXPLAINERS.get(name), cheap_params(name))
    assert report.attributions


@pytest.mark.parametrize("name", EXPLAINERS.names())
@pytest.mark.parametrize("arch_name", ARCHITECTURES.names())
def test_every_architecture(name, arch_name):
    """Shape, dtype and device; a sample alone == in a batch; a repeat; then the model is untouched (hooks,
    module types and attributes, parameters, modes, state_dict, gradients, the forward pass bitwise)."""
    cls = EXPLAINERS.get(name)
    reason = cls.supports(ARCHITECTURES.get(arch_name))
    if reason:
        pytest.skip(reason)
    if name == "score_cam" and arch_name in WIDE_CAM_LAYERS:
        pytest.skip("Score-CAM: one forward pass per cam_layer channel; Grad-CAM covers this cam_layer")
    check_explainer(cls, cheap_params(name), architectures=[arch_name], quick=True)


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


# -- the check finds what is broken ----------------------------------------------------------------------

def explainer(attribute, **attrs):
    """A throwaway explainer class with the given attribute."""
    @dataclasses.dataclass(frozen=True)
    class Config:
        pass

    return type("Broken", (Explainer,), {"name": "broken", "Config": Config, "attribute": attribute,
                                         "modalities": frozenset({"image"}),
                                         "__doc__": "A broken explainer (test fixture).", **attrs})


def grad(self, x, target):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(self.model(x).gather(1, target[:, None]).sum(), x)
    return g


@pytest.mark.parametrize("attribute, attrs, message", [
    (lambda self, x, t, i: grad(self, x, t)[:, :, :4], {},
     r"explain raised ValueError on small_cnn: explainer 'broken' returned shape \(4, 1, 4, 32\)"),
    (lambda self, x, t, i: grad(self, x, t) * len(x), {}, r"a sample explained alone differs"),
    (lambda self, x, t, i: grad(self, x, t) + torch.rand(x.shape), {"stochastic": True}, r"a repeat gives another map"),
    (lambda self, x, t, i: grad(self, x, t) * torch.arange(len(x)).view(-1, 1, 1, 1), {},
     r"maps do not follow their sample on small_cnn"),
    (lambda self, x, t, i: torch.rand(x.shape, generator=torch.Generator().manual_seed(0)), {"stochastic": True},
     r"stochastic, but other dataset indices give the same maps"),
    (lambda self, x, t, i: grad(self, x, t), {"mean_shift_invariant": False},
     r"declares mean_shift_invariant=False, but a mean shift leaves the maps"),
    (lambda self, x, t, i: grad(self, x, t) * x, {"mean_shift_invariant": True},
     r"declares mean_shift_invariant=True, but a mean shift changes the maps"),
    (lambda self, x, t, i: (self.model.features[0].register_forward_hook(lambda *a: None), grad(self, x, t))[1], {},
     r"hook left on the model after explain on small_cnn: features\.0\._forward_hooks"),
    (lambda self, x, t, i: (setattr(self.model.features[0][1], "forward", torch.relu), grad(self, x, t))[1], {},
     r"modules swapped or patched after explain on small_cnn .*features\.0\.1"),
    (lambda self, x, t, i: (self.model(x)[:, 0].sum().backward(), grad(self, x, t))[1], {},
     r"parameter gradients left after explain"),
    (lambda self, x, t, i: self.model(x.double()), {}, r"explain raised RuntimeError on small_cnn: "),
])
def test_check_names_what_is_wrong(attribute, attrs, message):
    with pytest.raises(CheckError, match=r"^explainer 'broken': .*" + message):
        check_explainer(explainer(attribute, **attrs))


def test_check_names_broken_metadata_and_unsupported_models():
    with pytest.raises(CheckError, match=r"requires=\['gpu'\]: a subset of .*stochastic must be True or False"):
        check_explainer(explainer(lambda self, x, t, i: grad(self, x, t), requires=frozenset({"gpu"}), stochastic=1))
    with pytest.raises(CheckError, match=r"override attribute"):
        check_explainer(explainer(Explainer.attribute))
    with pytest.raises(CheckError, match=r"supports\(\) refuses every architecture tried: explainer 'broken' "
                                         r"needs a cam_layer, which architecture 'mlp' does not declare"):
        check_explainer(explainer(lambda self, x, t, i: grad(self, x, t), requires=frozenset({"cam_layer"})),
                        architectures=["mlp"])
