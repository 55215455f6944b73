"""RectGrad and NoBias-RectGrad against hand computations (EXPLAINERS.md §3)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.input_x_gradient import InputXGradient
from xaibench.metrics.explainers.rectgrad import NoBiasRectGrad, RectGrad, percentile
from xaibench.metrics.explainers.saliency import Saliency
from xaibench.models.small_cnn import SmallCNN
from xaibench.parity.transcribed import tfp_percentile  # TFP's percentile, transcribed (file and commit there)
from xaibench.testing import explain


pytestmark = pytest.mark.usefixtures("deterministic")


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_percentile_is_torch_quantile(interpolation):
    s = torch.randn(5, 37)
    for q in (0, 2.5, 25, 50, 98, 100):  # position (U − 1)·q/100 = 0.9 at q = 2.5
        torch.testing.assert_close(percentile(s, q, interpolation),
                                   torch.quantile(s, q / 100, dim=1, interpolation=interpolation), rtol=0, atol=1e-5)
    s = torch.tensor([[0.0, 10.0, 20.0, 30.0, 40.0]])
    assert percentile(s, 12.5).item() == 0.0 and percentile(s, 37.5).item() == 20.0  # positions 0.5 and 1.5: even


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_percentile_is_tensorflow_probability(interpolation):
    g = torch.Generator().manual_seed(3)
    for d in [*range(1, 120), 176, 276, 1076]:
        s = torch.randn(3, d, generator=g)
        for q in (0.0, 2.5, 25.0, 50.0, 60.0, 98.0, 100.0):
            want = torch.from_numpy(tfp_percentile(s.numpy(), q, interpolation))
            torch.testing.assert_close(percentile(s, q, interpolation), want, rtol=0, atol=0 if interpolation ==
                                       "nearest" else 1e-6, msg=f"d={d} q={q}")


@pytest.mark.parametrize("q, d", [(50.0, 4), (50.0, 6), (50.0, 100), (98.0, 76), (98.0, 176), (98.0, 1076)])
def test_percentile_half_cases_take_tfp_order_statistic_not_numpys(q, d):
    """At exact halves of the ascending position (U−1)·q/100 the descending rule picks the other neighbour:
    q = 50 with an even U, q = 98 with U ≡ 76 (mod 100) (ERRATA, EXPLAINERS.md §3)."""
    s = torch.randperm(d, generator=torch.Generator().manual_seed(d)).double().view(1, -1)  # values 0..U−1
    ours, tfp = percentile(s, q).item(), tfp_percentile(s.numpy(), q).item()
    numpy_rule = np.percentile(s.numpy(), q, method="nearest")  # ascending, half to even
    assert ours == tfp != numpy_rule
    assert percentile(torch.tensor([[4., 1., 3., 2.]]), 50).item() == 2.0  # the docstring example


def positive_mlp(inactive: bool) -> nn.Module:
    """Strictly positive weights; with ``inactive`` one unit per ReLU layer gets bias −100 (never active)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        for layer in model[1::2]:
            layer.weight.uniform_(0.1, 1.0)
            layer.bias.uniform_(0.0, 0.1)
        if inactive:
            model[1].bias[2] = model[3].bias[0] = -100.0
    return model


def test_q0_equals_input_x_gradient_when_only_inactive_units_reach_the_minimum():
    model = positive_mlp(inactive=True)
    x, target = torch.rand(4, 1, 2, 3) + 0.1, torch.tensor([0, 1, 2, 0])
    config = {"q": 0.0, "padding_trick": False}
    assert torch.equal(explain(RectGrad, model, x, target, config), explain(InputXGradient, model, x, target))


def test_strict_inequality_drops_the_least_important_unit():
    model = positive_mlp(inactive=False)  # every importance is > 0, so τ = min(s) removes one unit per layer
    x, target = torch.rand(4, 1, 2, 3) + 0.1, torch.tensor([0, 1, 2, 0])
    A = explain(RectGrad, model, x, target, {"q": 0.0, "padding_trick": False})
    assert not torch.allclose(A, explain(InputXGradient, model, x, target), rtol=0, atol=1e-3)


def test_fixed_threshold_is_input_x_gradient_when_active_units_have_positive_importance():
    model = positive_mlp(inactive=True)
    x, target = torch.rand(4, 1, 2, 3) + 0.1, torch.tensor([0, 1, 2, 0])
    A = explain(RectGrad, model, x, target, {"threshold": "fixed", "padding_trick": False})
    assert torch.equal(A, explain(InputXGradient, model, x, target))


@pytest.mark.parametrize("q, interpolation", [(50.0, "nearest"), (60.0, "nearest"), (60.0, "linear")])
def test_one_relu_layer_by_hand(q, interpolation):
    """x → W1 → ReLU → W2: the gradient is W1ᵀ(W2_c ⊙ 1[a ⊙ W2_c > τ]), τ the per-sample percentile."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    x, target = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    W1, W2 = model[0].weight.detach(), model[2].weight.detach()
    a = model[1](model[0](x)).detach()
    s = a * W2[target]
    ordered = s.sort(1, descending=True).values  # TFP's order (see tfp_percentile)
    position = 5 * (1 - q / 100)  # (6 − 1)·(1 − q/100): 2.5 at q = 50 rounds to 2, the 4th smallest
    if interpolation == "nearest":
        tau = ordered[:, round(position)]
    else:
        lo = int(position)
        tau = ordered[:, lo] + (ordered[:, lo + 1] - ordered[:, lo]) * (position - lo)
    expected = (W2[target] * (s > tau[:, None])) @ W1
    A = explain(NoBiasRectGrad, model, x, target, {"q": q, "interpolation": interpolation})
    torch.testing.assert_close(A, expected, rtol=0, atol=1e-6)
    if interpolation == "nearest":  # τ is a unit's own importance, which the strict > drops
        assert ((s == tau[:, None]).sum(1) >= 1).all()


def test_rectgrad_is_nobias_rectgrad_times_input():
    model = SmallCNN(SmallCNN.Config(width=4), (2, 16, 16), num_classes=3, mean=[0.4, 0.4], std=[0.3, 0.3])
    x, target = torch.rand(3, 2, 16, 16), torch.tensor([0, 2, 1])
    nobias = explain(NoBiasRectGrad, model, x, target)
    assert not torch.allclose(nobias, explain(Saliency, model, x, target), atol=1e-4)  # the gates do something
    torch.testing.assert_close(explain(RectGrad, model, x, target), nobias * x, rtol=0, atol=1e-7)


def test_padding_trick_zeroes_the_ring_of_the_conv_output_gradient():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 5 * 5, 2))
    with torch.no_grad():  # all positive: with τ = 0 every active unit passes, so only the trick changes anything
        model[0].weight.uniform_(0.1, 1.0)
        model[3].weight.uniform_(0.1, 1.0)
    x, target = torch.rand(3, 1, 5, 5) + 0.1, torch.tensor([0, 1, 0])
    xg = x.clone().requires_grad_(True)
    out = model[0](xg)
    z = model[3](model[2](model[1](out))).gather(1, target[:, None]).sum()
    (g,) = torch.autograd.grad(z, out, retain_graph=True)
    ring = torch.ones(5, 5)
    ring[1:-1, 1:-1] = 0
    (expected,) = torch.autograd.grad(out, xg, g * (1 - ring))
    config = {"threshold": "fixed", "padding_trick": True}
    torch.testing.assert_close(explain(NoBiasRectGrad, model, x, target, config), expected, rtol=0, atol=1e-6)
    with_trick_off = explain(NoBiasRectGrad, model, x, target, {**config, "padding_trick": False})
    assert not torch.allclose(with_trick_off, expected)


def test_prr_redistributes_max_pool_gradients_in_proportion_to_the_inputs():
    """x → MaxPool2d(2) → linear: grad_in = x_i · g_window / Σ_window x (up to the 1e-10 guard)."""
    model = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 2))
    x, target = torch.rand(2, 1, 4, 4) + 0.1, torch.tensor([1, 0])
    g = model[2].weight.detach()[target].view(2, 1, 2, 2)
    window_sum = F.avg_pool2d(x, 2) * 4
    expected = x * F.interpolate(g / window_sum, scale_factor=2, mode="nearest")
    A = explain(NoBiasRectGrad, model, x, target, {"prr": True})
    torch.testing.assert_close(A, expected, rtol=1e-6, atol=0)
    assert torch.equal(explain(NoBiasRectGrad, model, x, target), explain(Saliency, model, x, target))  # default


def test_defaults_and_requirements():
    cfg = RectGrad.Config()
    assert (cfg.q, cfg.interpolation, cfg.threshold, cfg.padding_trick, cfg.prr) == (98.0, "nearest", "percentile",
                                                                                   True, False)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    with pytest.raises(ConfigError, match="ReLU '1' is in-place"):
        explain(RectGrad, model, torch.rand(1, 4), torch.tensor([0]))
