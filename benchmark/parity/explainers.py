"""Explainer comparisons (EXPLAINERS.md): captum called directly, pytorch-grad-cam and the RectGrad authors' rule
transcribed, closed forms. Importing this module registers them."""
from __future__ import annotations

import captum.attr
import numpy as np
import torch
from torch import nn

from xaibench.parity import comparison, max_abs_diff, mlp_head_cnn, no_reference, small_cnn
from xaibench.parity import transcribed as T

CNN = "small_cnn (width 4, mean .3, std .5), 3 × 2×16×16"


def explain(cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor, config: object = None,
            index: torch.Tensor | None = None) -> torch.Tensor:
    """One explainer call inside its ``with`` block."""
    with cls(model, config) as e:
        return e.explain(x, target, index=index)


def direct(captum_cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
           **kwargs: object) -> torch.Tensor:
    """captum's ``captum_cls(model).attribute`` on the same inputs."""
    return captum_cls(model).attribute(x.clone().requires_grad_(True), target=target, **kwargs).detach()


def captum_parity(cls: type, captum_cls: type, config: object = None, **kwargs: object) -> float:
    from xaibench.metrics.explainers.deeplift import cpu_max_unpool_allowed

    model, x, target = small_cnn()
    with cpu_max_unpool_allowed(x.device):  # DeepLift's max-pool rule under deterministic algorithms
        expected = direct(captum_cls, model, x, target, **kwargs)
    return max_abs_diff(explain(cls, model, x, target, config), expected)


@comparison("explainer", "saliency", "captum Saliency(abs=False)", CNN, 0.0)
def saliency() -> float:
    from xaibench.metrics.explainers.saliency import Saliency
    return captum_parity(Saliency, captum.attr.Saliency, abs=False)


@comparison("explainer", "input_x_gradient", "captum InputXGradient", CNN, 0.0)
def input_x_gradient() -> float:
    from xaibench.metrics.explainers.input_x_gradient import InputXGradient
    return captum_parity(InputXGradient, captum.attr.InputXGradient)


@comparison("explainer", "guided_backprop", "captum GuidedBackprop", CNN, 0.0)
def guided_backprop() -> float:
    from xaibench.metrics.explainers.guided_backprop import GuidedBackprop
    return captum_parity(GuidedBackprop, captum.attr.GuidedBackprop)


@comparison("explainer", "deeplift", "captum DeepLift (baseline 0)", CNN, 0.0)
def deeplift() -> float:
    from xaibench.metrics.explainers.deeplift import DeepLift
    return captum_parity(DeepLift, captum.attr.DeepLift)


def completeness_error(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> float:
    """max_i |Σ A_i − (z_c(x_i) − z_c(0))| of our DeepLift."""
    from xaibench.metrics.explainers.deeplift import DeepLift

    A = explain(DeepLift, model, x, target)
    with torch.no_grad():
        gap = (model(x) - model(torch.zeros_like(x))).gather(1, target[:, None]).squeeze(1)
    if gap.abs().max() <= 1e-2:
        raise ValueError("z_c(x) − z_c(0) is too small for a completeness check")
    return (A.flatten(1).sum(1) - gap).abs().max().item()


def avg_pooled(model: nn.Module) -> nn.Module:
    """The same network with every MaxPool2d replaced by an AvgPool2d of the same window (in place)."""
    for module in list(model.modules()):
        for child_name, child in module.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(module, child_name, nn.AvgPool2d(child.kernel_size, child.stride))
    return model


def scaled_small_cnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """small_cnn with its weights ×3: activations grow as in training, and with them captum's max-pool error."""
    model, x, target = small_cnn()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(3.0)
    return model, x, target


@comparison("explainer", "deeplift", "closed form: Σ A = z_c(x) − z_c(0)", CNN + ", weights ×3, max-pools → AvgPool",
            1e-4, "with max-pooling captum's rule breaks the sum: 0.21 on this model with its max-pools, 0.38–0.73 "
            "on a trained small_cnn; we keep captum's rule (EXPLAINERS.md §1)")
def deeplift_completeness() -> float:
    model, x, target = scaled_small_cnn()
    return completeness_error(avg_pooled(model), x, target)


@comparison("explainer", "integrated_gradients", "captum IntegratedGradients (gausslegendre, 32 steps)", CNN, 1e-6)
def integrated_gradients() -> float:
    from xaibench.metrics.explainers.integrated_gradients import IntegratedGradients

    return captum_parity(IntegratedGradients, captum.attr.IntegratedGradients, {"internal_batch_size": 5},
                         baselines=0.0, n_steps=32, method="gausslegendre", internal_batch_size=5)


@comparison("explainer", "occlusion", "captum Occlusion (window 2×4×4, stride 2, baseline 0)", CNN, 1e-6)
def occlusion() -> float:
    from xaibench.metrics.explainers.occlusion import Occlusion
    return captum_parity(Occlusion, captum.attr.Occlusion, {"internal_batch_size": 3}, sliding_window_shapes=(2, 4, 4),
                         strides=2, baselines=0.0, perturbations_per_eval=1)


@comparison("explainer", "lrp", "captum LRP (default rules, IdentityRule at the normalization)", CNN, 1e-6)
def lrp() -> float:
    from captum.attr._utils.lrp_rules import IdentityRule

    from xaibench.metrics.explainers.lrp import LRP

    model, x, target = small_cnn()
    model.normalization.rule = IdentityRule()
    expected = direct(captum.attr.LRP, model, x, target)
    return max_abs_diff(explain(LRP, model, x, target), expected)


@comparison("explainer", "smoothgrad", "captum NoiseTunnel(Saliency), 16 samples, σ 0.15", CNN + ", backend=captum",
            0.0, "the default backend draws the noise per dataset index (batch-independent), not from the global "
            "RNG; it averages the same gradients")
def smoothgrad() -> float:
    from xaibench.metrics.explainers.smoothgrad import SmoothGrad

    model, x, target = small_cnn()
    A = explain(SmoothGrad, model, x, target, {"backend": "captum", "seed": 3, "internal_batch_size": 7})
    torch.manual_seed(3)
    expected = captum.attr.NoiseTunnel(captum.attr.Saliency(model)).attribute(
        x.clone().requires_grad_(True), nt_type="smoothgrad", nt_samples=16, nt_samples_batch_size=7, stdevs=0.15,
        target=target, abs=False)
    return max_abs_diff(A, expected.detach())


def our_cam_weights(cls: type, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                    config: object = None) -> torch.Tensor:
    """Our ``channel_weights`` (N×K) at the model's cam_layer."""
    with cls(model, config) as e, torch.enable_grad():
        logits = model(x.clone().requires_grad_(True))
        activations, e._activations = e._activations, None
        return e.channel_weights(x, target, activations, logits).detach()


def pgc_parity(cls: type, reference: object, config: object, case: object) -> float:
    from xaibench.metrics.explainers.cam import cam_layer_of

    model, x, target = case()
    acts, grads = T.pgc_activations_and_grads(model, cam_layer_of(model), x, target)
    theirs = reference(model, x, target, acts, grads)
    return max_abs_diff(our_cam_weights(cls, model, x, target, config), theirs)


MAP = ("channel weights compared; the map is upsampled before its min-max (it spans exactly [0, 1] at input size), "
       "pytorch-grad-cam min-maxes at activation size, then cv2.resize")


@comparison("explainer", "grad_cam", f"pytorch-grad-cam GradCAM.get_cam_weights ({T.PGC}, transcribed)", CNN,
            1e-6, MAP)
def grad_cam() -> float:
    from xaibench.metrics.explainers.grad_cam import GradCAM
    return pgc_parity(GradCAM, lambda m, x, t, a, g: T.pgc_grad_cam_weights(a, g), None, small_cnn)


@comparison("explainer", "grad_cam_pp", f"pytorch-grad-cam GradCAMPlusPlus.get_cam_weights ({T.PGC}, transcribed)",
            CNN + ", variant=pytorch_grad_cam", 1e-6, MAP + "; the default variant is the paper's α (no reference run)")
def grad_cam_pp() -> float:
    from xaibench.metrics.explainers.grad_cam_pp import GradCAMPlusPlus
    return pgc_parity(GradCAMPlusPlus, lambda m, x, t, a, g: T.pgc_grad_cam_pp_weights(a, g),
                      {"variant": "pytorch_grad_cam"}, small_cnn)


def score_cam_parity(case: object) -> float:
    from xaibench.metrics.explainers.score_cam import ScoreCAM
    return pgc_parity(ScoreCAM, lambda m, x, t, a, g: T.pgc_score_cam_weights(m, x, t, a),
                      {"variant": "pytorch_grad_cam"}, case)


SCORE_CAM = f"pytorch-grad-cam ScoreCAM.get_cam_weights ({T.PGC}, transcribed)"


@comparison("explainer", "score_cam", SCORE_CAM, CNN + ", variant=pytorch_grad_cam", 1e-6, MAP)
def score_cam_small_cnn() -> float:
    return score_cam_parity(lambda: small_cnn(channels=1))


@comparison("explainer", "score_cam", SCORE_CAM, "CNN with an MLP head, 3 × 1×16×16, variant=pytorch_grad_cam", 1e-6,
            MAP)
def score_cam_mlp_head() -> float:
    return score_cam_parity(mlp_head_cnn)


no_reference("explainer", "score_cam", "default variant (official haofanwang/Score-CAM semantics: softmax "
             "probabilities, constant channels weight 0): checked by a per-channel hand loop in "
             "tests/test_explainers_cam.py, the official code not run")

RECT = "MLP 16-8-76-3, 3 × 1×4×4, q ∈ {50, 98} (TFP half cases)"


def rectgrad_parity(times_input: bool) -> float:
    from xaibench.metrics.explainers.rectgrad import NoBiasRectGrad, RectGrad

    torch.manual_seed(5)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 76), nn.ReLU(), nn.Linear(76, 3))
    x, target = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(6)), torch.tensor([0, 1, 2])
    cls = RectGrad if times_input else NoBiasRectGrad
    worst = 0.0
    for q in (50.0, 98.0):
        theirs = T.rectgrad_mlp_reference([model[1], model[3], model[5]], x.numpy(), target.numpy(), q, times_input)
        worst = max(worst, max_abs_diff(explain(cls, model, x, target, {"q": q}), torch.from_numpy(theirs)))
    return worst


AUTHORS = "RectGrad authors' ReLU rule and TFP percentile (1202kbs/Rectified-Gradient@5e1839b, {}; transcribed)"


@comparison("explainer", "rectgrad", AUTHORS.format(T.TFP), RECT, 1e-6,
            "inputs are raw pixels (the authors scaled to [−1, 1]); the padding trick maps TF's SAME to padding > 0")
def rectgrad() -> float:
    return rectgrad_parity(True)


@comparison("explainer", "nobias_rectgrad", AUTHORS.format(T.TFP) + ", without ⊙ x", RECT, 1e-6)
def nobias_rectgrad() -> float:
    return rectgrad_parity(False)


@comparison("explainer", "random", "closed form: U(0, 1) from the explainer stream of (seed, dataset index)",
            "3 × 2×4×4, dataset indices 7, 3, 7", 0.0)
def random_control() -> float:
    from xaibench.metrics.explainers.controls import RandomControl
    from xaibench.metrics.functional.maps import index_generator

    x, index = torch.zeros(3, 2, 4, 4), torch.tensor([7, 3, 7])
    A = explain(RandomControl, nn.Identity(), x, torch.zeros(3, dtype=torch.long), {"seed": 4}, index=index)
    draws = [torch.rand((2, 4, 4), generator=index_generator("explainer", 4, j)) for j in (7, 3, 7)]
    return max_abs_diff(A, torch.stack(draws))


@comparison("explainer", "constant", "closed form: A = 1", "3 × 2×4×4", 0.0)
def constant_control() -> float:
    from xaibench.metrics.explainers.controls import ConstantControl

    x = torch.rand(3, 2, 4, 4)
    return max_abs_diff(explain(ConstantControl, nn.Identity(), x, torch.zeros(3, dtype=torch.long)), np.ones(x.shape))


no_reference("explainer", "flint_relevance", "FLINT's code has no input-space attribution; tests/test_methods.py "
             "checks it against autograd's gradient of the relevance-weighted attributes")
