"""Explainer values against captum, closed forms and hand computations (EXPLAINERS.md §1-2)."""
from __future__ import annotations

import captum.attr
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.grad_cam import GradCAM
from xaibench.metrics.explainers.saliency import Saliency
from xaibench.models.small_cnn import SmallCNN
from xaibench.testing import explain


pytestmark = pytest.mark.usefixtures("deterministic")


def hand_minmax(m: torch.Tensor) -> torch.Tensor:
    lo = m.amin(dim=(1, 2, 3), keepdim=True)
    hi = m.amax(dim=(1, 2, 3), keepdim=True)
    return (m - lo) / (hi - lo)


# -- Saliency ------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_abs", [False, True])
def test_saliency_is_captum_saliency(use_abs):
    model = SmallCNN(SmallCNN.Config(), (3, 16, 16), num_classes=5).eval()
    x, target = torch.rand(3, 3, 16, 16), torch.tensor([4, 0, 2])
    expected = captum.attr.Saliency(model).attribute(x.clone().requires_grad_(), target=target, abs=use_abs)
    A = explain(Saliency, model, x, target, Saliency.Config(abs=use_abs))
    assert torch.equal(A, expected)


def test_saliency_default_is_signed():
    assert Saliency.Config().abs is False


def test_saliency_of_a_linear_model_is_the_weight_row():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 2 * 2, 3))
    x, target = torch.rand(3, 3, 2, 2), torch.tensor([2, 0, 2])
    A = explain(Saliency, model, x, target)
    assert torch.equal(A, model[1].weight[target].view_as(x))


# -- Grad-CAM ------------------------------------------------------------------------------------

class TinyConvNet(nn.Module):
    """conv 3x3 -> ReLU (the cam_layer, 3x4x4) -> flatten -> linear: the gradient varies over positions."""

    cam_layer = "relu"

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.relu = nn.ReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.relu(self.conv(x)))


def test_grad_cam_matches_a_hand_computation():
    torch.manual_seed(1)  # the ReLU keeps all, part and a sixteenth of the three maps
    model = TinyConvNet().eval()
    x, target = torch.rand(3, 2, 6, 6), torch.tensor([1, 0, 2])
    A = model.relu(model.conv(x))  # activations without hooks
    z = model.head(A)
    (g,) = torch.autograd.grad(z.gather(1, target[:, None]).sum(), A)
    assert torch.equal(g, model.head[1].weight[target].view_as(A))  # dz_c/dA of a linear head is W_c
    alpha = g.mean(dim=(2, 3))  # N x K
    L = F.relu((alpha[:, :, None, None] * A).sum(1, keepdim=True))
    expected = hand_minmax(F.interpolate(L, size=(6, 6), mode="bilinear", align_corners=False))
    assert (expected.amax(dim=(1, 2, 3)) == 1).all()  # no degenerate map: the comparison means something

    cam = explain(GradCAM, model, x, target)
    torch.testing.assert_close(cam, expected.expand_as(x), rtol=0, atol=1e-6)
    assert torch.equal(cam[:, :1].expand_as(x), cam)  # replicated over channels


def test_grad_cam_with_a_gap_linear_head_is_the_original_cam():
    """Zhou et al. 2016: minmax(up(ReLU(sum_k W_ck A_k))) at the last conv block of a GAP + Linear model."""
    model = SmallCNN(SmallCNN.Config(width=8), (1, 32, 32), num_classes=4).eval()
    assert model.cam_layer == "features.4" and len(model.features) == 5  # the cam_layer ends `features`
    x, target = torch.rand(4, 1, 32, 32), torch.tensor([0, 1, 2, 3])
    A = model.features(model.normalization(x)).detach()  # N x K x 8 x 8
    W = model.classifier.weight.detach()
    L = F.relu(torch.einsum("nk,nkhw->nhw", W[target], A)).unsqueeze(1)
    expected = hand_minmax(F.interpolate(L, size=(32, 32), mode="bilinear", align_corners=False))
    assert (expected.amax(dim=(1, 2, 3)) == 1).all()

    torch.testing.assert_close(explain(GradCAM, model, x, target), expected, rtol=0, atol=1e-6)


def test_grad_cam_all_zero_map_stays_zero_and_constant_map_is_one():
    model = TinyConvNet().eval()
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.bias.fill_(1.0)  # A = 1 everywhere
        model.head[1].weight.copy_(torch.tensor([[1.0], [-1.0], [0.0]]).expand(3, 48))
    x = torch.rand(3, 2, 6, 6)
    cam = explain(GradCAM, model, x, torch.tensor([0, 1, 2]))
    assert torch.equal(cam, torch.stack([torch.ones(2, 6, 6), torch.zeros(2, 6, 6), torch.zeros(2, 6, 6)]))


def test_grad_cam_needs_a_cam_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(ConfigError, match="Sequential declares no cam_layer"):
        explain(GradCAM, model, torch.rand(1, 1, 5, 5), torch.tensor([0]))
    assert model.training  # restored although setup failed

    class Misnamed(TinyConvNet):
        cam_layer = "body.relu"

    with pytest.raises(ConfigError, match="Misnamed: cam_layer 'body.relu'"):
        explain(GradCAM, Misnamed(), torch.rand(1, 2, 6, 6), torch.tensor([0]))
