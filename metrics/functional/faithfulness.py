"""Deletion / insertion curves and their AUCs (Petsiuk et al. 2018, RISE), batched. Spec: METRICS.md §1.

Pixels are changed in the exact order of decreasing R (``maps.rank_positions``; exact ties in a seeded random
order), s = ceil(HW / n_steps) per step, all channels of a pixel together; curve s_k = p_c(x_k) for k = 0..n,
n = ceil(HW / s); AUC = trapezoid over t_k = min(k s, HW) / HW. All N (n + 1) images are built on the fly and
evaluated in chunks of ``eval_batch_size``; rankings are built per chunk of samples (``maps.chunked``), so memory
does not grow with N.

>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
>>> x, A = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
>>> t, curves = deletion_curve(model, x, A, torch.tensor([0, 1, 0]), n_steps=5)
>>> t.tolist(), curves.shape
([0.0, 0.25, 0.5, 0.75, 1.0], torch.Size([3, 5]))
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import nn

from .maps import Pooling, chunk_size, chunked, pool, rank_positions, sample_index

Substrate = Literal["zeros", "blur", "mean"]
Start = Literal["blur", "zeros"]


def gaussian_taps(klen: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """The 1-D factor of RISE's ``gkern``: scipy's ``gaussian_filter1d`` of a unit impulse on klen points.

    Mode 'reflect', truncate 4: the normalized Gaussian taps of radius ⌊4σ + ½⌋, with the tails that fall outside
    the window folded back into it (half-sample symmetric reflection), so the klen taps still sum to 1.

    Args:
        klen: window length, default 11.
        sigma: the Gaussian's standard deviation in pixels, default 5.0.

    Returns:
        Taps, klen, float64, summing to 1.

    Example:
        >>> k = gaussian_taps()
        >>> k.shape, round(k.sum().item(), 12), torch.allclose(k, k.flip(0))
        (torch.Size([11]), 1.0, True)
    """
    radius = int(4.0 * sigma + 0.5)
    j = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (j / sigma) ** 2)
    w = w / w.sum()
    m = torch.arange(klen).view(-1, 1) + j.long().view(1, -1)  # source index of each tap, before reflection
    m = m % (2 * klen)
    m = torch.where(m >= klen, 2 * klen - 1 - m, m)  # half-sample symmetric reflection, period 2 klen
    return ((m == klen // 2).double() * w).sum(1)


def gaussian_kernel(klen: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """RISE's ``gkern``: scipy's ``gaussian_filter`` of a unit impulse on a klen x klen grid.

    The filter is separable and so is the impulse: the kernel is the outer product of ``gaussian_taps``.

    Args:
        klen: window side, default 11.
        sigma: the Gaussian's standard deviation in pixels, default 5.0.

    Returns:
        Kernel, klen x klen, float64, summing to 1.

    Example:
        >>> k = gaussian_kernel(5, 1.0)
        >>> k.shape, round(k.sum().item(), 12)
        (torch.Size([5, 5]), 1.0)
    """
    k1 = gaussian_taps(klen, sigma)
    return torch.outer(k1, k1)  # the filter is separable and so is the delta


def blur(x: torch.Tensor, klen: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """Per-channel Gaussian blur with zero padding: RISE's ``gkern`` convolution, the insertion start image.

    Computed as two 1-D passes, each a sum of shifted, weighted copies of the zero-padded input in a fixed order:
    only elementwise operations, each rounded once, so every output value is the same whatever the batch size or
    the processor. A convolution call may change its summation order with the batch shape (oneDNN picks kernels
    per shape), which would make a chunked metric differ from an unchunked one in the last bits.

    Args:
        x: images, N x C x H x W, floating.
        klen: kernel side, default 11.
        sigma: the Gaussian's standard deviation in pixels, default 5.0.

    Returns:
        The blurred images, x's shape, dtype and device.

    Example:
        >>> x = torch.rand(5, 2, 9, 9)
        >>> torch.equal(blur(x)[3:], blur(x[3:]))
        True
    """
    taps = gaussian_taps(klen, sigma).tolist()
    r = klen // 2
    for dim in (-2, -1):
        padded = nn.functional.pad(x, (r, klen - 1 - r) if dim == -1 else (0, 0, r, klen - 1 - r))
        out = torch.zeros_like(x)
        for j, w in enumerate(taps):  # correlation with a symmetric kernel is convolution
            out = out + w * padded.narrow(dim, j, x.shape[dim])
        x = out
    return x


def step_sizes(hw: int, n_steps: int = 100) -> tuple[int, int]:
    """Pixels per step and number of steps of a deletion or insertion curve: s = ⌈HW / n_steps⌉, n = ⌈HW / s⌉.

    Args:
        hw: pixels per image, H·W.
        n_steps: the requested number of steps, default 100; n ≤ n_steps (n = HW when HW < n_steps).

    Returns:
        (s, n), two ints.

    Example:
        >>> step_sizes(784), step_sizes(10, 4)
        ((8, 98), (3, 4))
    """
    s = math.ceil(hw / n_steps)
    return s, math.ceil(hw / s)


def auc(t: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Trapezoid area under each curve over the grid t.

    Args:
        t: grid, K, real (moved to the curves' device).
        curves: values, N x K (or any ... x K), real.

    Returns:
        Areas, N (the curves' leading shape), float64.

    Example:
        >>> auc(torch.tensor([0., .5, 1.]), torch.tensor([[1., 1., 1.], [1., 0., 0.]])).tolist()
        [1.0, 0.25]
    """
    return torch.trapezoid(curves.double(), t.double().to(curves.device), dim=-1)


def model_device(model: nn.Module, x: torch.Tensor) -> torch.device:
    """The device of the model's first parameter, or x's device for a parameter-free model.

    Args:
        model: any module.
        x: the inputs, whose device is the fallback.

    Returns:
        A ``torch.device``.

    Example:
        >>> model_device(torch.nn.Linear(2, 2), torch.zeros(1)), model_device(torch.nn.ReLU(), torch.zeros(1))
        (device(type='cpu'), device(type='cpu'))
    """
    p = next(model.parameters(), None)
    return p.device if p is not None else x.device


def perturbation_curve(model: nn.Module, start: torch.Tensor, end: torch.Tensor, pos: torch.Tensor,
                       target: torch.Tensor, *, n_steps: int = 100,
                       eval_batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The target's probability as ``start`` turns into ``end``, most relevant pixels first.

    x_k is ``start`` with its pixels of rank < min(k s, HW) taken from ``end`` (all channels together), for
    k = 0..n (s, n from ``step_sizes``); the curve is p_c(x_k) = softmax(model(x_k))_c. The N (n + 1) images are
    built per batch of ``eval_batch_size``, on the model's device.

    Args:
        model: classifier, N x C x H x W -> N x K logits.
        start: the images at k = 0, N x C x H x W, floating.
        end: the images at k = n, start's shape and dtype.
        pos: each pixel's rank, N x H x W, long (0 = most relevant; ``maps.rank_positions``).
        target: class per sample, N, long.
        n_steps: the requested number of steps, default 100.
        eval_batch_size: images per forward pass, default 256.

    Returns:
        (t, curves): the grid t_k = min(k s, HW) / HW, n + 1, float64 (``curve_grid``), and p_c(x_k),
        N x (n + 1), float64, on the model's device.

    Raises:
        ValueError: ``pos`` is not N x H x W.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> x, pos = torch.rand(2, 1, 2, 2), torch.tensor([[[0, 1], [2, 3]], [[3, 2], [1, 0]]])
        >>> t, curves = perturbation_curve(model, x, torch.zeros_like(x), pos, torch.tensor([0, 1]), n_steps=4)
        >>> t.tolist(), curves.shape
        ([0.0, 0.25, 0.5, 0.75, 1.0], torch.Size([2, 5]))
    """
    n_img, _, h, w = start.shape
    if pos.shape != (n_img, h, w):
        raise ValueError(f"ranking of shape {tuple(pos.shape)} does not match inputs {tuple(start.shape)}")
    hw = h * w
    s, n = step_sizes(hw, n_steps)
    device = model_device(model, start)
    start, end, target = start.to(device), end.to(device), target.to(device)
    # pos[i, p] = rank of pixel p in sample i (0 = most relevant): x_k changes exactly the pixels with pos < k s.
    pos = pos.to(device).flatten(1)
    total = n_img * (n + 1)
    probs = torch.empty(total, dtype=torch.float64, device=device)
    with torch.no_grad():
        for lo in range(0, total, eval_batch_size):
            p = torch.arange(lo, min(lo + eval_batch_size, total), device=device)
            i, k = p // (n + 1), p % (n + 1)
            changed = pos[i] < (k * s).clamp(max=hw).unsqueeze(1)
            images = torch.where(changed.view(-1, 1, h, w), end[i], start[i])
            probs[p] = model(images).softmax(-1).gather(1, target[i].view(-1, 1)).squeeze(1).double()
    return curve_grid(hw, n_steps), probs.view(n_img, n + 1)


def curve_grid(hw: int, n_steps: int = 100) -> torch.Tensor:
    """The grid of a deletion or insertion curve: t_k = min(k s, HW) / HW for k = 0..n (s, n from ``step_sizes``).

    Args:
        hw: pixels per image, H·W.
        n_steps: the requested number of steps, default 100.

    Returns:
        t, n + 1, float64, from 0 to 1.

    Example:
        >>> curve_grid(10, 4).tolist()  # s = 3: the last step changes only one pixel
        [0.0, 0.3, 0.6, 0.9, 1.0]
    """
    s, n = step_sizes(hw, n_steps)
    return (torch.arange(n + 1, dtype=torch.float64) * s).clamp(max=hw) / hw


def _chunked_curves(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor,
                    endpoints: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], *,
                    index: torch.Tensor | None, n_steps: int, pooling: Pooling, eval_batch_size: int,
                    tie_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``perturbation_curve`` on chunks of samples, (start, end) = ``endpoints(x_chunk)``.

    A chunk holds a multiple of eval_batch_size / gcd(n + 1, eval_batch_size) samples, so its images fill whole
    forward passes: the model sees exactly the batches of one unchunked call, and the values are identical.
    """
    if len(A) != len(x) or len(target) != len(x):
        raise ValueError(f"{len(x)} inputs but {len(A)} attributions and {len(target)} targets")
    index = sample_index(index, len(x))
    hw = x.shape[-2] * x.shape[-1]
    n = step_sizes(hw, n_steps)[1]

    def run(sl: slice) -> torch.Tensor:
        pos = rank_positions(pool(A[sl], pooling), index[sl], tie_seed)
        return perturbation_curve(model, *endpoints(x[sl]), pos, target[sl], n_steps=n_steps,
                                  eval_batch_size=eval_batch_size)[1]

    size = chunk_size(math.prod(x.shape[1:]) + hw, multiple=eval_batch_size // math.gcd(n + 1, eval_batch_size))
    return curve_grid(hw, n_steps), chunked(run, len(x), size)


def deletion_curve(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                   index: torch.Tensor | None = None, n_steps: int = 100, substrate: Substrate = "zeros",
                   mean: Sequence[float] | torch.Tensor | None = None, pooling: Pooling = "sum,abs",
                   eval_batch_size: int = 256, tie_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Deletion curve (RISE): the target's probability as the most relevant pixels of x become a substrate.

    Pixels go in the exact order of decreasing R = pool(A) (``maps.rank_positions``; exact ties in a seeded random
    order), s = ⌈HW / n_steps⌉ per step, all channels of a pixel together (``perturbation_curve``). Rankings are
    built per chunk of samples, so memory does not grow with N.

    Args:
        model: classifier, N x C x H x W -> N x K logits.
        x: inputs, N x C x H x W, floating.
        A: attributions, N x C x H x W (or N x H x W).
        target: class per sample, N, long.
        index: the samples' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        n_steps: the requested number of steps, default 100.
        substrate: what deleted pixels become: ``"zeros"`` (default), ``"blur"`` (``blur(x)``) or ``"mean"``.
        mean: the per-channel fill for ``substrate="mean"`` (C values, the training mean); needed there only.
        pooling: channel pooling of A (``maps.pool``), default ``"sum,abs"``.
        eval_batch_size: images per forward pass, default 256.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        (t, curves): t, n + 1, float64, from 0 to 1; curves, N x (n + 1), float64, with curves[:, 0] = p_c(x).

    Raises:
        ValueError: an unknown substrate, ``"mean"`` without ``mean``, or A or target without N rows.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
        >>> x, A = torch.rand(2, 3, 2, 2), torch.rand(2, 3, 2, 2)
        >>> t, curves = deletion_curve(model, x, A, torch.tensor([1, 0]), substrate="mean", mean=[.5, .4, .3])
        >>> t.tolist(), curves.shape  # HW = 4 < n_steps: one pixel per step
        ([0.0, 0.25, 0.5, 0.75, 1.0], torch.Size([2, 5]))
    """
    if substrate == "zeros":
        def end(xs: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(xs)
    elif substrate == "blur":
        end = blur
    elif substrate == "mean":
        if mean is None:
            raise ValueError("substrate='mean' needs the per-channel training mean")
        fill = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)

        def end(xs: torch.Tensor) -> torch.Tensor:
            return fill.expand_as(xs)
    else:
        raise ValueError(f"unknown substrate {substrate!r}; choose from zeros, blur, mean")
    return _chunked_curves(model, x, A, target, lambda xs: (xs, end(xs)), index=index, n_steps=n_steps,
                           pooling=pooling, eval_batch_size=eval_batch_size, tie_seed=tie_seed)


def insertion_curve(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                    index: torch.Tensor | None = None, n_steps: int = 100, start: Start = "blur",
                    pooling: Pooling = "sum,abs", eval_batch_size: int = 256,
                    tie_seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Insertion curve (RISE): the target's probability as the most relevant pixels of x go into a start image.

    The reverse of ``deletion_curve``: x_0 = blur(x) (RISE) or zeros, x_n = x, pixels inserted in the same order
    and steps.

    Args:
        model, x, A, target, index, n_steps, pooling, eval_batch_size, tie_seed: as in ``deletion_curve``.
        start: the image at k = 0: ``"blur"`` (``blur(x)``, default) or ``"zeros"``.

    Returns:
        (t, curves): t, n + 1, float64, from 0 to 1; curves, N x (n + 1), float64, with curves[:, -1] = p_c(x).

    Raises:
        ValueError: an unknown ``start``, or A or target without N rows.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
        >>> x = torch.rand(1, 1, 8, 8)
        >>> t, curves = insertion_curve(model, x, x, torch.tensor([1]), n_steps=10)
        >>> curves.shape  # s = ⌈64 / 10⌉ = 7 pixels per step, n = ⌈64 / 7⌉ = 10 steps
        torch.Size([1, 11])
    """
    if start not in ("blur", "zeros"):
        raise ValueError(f"unknown start {start!r}; choose from blur, zeros")
    begin = blur if start == "blur" else torch.zeros_like
    return _chunked_curves(model, x, A, target, lambda xs: (begin(xs), xs), index=index, n_steps=n_steps,
                           pooling=pooling, eval_batch_size=eval_batch_size, tie_seed=tie_seed)


def deletion_auc(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                 index: torch.Tensor | None = None, n_steps: int = 100, substrate: Substrate = "zeros",
                 mean: Sequence[float] | torch.Tensor | None = None, pooling: Pooling = "sum,abs",
                 eval_batch_size: int = 256, tie_seed: int = 0) -> torch.Tensor:
    """Deletion AUC per sample: the trapezoid area under ``deletion_curve`` over t in [0, 1] (lower is better).

    Args:
        model, x, A, target, index, n_steps, substrate, mean, pooling, eval_batch_size, tie_seed: as in
            ``deletion_curve``.

    Returns:
        AUC, N, float64, in [0, 1].

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> x, A = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
        >>> deletion_auc(model, x, A, torch.tensor([0, 1, 0]), substrate="blur").shape
        torch.Size([3])
    """
    return auc(*deletion_curve(model, x, A, target, index=index, n_steps=n_steps, substrate=substrate, mean=mean,
                               pooling=pooling, eval_batch_size=eval_batch_size, tie_seed=tie_seed))


def insertion_auc(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                  index: torch.Tensor | None = None, n_steps: int = 100, start: Start = "blur",
                  pooling: Pooling = "sum,abs", eval_batch_size: int = 256, tie_seed: int = 0) -> torch.Tensor:
    """Insertion AUC per sample: the trapezoid area under ``insertion_curve`` over t in [0, 1] (higher is better).

    Args:
        model, x, A, target, index, n_steps, start, pooling, eval_batch_size, tie_seed: as in ``insertion_curve``.

    Returns:
        AUC, N, float64, in [0, 1].

    Example:
        >>> blind = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> _ = [torch.nn.init.zeros_(p) for p in blind.parameters()]  # p_c = 1/2 on every image
        >>> insertion_auc(blind, torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4), torch.tensor([0, 1])).tolist()
        [0.5, 0.5]
    """
    return auc(*insertion_curve(model, x, A, target, index=index, n_steps=n_steps, start=start, pooling=pooling,
                                eval_batch_size=eval_batch_size, tie_seed=tie_seed))
