"""MPRT and the input-bias probes: the closed forms of METRICS.md §3-4 on linear models."""
import pytest
import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.explainers.base import Explainer
from xaibench.metrics.explainers.saliency import Saliency
from xaibench.metrics.functional.input_bias import intensity_correlation, mean_shifted_model
from xaibench.metrics.functional.maps import pool
from xaibench.metrics.functional.sanity import layers_output_to_input, mprt_curve
from xaibench.metrics.functional.stats import spearman
from xaibench.metrics.input_bias import MeanShiftDelta, MeanShiftRankCorrelation
from xaibench.metrics.sanity import MPRT
from xaibench.models.base import Normalize
from xaibench.models.small_cnn import SmallCNN


class InputTimesGradient(Explainer):
    """x ⊙ ∂z_c/∂x, written out here so the probes are tested independently of the explainer registry."""

    def attribute(self, x, target, index):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(self.model(x).gather(1, target[:, None]).sum(), x)
        return x * g


class Constant(Explainer):
    def attribute(self, x, target, index):
        return torch.ones_like(x)


class LinearModel(nn.Module):
    """Normalize -> Flatten -> Linear: the spec's linear model with a normalization layer to shift."""

    def __init__(self, w, channels=1):
        super().__init__()
        self.normalization = Normalize([0.3] * channels, [1.0] * channels)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(w)
            self.linear.bias.zero_()

    def forward(self, x):
        return self.linear(self.flatten(self.normalization(x)))


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_layer_order_is_output_to_input_without_normalization():
    model = SmallCNN(SmallCNN.Config(width=2), (1, 16, 16), 3)
    layers = layers_output_to_input(model, torch.rand(1, 1, 16, 16))
    assert layers == [model.classifier, model.features[4][0], model.features[2][0], model.features[0][0]]


def test_mprt_of_a_parameter_independent_map_is_one_everywhere():
    model = SmallCNN(SmallCNN.Config(width=2), (1, 16, 16), 3)
    x = torch.rand(4, 1, 16, 16, generator=gen(0))
    curve = mprt_curve(model, x, torch.tensor([0, 1, 2, 0]), torch.ones_like(x), Constant)
    assert curve.shape == (4, 4) and (curve == 1).all()


def test_mprt_saliency_on_one_linear_layer_is_the_reset_weights():
    w = torch.randn(3, 6, generator=gen(1))
    model = LinearModel(w)
    x, target = torch.rand(2, 1, 2, 3, generator=gen(2)), torch.tensor([2, 0])
    A = Saliency(model).explain(x, target)
    curve = mprt_curve(model, x, target, A, Saliency, seed=5)
    fresh = nn.Linear(6, 3)
    torch.manual_seed(5 + 1)  # step l = 1 re-initializes under seed + l
    fresh.reset_parameters()
    for i, c in enumerate(target.tolist()):
        expected = spearman(pool(w[c].view(1, 1, 2, 3)), pool(fresh.weight[c].detach().view(1, 1, 2, 3)))
        assert curve[i, 0].item() == pytest.approx(expected.item(), abs=1e-12)
    assert torch.equal(model.linear.weight, w)  # the original model is untouched


def test_mprt_metric_reports_the_last_step():
    model = SmallCNN(SmallCNN.Config(width=2), (1, 16, 16), 3)
    batch = Batch(torch.rand(3, 1, 16, 16, generator=gen(3)), torch.tensor([0, 1, 2]))
    metric = MPRT()
    metric.make_explainer = Saliency
    A = Saliency(model).explain(batch.x, batch.y)
    expected = mprt_curve(model, batch.x, batch.y, A, Saliency, index=batch.index)[:, -1]
    assert torch.equal(metric(model, batch, A, batch.y), expected.double())


def test_mean_shifted_model_is_the_same_function():
    model = SmallCNN(SmallCNN.Config(width=2), (1, 16, 16), 3, mean=[0.2], std=[0.5])
    x = torch.rand(4, 1, 16, 16, generator=gen(4))
    shifted = mean_shifted_model(model, -0.5, x)
    assert torch.allclose(shifted(x - 0.5), model(x), atol=1e-6)
    assert model.normalization.mean.item() == pytest.approx(0.2)  # the original is untouched
    with pytest.raises(TypeError, match="no normalization layer"):
        mean_shifted_model(nn.Sequential(nn.Flatten(), nn.Linear(256, 3)), 1.0, x)


@pytest.mark.parametrize("c", [-1.0, -0.5, 0.5, 1.0])
def test_mean_shift_closed_forms_on_a_linear_model(c):
    w = torch.randn(2, 9, generator=gen(5))
    model = LinearModel(w)
    batch = Batch(torch.rand(3, 1, 3, 3, generator=gen(6)), torch.tensor([0, 1, 1]))
    target = model(batch.x).argmax(1)
    delta = MeanShiftDelta({"shifts": [c]})
    delta.make_explainer = InputTimesGradient
    A1 = InputTimesGradient(model).explain(batch.x, target)
    # Input×Gradient: A₂ − A₁ = c·W_c, so max|A₁ − A₂| = |c|·max|W_c|.
    expected = abs(c) * w[target].abs().amax(1) / A1.flatten(1).abs().amax(1)
    torch.testing.assert_close(delta(model, batch, A1, target), expected.double(), rtol=1e-5, atol=0)
    saliency_delta = MeanShiftDelta({"shifts": [c]})
    saliency_delta.make_explainer = Saliency
    assert saliency_delta(model, batch, Saliency(model).explain(batch.x, target), target).tolist() == [0.0] * 3
    rho = MeanShiftRankCorrelation({"shifts": [c]})
    rho.make_explainer = Saliency
    assert rho(model, batch, Saliency(model).explain(batch.x, target), target).tolist() == [1.0] * 3


def test_intensity_correlation_closed_forms():
    """w ≡ 1 on a linear model, x = I·M: Input×Gradient mass grows with I (ρ = 1); Saliency's is constant (ρ = 0)."""
    n, mask = 6, torch.zeros(6, 3, 3)
    mask[:, 1, 1] = 1
    intensity = torch.tensor([0.5, 0.1, 0.9, 0.3, 0.7, 0.2])
    x = (intensity.view(n, 1, 1) * mask).unsqueeze(1)
    model = LinearModel(torch.ones(2, 9), channels=1)
    target, positive = torch.ones(n, dtype=torch.long), torch.ones(n, dtype=torch.bool)
    ixg = InputTimesGradient(model).explain(x, target)
    sal = Saliency(model).explain(x, target)
    assert intensity_correlation(ixg, mask, intensity, positive).tolist() == [1.0]
    assert intensity_correlation(sal, mask, intensity, positive).tolist() == [0.0]
    # relative mass (RMA) hides the bias: ⊙x maps are 0 off-object, so every RMA is 1
    assert intensity_correlation(ixg, mask, intensity, positive, relative=True).tolist() == [0.0]
