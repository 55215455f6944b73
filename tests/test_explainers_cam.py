"""Grad-CAM++, Score-CAM and time-series CAMs against closed forms and hand computations (EXPLAINERS.md §2)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.metrics.explainers.grad_cam import GradCAM
from xaibench.metrics.explainers.grad_cam_pp import GradCAMPlusPlus, gradcam_pp_alpha
from xaibench.metrics.explainers.score_cam import ScoreCAM
from xaibench.models.base import Normalize
from xaibench.models.small_cnn import SmallCNN
from xaibench.testing import explain


pytestmark = pytest.mark.usefixtures("deterministic")


def hand_minmax(m: torch.Tensor) -> torch.Tensor:
    """Per-sample (m − min)/(max − min); a constant map becomes 1 if positive, else 0 (METRICS.md §0)."""
    out = []
    for row in m.flatten(1):
        lo, hi = row.min(), row.max()
        out.append((row - lo) / (hi - lo) if hi > lo else torch.full_like(row, float(lo > 0)))
    return torch.stack(out).view_as(m)


# -- Grad-CAM++ ----------------------------------------------------------------------------------------

def test_alpha_is_one_half_where_the_activation_sum_is_zero():
    g = torch.tensor([[[[0.3, -2.0], [5.0, 0.0]]]])
    A = torch.tensor([[[[1.0, -1.0], [2.5, -2.5]]]])  # Σ A = 0
    alpha = gradcam_pp_alpha(g, A, "paper")
    assert alpha.tolist() == [[[[0.5, 0.5], [0.5, 0.0]]]]  # α = 0 where g = 0


def test_alpha_zero_denominator_becomes_one_and_official_normalizes_over_positive_gradients():
    g = torch.tensor([[[-1.0, 2.0, 0.5]]])
    A = torch.tensor([[[1.0, 0.5, 0.5]]])  # S = 2: at g = −1 the denominator 2g² + S·g³ is 0
    paper = gradcam_pp_alpha(g, A, "paper")
    torch.testing.assert_close(paper, torch.tensor([[[1.0, 4 / (8 + 16), 0.25 / (0.5 + 0.25)]]]), rtol=0, atol=1e-7)
    official = gradcam_pp_alpha(g, A, "official")
    torch.testing.assert_close(official, paper / (paper[0, 0, 1] + paper[0, 0, 2]), rtol=0, atol=1e-7)
    pgc = gradcam_pp_alpha(g, A, "pytorch_grad_cam")
    torch.testing.assert_close(pgc, g * g / (2 * g * g + 2 * g ** 3 + 1e-6), rtol=1e-6, atol=0)


@pytest.mark.parametrize("variant", ["paper", "official", "pytorch_grad_cam"])
def test_grad_cam_pp_with_a_gap_linear_head(variant):
    """g_k = W_ck/(hw) is constant: α = 1/(2 + S_k g_k), w_k = hw·ReLU(g_k)/(2 + S_k g_k) (paper),
    ReLU(g_k) (official)."""
    torch.manual_seed(3)
    model = SmallCNN(SmallCNN.Config(width=8), (1, 32, 32), num_classes=4).eval()
    x, target = torch.rand(4, 1, 32, 32), torch.tensor([0, 1, 2, 3])
    A = model.features(model.normalization(x)).detach()  # N×K×8×8
    hw = A.shape[2] * A.shape[3]
    g = model.classifier.weight.detach()[target] / hw  # N×K
    S = A.sum((2, 3))
    if variant == "paper":
        w = hw * F.relu(g) / (2 + S * g)
    elif variant == "official":
        w = F.relu(g)
    else:
        w = hw * F.relu(g) * g * g / (2 * g * g + S * g ** 3 + 1e-6)
    L = F.relu(torch.einsum("nk,nkhw->nhw", w, A)).unsqueeze(1)
    expected = hand_minmax(F.interpolate(L, size=(32, 32), mode="bilinear", align_corners=False))
    cam = explain(GradCAMPlusPlus, model, x, target, {"variant": variant})
    torch.testing.assert_close(cam, expected, rtol=0, atol=1e-5)


# -- Score-CAM ------------------------------------------------------------------------------------------

class TinyCAMNet(nn.Module):
    """normalize -> conv 3x3 -> ReLU (the cam_layer, K×4×4) -> GAP -> linear."""

    cam_layer = "relu"

    def __init__(self, k: int = 3, mean: float = 0.0):
        super().__init__()
        self.normalization = Normalize([mean, mean], [1.0, 1.0])
        self.conv = nn.Conv2d(2, k, 3)
        self.relu = nn.ReLU()
        self.head = nn.Linear(k, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.relu(self.conv(self.normalization(x))).mean((2, 3)))


def test_score_cam_single_channel_is_the_normalized_upsampled_channel():
    """U₁ ≥ 0 gives L = minmax(U₁), whatever s₁ > 0 is: two heads with different scores give the same map."""
    x, target = torch.rand(3, 2, 6, 6), torch.tensor([0, 1, 2])
    model = TinyCAMNet(k=1).eval()
    with torch.no_grad():
        model.conv.bias.fill_(0.5)  # a positive, non-constant channel
        U = F.interpolate(model.relu(model.conv(x)), size=(6, 6), mode="bilinear", align_corners=False)
    scores = []
    for scale in (1.0, -3.0):
        with torch.no_grad():
            model.head.weight.mul_(scale)
        with ScoreCAM(model) as e:
            cam = e.explain(x, target)
            logits = model(x)
            scores.append(e.channel_weights(x, target, e._activations, logits))
        torch.testing.assert_close(cam, hand_minmax(U).expand_as(x), rtol=0, atol=1e-6)
    assert (scores[0] > 0).all() and (scores[1] > 0).all() and (scores[0] - scores[1]).abs().min() > 1e-3


def hand_score_cam(model: nn.Module, x: torch.Tensor, target: torch.Tensor, *, normalized: bool = False,
                   baseline: bool = False, over_channels: bool = False) -> torch.Tensor:
    """Score-CAM one sample and one channel at a time (``over_channels``: pytorch-grad-cam's masks, upsampled with
    align_corners=True and normalized by max − min + 1e-8, and its softmax over every channel)."""
    out = []
    with torch.no_grad():
        acts = model.relu(model.conv(model.normalization(x)))
        U = F.interpolate(acts, size=x.shape[2:], mode="bilinear", align_corners=False)
        masks = F.interpolate(acts, size=x.shape[2:], mode="bilinear", align_corners=True) if over_channels else U
        mean = model.normalization.mean.view(1, -1, 1, 1)
        for i in range(len(x)):
            c, s = target[i].item(), []
            def score(mask: torch.Tensor) -> torch.Tensor:
                masked = mean + (x[i:i + 1] - mean) * mask if normalized else x[i:i + 1] * mask
                logits = model(masked)[0]
                return logits[c] if over_channels else logits.softmax(0)[c]
            for k in range(U.shape[1]):
                u = masks[i, k]
                if over_channels:
                    s.append(score((u - u.min()) / (u.max() - u.min() + 1e-8)))
                else:
                    s.append(score((u - u.min()) / (u.max() - u.min())) if u.max() > u.min() else torch.tensor(0.0))
            s = torch.stack(s)
            if baseline:
                s = s - score(torch.zeros_like(U[i, 0]))
            if over_channels:
                s = s.softmax(0)  # a constant channel keeps its weight (its mask is 0)
            else:
                s = torch.where(U[i].flatten(1).amax(1) > U[i].flatten(1).amin(1), s, torch.zeros_like(s))
            out.append(F.relu((s[:, None, None] * U[i]).sum(0)))
    return hand_minmax(torch.stack(out).unsqueeze(1)).expand_as(x)


@pytest.mark.parametrize("params, hand", [
    ({}, {}),
    ({"mask_space": "normalized"}, {"normalized": True}),
    ({"baseline_subtract": True}, {"baseline": True}),
    ({"variant": "pytorch_grad_cam"}, {"over_channels": True}),
], ids=["default", "normalized", "baseline_subtract", "pytorch_grad_cam"])
def test_score_cam_matches_a_hand_computation(params, hand):
    torch.manual_seed(4)
    model = TinyCAMNet(k=4, mean=0.4).eval()
    with torch.no_grad():
        model.conv.weight[3].zero_()  # channel 3 is constant: weight 0
    x, target = torch.rand(3, 2, 6, 6), torch.tensor([2, 0, 1])
    expected = hand_score_cam(model, x, target, **hand)
    assert (expected.flatten(1).amax(1) == 1).sum() >= 2  # (CIC leaves one all-zero map: it must stay 0)
    cam = explain(ScoreCAM, model, x, target, {**params, "internal_batch_size": 5})  # chunks cut across samples
    torch.testing.assert_close(cam, expected, rtol=0, atol=1e-5)


# -- time series ------------------------------------------------------------------------------------------

class TinyTemporalNet(nn.Module):
    """conv1d -> ReLU (the cam_layer, K×T') -> mean over time -> linear: a 1-D CAM with a GAP head."""

    cam_layer = "relu"

    def __init__(self) -> None:
        super().__init__()
        self.normalization = Normalize([0.0] * 3, [1.0] * 3)
        self.conv = nn.Conv1d(3, 5, 5, stride=2)
        self.relu = nn.ReLU()
        self.head = nn.Linear(5, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.relu(self.conv(self.normalization(x))).mean(2))


@pytest.mark.parametrize("cls", [GradCAM, GradCAMPlusPlus, ScoreCAM])
def test_cams_on_time_series_upsample_linearly_over_time(cls):
    torch.manual_seed(4)  # every sample's map is non-degenerate
    model = TinyTemporalNet().eval()
    x, target = torch.rand(3, 3, 40), torch.tensor([0, 3, 1])
    A = model.relu(model.conv(x)).detach()  # N×5×18
    if cls is GradCAM:  # the original CAM: α_k = W_ck / T'
        w = model.head.weight.detach()[target]
    elif cls is GradCAMPlusPlus:
        g = model.head.weight.detach()[target] / A.shape[2]
        w = F.relu(g) / (2 + A.sum(2) * g)
    else:
        U = F.interpolate(A, size=40, mode="linear", align_corners=False)
        lo, hi = U.amin(2, keepdim=True), U.amax(2, keepdim=True)
        valid = hi > lo  # dead (all-zero) channels get weight 0
        H = torch.where(valid, (U - lo) / torch.where(valid, hi - lo, 1), 0)  # N×K×T masks over the 3 features
        w = torch.stack([model(x[i] * H[i].unsqueeze(1)).softmax(1)[:, target[i]] for i in range(3)]).detach()
        w = torch.where(valid[:, :, 0], w, 0)
        L = F.relu((w[:, :, None] * U).sum(1, keepdim=True))
    if cls is not ScoreCAM:
        L = F.interpolate(F.relu((w[:, :, None] * A).sum(1, keepdim=True)), size=40, mode="linear",
                          align_corners=False)
    expected = hand_minmax(L).expand_as(x)
    cam = explain(cls, model, x, target)
    torch.testing.assert_close(cam, expected, rtol=0, atol=1e-5)
    assert (expected.amax((1, 2)) == 1).all()
