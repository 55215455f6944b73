"""The training-method contract (TRAINING_METHODS.md §0): every registered method, the example plugin included,
passes `check_training_method`; and the check catches each broken rule, naming it."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO
from xaibench.methods.base import TrainingMethod
from xaibench.plugins import load_plugin_file
from xaibench.registries import METHODS
from xaibench.testing import MethodCheckError, check_training_method

load_plugin_file(str(REPO / "examples" / "input_gradient_penalty.py"))  # plugins are methods like any other


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_trains_on_the_tiny_task(name):
    report = check_training_method(METHODS.get(name))
    assert report.steps == 4 and len(report.losses) == 4


def test_the_example_plugin_is_checked():
    assert "input_grad_l2" in METHODS.names()


def method(loss_fn, config_cls=None, **attrs):
    """A throwaway method class with the given loss."""
    @dataclasses.dataclass(frozen=True)
    class Config:
        lam: float = 1.0

    return type("Broken", (TrainingMethod,), {"name": "broken", "Config": config_cls or Config, "loss": loss_fn,
                                              "__doc__": "A broken method (test fixture).", **attrs})


def ce(model, batch):
    return F.cross_entropy(model(batch.x), batch.y)


@pytest.mark.parametrize("loss_fn, message", [
    (lambda self, m, b, s: F.cross_entropy(m(b.x), b.y, reduction="none"), r"loss returned \(8,\) at step 0"),
    (lambda self, m, b, s: ce(m, b).item(), r"loss returned float at step 0"),
    (lambda self, m, b, s: ce(m, b) * float("nan"), r"loss is nan at step 0"),
    (lambda self, m, b, s: ce(m, b).detach().requires_grad_(), r"no parameter changed"),
    (lambda self, m, b, s: ce(m, b).detach(), r"loss at step 0 has no graph"),
    (lambda self, m, b, s: (m.eval(), ce(m, b))[1], r"loss changed the train/eval mode of <model>"),
    (lambda self, m, b, s: (m.features[0][0].register_forward_hook(lambda *a: None), ce(m, b))[1],
     r"hook left on the model after fit: features\.0\.0\._forward_hooks"),
    (lambda self, m, b, s: (setattr(m.features[0][1], "forward", torch.relu), ce(m, b))[1],
     r"modules swapped or patched after fit .*features\.0\.1"),
    (lambda self, m, b, s: (m.classifier.bias.requires_grad_(False), ce(m, b))[1],
     r"parameters unchanged after 4 steps \(no gradient reached them\): classifier\.bias$"),
])
def test_check_names_what_is_wrong(loss_fn, message):
    with pytest.raises(MethodCheckError, match=r"training method 'broken': .*" + message):
        check_training_method(method(loss_fn))


def test_check_rejects_a_mutable_config_and_unknown_keys():
    @dataclasses.dataclass
    class Mutable:
        lam: float = 1.0

    with pytest.raises(MethodCheckError, match="Config must be a frozen dataclass"):
        check_training_method(method(lambda self, m, b, s: ce(m, b), Mutable))
    with pytest.raises(MethodCheckError, match=r"config: params\.lamb: unknown parameter; did you mean 'lam'\?"):
        check_training_method(method(lambda self, m, b, s: ce(m, b)), {"lamb": 2})


def test_check_rejects_a_method_without_loss_or_fit():
    with pytest.raises(MethodCheckError, match=r"override loss\(model, batch, step\) or fit"):
        check_training_method(type("Empty", (TrainingMethod,), {"name": "empty"}))


def test_check_rejects_a_fit_that_does_not_return_the_model():
    def fit(self, model, train_data, budget):
        TrainingMethod.fit(self, model, train_data, budget)

    with pytest.raises(MethodCheckError, match="fit returned NoneType"):
        check_training_method(method(lambda self, m, b, s: ce(m, b), fit=fit))


def test_masks_only_for_methods_that_declare_them():
    seen = []
    loss = lambda self, m, b, s: (seen.append(b.mask is not None), ce(m, b))[1]  # noqa: E731
    check_training_method(method(loss))
    check_training_method(method(loss, requires_mask=True))
    assert seen == [False] * 4 + [True] * 4


def test_check_rejects_an_own_fit_that_counts_no_flops():
    def fit(self, model, train_data, budget):  # its own loop, without train_step
        optimizer = torch.optim.Adam(model.parameters())
        self.ctx.total_steps = 1
        for batch in train_data.minibatches(8, self.ctx.generator):
            optimizer.zero_grad()
            ce(model, batch).backward()
            optimizer.step()
            self.ctx.step += 1
        return model

    with pytest.raises(MethodCheckError, match=r"no training FLOPs counted \(ctx\.flops = 0\)"):
        check_training_method(method(lambda self, m, b, s: ce(m, b), fit=fit))


def test_check_rejects_a_step_key_that_misses_varying_work():
    """Extra forward passes on odd steps, under the default key (method, batch shape): counted once, it is wrong."""
    def loss(self, m, b, s):
        for _ in range(s % 2 * 3):
            m(b.x)
        return ce(m, b)

    with pytest.raises(MethodCheckError, match=r"step_key gives \d+ training FLOPs, but \d+ counting every step"):
        check_training_method(method(loss))
    fixed = method(loss, step_key=lambda self, m, b, s: (TrainingMethod.step_key(self, m, b, s), s % 2))
    assert check_training_method(fixed).flops > 0


def test_explanation_consistency_names_its_reweighting_steps():
    from xaibench.methods.expl_consistency import ExplanationConsistency

    shapes_only = type("ShapesOnly", (ExplanationConsistency,), {"step_key": TrainingMethod.step_key,
                                                               "__doc__": "Keyed by the batch shape only."})
    with pytest.raises(MethodCheckError, match="step_key gives"):
        check_training_method(shapes_only)
    assert check_training_method(ExplanationConsistency).flops > 0
