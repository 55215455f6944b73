"""Reference code that cannot be a dependency, transcribed line for line (each function cites file and commit).

pytorch-grad-cam drags in torchvision (which breaks this torch), TensorFlow is not installed, and the official ROAD
and RISE code are scripts, not packages. Only the lines that compute values are transcribed; plotting, devices,
tqdm and batching loops are left out. numpy stands in for TensorFlow, torch for CUDA.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

PGC = "jacobgil/pytorch-grad-cam@084273b"  # pytorch_grad_cam/… at 084273b3f30b54ad0c64cf8020a4337d979a66e0
TFP = "tensorflow/probability@1f7a150"  # tensorflow_probability/python/stats/quantiles.py at 1f7a150db2e3…
ROAD = "tleemann/road_evaluation@e6b9987"  # road/imputed_dataset.py at e6b9987ffbd79654125af2f581b5dae70e831b09
RISE = "eclique/RISE@d91ea00"  # evaluation.py and Evaluation.ipynb at d91ea006d4bb9b7990347fe97086bdc0f5c1fe10


def pgc_activations_and_grads(model: nn.Module, layer: nn.Module, x: torch.Tensor,
                              target: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """pytorch_grad_cam/activations_and_gradients.py + base_cam.py ``forward`` (uses_gradients): the target layer's
    activations and the gradient of Σ_i ClassifierOutputTarget(c_i)(output_i) (the target logits) w.r.t. them."""
    store = {}
    handle = layer.register_forward_hook(lambda m, i, out: store.__setitem__("a", out))
    try:
        outputs = model(x.clone().requires_grad_(True))
    finally:
        handle.remove()
    loss = sum(output[c] for c, output in zip(target.tolist(), outputs))
    (grads,) = torch.autograd.grad(loss, store["a"])
    return store["a"].detach().numpy(), grads.numpy()


def pgc_grad_cam_weights(activations: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """pytorch_grad_cam/grad_cam.py ``GradCAM.get_cam_weights`` (2D image)."""
    return np.mean(grads, axis=(2, 3))


def pgc_grad_cam_pp_weights(activations: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """pytorch_grad_cam/grad_cam_plusplus.py ``GradCAMPlusPlus.get_cam_weights``."""
    grads_power_2 = grads**2
    grads_power_3 = grads_power_2 * grads
    sum_activations = np.sum(activations, axis=(2, 3))
    eps = 0.000001
    aij = grads_power_2 / (2 * grads_power_2 + sum_activations[:, :, None, None] * grads_power_3 + eps)
    aij = np.where(grads != 0, aij, 0)
    weights = np.maximum(grads, 0) * aij
    weights = np.sum(weights, axis=(2, 3))
    return weights


def pgc_score_cam_weights(model: nn.Module, input_tensor: torch.Tensor, target: torch.Tensor,
                          activations: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """pytorch_grad_cam/score_cam.py ``ScoreCAM.get_cam_weights`` (targets = ClassifierOutputTarget, no tqdm)."""
    with torch.no_grad():
        upsample = torch.nn.UpsamplingBilinear2d(size=input_tensor.shape[-2:])
        activation_tensor = torch.from_numpy(activations)
        upsampled = upsample(activation_tensor)
        maxs = upsampled.view(upsampled.size(0), upsampled.size(1), -1).max(dim=-1)[0]
        mins = upsampled.view(upsampled.size(0), upsampled.size(1), -1).min(dim=-1)[0]
        maxs, mins = maxs[:, :, None, None], mins[:, :, None, None]
        upsampled = (upsampled - mins) / (maxs - mins + 1e-8)
        input_tensors = input_tensor[:, None, :, :] * upsampled[:, :, None, :, :]
        scores = []
        for c, tensor in zip(target.tolist(), input_tensors):
            for i in range(0, tensor.size(0), batch_size):
                batch = tensor[i: i + batch_size, :]
                outputs = [o[c].cpu().item() for o in model(batch)]
                scores.extend(outputs)
        scores = torch.Tensor(scores)
        scores = scores.view(activations.shape[0], activations.shape[1])
        weights = torch.nn.Softmax(dim=-1)(scores).numpy()
        return weights


def pgc_confidence_change(model: nn.Module, input_tensor: torch.Tensor, cams: np.ndarray,
                          target: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """pytorch_grad_cam/metrics/perturbation_confidence.py ``PerturbationConfidenceMetric.__call__`` with
    cam_mult_image.py's ``multiply_tensor_with_cam`` (return_diff=True): target(model(x ⊙ cam)) − target(model(x))."""
    with torch.no_grad():
        outputs = model(input_tensor)
        scores = np.float32([target(output).cpu().numpy() for output in outputs])
    perturbated_tensors = torch.cat([(input_tensor[i, ...].cpu() * torch.from_numpy(cams[i])).unsqueeze(0)
                                     for i in range(input_tensor.size(0))])
    with torch.no_grad():
        outputs_after_imputation = model(perturbated_tensors)
    scores_after_imputation = np.float32([target(output).cpu().numpy() for output in outputs_after_imputation])
    return scores_after_imputation - scores


def pgc_drop_in_confidence(model: nn.Module, x: torch.Tensor, cams: np.ndarray, category: torch.Tensor) -> np.ndarray:
    """cam_mult_image.py ``DropInConfidence``: max(−change, 0), targets ClassifierOutputTarget (logits)."""
    out = [pgc_confidence_change(model, x[i:i + 1], cams[i:i + 1], lambda o, c=c: o[c])
           for i, c in enumerate(category.tolist())]
    return np.maximum(-np.concatenate(out), 0)


def pgc_increase_in_confidence(model: nn.Module, x: torch.Tensor, cams: np.ndarray,
                               category: torch.Tensor) -> np.ndarray:
    """cam_mult_image.py ``IncreaseInConfidence``: float32(change > 0), targets ClassifierOutputSoftmaxTarget."""
    out = [pgc_confidence_change(model, x[i:i + 1], cams[i:i + 1], lambda o, c=c: torch.softmax(o, dim=-1)[c])
           for i, c in enumerate(category.tolist())]
    return np.float32(np.concatenate(out) > 0)


def tfp_percentile(x: np.ndarray, q: float, interpolation: str = "nearest") -> np.ndarray:
    """``tfp.stats.percentile(x, q, axis=-1, interpolation)`` from tensorflow_probability/python/stats/quantiles.py
    at 1f7a150 (the last version before 8dc1fb4 "Use ascending sort for percentile", May 2020), lines 551-609;
    ``_sort_tensor`` is ``tf.math.top_k`` (highest first). The RectGrad authors call
    ``tf.contrib.distributions.percentile(x, q, axis=[1,2,3])`` (1202kbs/Rectified-Gradient,
    deepexplain/tensorflow/methods.py at 5e1839b, ``threshold``), the TF 1.x copy of the same code."""
    q = np.float64(q)
    frac_at_q_or_above = 1. - q / 100.
    sorted_y = -np.sort(-x, axis=-1)
    d = np.float64(x.shape[-1])

    def _get_indices(interp_type):
        if interp_type == 'lower':
            indices = np.ceil((d - 1) * frac_at_q_or_above)
        elif interp_type == 'higher':
            indices = np.floor((d - 1) * frac_at_q_or_above)
        elif interp_type == 'nearest':
            indices = np.round((d - 1) * frac_at_q_or_above)  # half to even, as tf.round
        return np.clip(indices.astype(np.int32), 0, x.shape[-1] - 1)

    if interpolation == 'nearest':
        return sorted_y[..., _get_indices('nearest')]
    larger_y_idx = _get_indices('lower')
    exact_idx = (d - 1) * frac_at_q_or_above
    smaller_y_idx = _get_indices('higher')
    fraction = (np.ceil((d - 1) * frac_at_q_or_above) - exact_idx).astype(x.dtype)
    return sorted_y[..., larger_y_idx] * (1 - fraction) + sorted_y[..., smaller_y_idx] * fraction


def rectgrad_mlp_reference(layers: list[nn.Linear], x: np.ndarray, c: np.ndarray, q: float,
                           times_input: bool = True) -> np.ndarray:
    """RectGrad (x ⊙ rectified gradient; NoBias-RectGrad without ``times_input``) of an MLP Linear-ReLU-…-Linear
    by hand, with the authors' ReLU override
    (1202kbs/Rectified-Gradient, deepexplain/tensorflow/methods.py at 5e1839b, ``RectifiedGradient``):
    ``activation_grad = op.outputs[0] * grad; thresh = threshold(activation_grad, q);
    tf.where(thresh < activation_grad, grad, 0)``, the threshold per sample over the layer (``tfp_percentile``)."""
    W = [layer.weight.detach().numpy() for layer in layers]
    b = [layer.bias.detach().numpy() for layer in layers]
    outs, h = [], x.reshape(len(x), -1)
    for w, bias in zip(W[:-1], b[:-1]):
        h = np.maximum(h @ w.T + bias, 0)
        outs.append(h)
    grad = W[-1][c]  # ∂z_c/∂(last hidden)
    for k in range(len(outs) - 1, -1, -1):
        activation_grad = outs[k] * grad
        thresh = tfp_percentile(activation_grad, q)[:, None]
        grad = np.where(thresh < activation_grad, grad, 0) @ W[k]
    grad = grad.reshape(x.shape)
    return grad * x if times_input else grad


def road_removed_count(hw: int, th_p: float, remove: bool) -> int:
    """How many pixels the official ROAD code removes: road/imputed_dataset.py ``ImputedDataset.__getitem__``
    (lines 83-87): ``coords = salient_order[:int(width*height*self.th_p)]`` if remove (MoRF), else
    ``salient_order[int(width*height*(self.th_p)):]`` (LeRF keeps the top th_p)."""
    salient_order = list(range(hw))
    coords = salient_order[:int(hw * th_p)] if remove else salient_order[int(hw * th_p):]
    return len(coords)


def rise_gkern(klen: int, nsig: float, channels: int) -> torch.Tensor:
    """evaluation.py ``gkern`` (its 3 hard-coded channels generalized to ``channels``)."""
    from scipy.ndimage import gaussian_filter

    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    kern = np.zeros((channels, channels, klen, klen))
    for i in range(channels):
        kern[i, i] = k
    return torch.from_numpy(kern.astype('float32'))


def rise_curve(model: nn.Module, img_tensor: torch.Tensor, explanation: np.ndarray, mode: str, step: int,
               substrate_fn: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """evaluation.py ``CausalMetric.single_run`` (verbose=0, CPU) for one image (1 x C x H x W); the model ends in
    a softmax as in Evaluation.ipynb (``nn.Sequential(model, nn.Softmax(dim=1))``)."""
    HW = img_tensor.shape[-2] * img_tensor.shape[-1]
    C = img_tensor.shape[1]
    pred = model(img_tensor)
    top, c = torch.max(pred, 1)
    c = c.cpu().numpy()[0]
    n_steps = (HW + step - 1) // step
    if mode == 'del':
        start = img_tensor.clone()
        finish = substrate_fn(img_tensor)
    else:
        start = substrate_fn(img_tensor)
        finish = img_tensor.clone()
    scores = np.empty(n_steps + 1)
    salient_order = np.flip(np.argsort(explanation.reshape(-1, HW), axis=1), axis=-1)
    for i in range(n_steps + 1):
        pred = model(start)
        scores[i] = pred[0, c]
        if i < n_steps:
            coords = salient_order[:, step * i:step * (i + 1)]
            start.cpu().numpy().reshape(1, C, HW)[0, :, coords] = finish.cpu().numpy().reshape(1, C, HW)[0, :, coords]
    return scores
