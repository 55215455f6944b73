"""ROAD (Rong et al. 2022): noisy linear imputation and MoRF / LeRF curves, batched on the model's device.

Spec: METRICS.md §1 "ROAD". Each removed pixel u of each channel is the weighted mean of its in-image 8-neighbours
(w = 1/6 edge, 1/12 diagonal), known values fixed: (D - W_UU) v_U = W_UK x_K. D - W_UU is symmetric positive definite
whenever a pixel is known, so every (image, channel) system is solved at once by Jacobi-preconditioned conjugate
gradients on the matrix-free operator (one 3 x 3 stencil per iteration, masked to U): in float32, then checked and
corrected in float64 to the relative residual ``tol``.

>>> x = torch.zeros(1, 1, 3, 3); x[0, 0, 1] = x[0, 0, :, 1] = 0.3; x[0, 0, ::2, ::2] = 0.6
>>> hole = torch.zeros(1, 3, 3, dtype=torch.bool); hole[0, 1, 1] = True
>>> round(linear_imputation(x, hole)[0, 0, 1, 1].item(), 6)  # (4 * 0.3 / 6 + 4 * 0.6 / 12) / (4/6 + 4/12)
0.4
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
from torch import nn

from .faithfulness import auc, model_device
from .maps import Pooling, chunked, index_draws, pool, rank_positions, sample_index

PERCENTAGES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _tridiagonal(n: int, like: torch.Tensor) -> torch.Tensor:
    """n x n matrix of the 1-D stencil [1, 2, 1] with zero boundary."""
    off = torch.ones(n - 1, dtype=like.dtype, device=like.device)
    return torch.diag(torch.full((n,), 2.0, dtype=like.dtype, device=like.device)) + off.diag(1) + off.diag(-1)


class _Operator:
    """(D - W_UU) of B systems on H x W grids, matrix-free, in the dtype of ``like``.

    The 3 x 3 stencil Σ_j w_uj t_j is ([1, 2, 1]ᵀ[1, 2, 1] - 4 δ) / 12: two matmuls with tridiagonal matrices apply
    it about 2x faster than a float64 conv2d on CPU (measured 28-224 px); their zero boundary keeps in-image
    neighbours only. With the 1/12 folded into the second factor, (D - W_UU) p = u ⊙ ((D + 1/3) p - T_h p T_w).
    """

    def __init__(self, U: torch.Tensor, like: torch.Tensor):
        h, w = U.shape[1:]
        self.th, self.tw = _tridiagonal(h, like), _tridiagonal(w, like) / 12
        self.u = U.to(like.dtype)
        self.d = self.th @ torch.ones_like(like[:1]) @ self.tw - 1 / 3  # D: in-image neighbour weight per pixel
        self.d_self = self.d + 1 / 3  # D + 1/3: the diagonal once the stencil's centre term is folded in
        self.dinv = self.u / self.d  # Jacobi preconditioner, 0 off U (keeps the search directions on U)

    def neighbour_sum(self, t: torch.Tensor) -> torch.Tensor:  # Σ_j w_uj t_j over in-image 8-neighbours
        return self.th @ t @ self.tw - t / 3

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        w = p.shape[-1]
        dp = self.d_self * p
        return torch.addmm(dp.view(-1, w), (self.th @ p).view(-1, w), self.tw, alpha=-1).view_as(p).mul_(self.u)

    def rows(self, keep: torch.Tensor) -> None:
        """Keep the systems where ``keep`` is true."""
        self.u, self.dinv = self.u[keep], self.dinv[keep]


def _pcg(A: _Operator, b: torch.Tensor, tol: torch.Tensor, max_iter: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched Jacobi-PCG from 0 until ||r_i|| <= tol_i (absolute, per system) or ``max_iter`` iterations.

    Returns v and the final recurrence residual norms. Converged systems stop moving; they are dropped from the
    batch once a quarter of the rows is done (the work then follows the mean iteration count, not the max).
    """
    out, res = torch.zeros_like(b), torch.zeros_like(tol)
    ids = torch.arange(len(b), device=b.device)  # systems still iterating
    v, r = torch.zeros_like(b), b.clone()
    z = r * A.dinv
    p, rz = z, torch.linalg.vecdot(r.flatten(1), z.flatten(1))
    for _ in range(max_iter):
        norm = r.flatten(1).norm(dim=1)
        active = norm > tol
        n_active = int(active.sum())
        if n_active < len(ids):
            out[ids], res[ids] = v, norm
            if n_active == 0:
                return out, res
            if n_active <= 3 * len(ids) // 4:
                A.rows(active)
                ids, tol, v, r, p, rz, active = (t[active] for t in (ids, tol, v, r, p, rz, active))
        Ap = A(p)  # (D - W_UU) p, p zero off U
        pAp = torch.linalg.vecdot(p.flatten(1), Ap.flatten(1))
        alpha = torch.where(active, rz / torch.where(active, pAp, 1), 0).view(-1, 1, 1)
        v.addcmul_(alpha, p)
        r.addcmul_(alpha, Ap, value=-1)
        z = r * A.dinv
        rz_new = torch.linalg.vecdot(r.flatten(1), z.flatten(1))
        beta = torch.where(active, rz_new / torch.where(active, rz, 1), 0).view(-1, 1, 1)
        p, rz = torch.addcmul(z, beta, p), rz_new
    out[ids], res[ids] = v, r.flatten(1).norm(dim=1)
    return out, res


def _solve(x: torch.Tensor, U: torch.Tensor, tol: float, max_iter: int) -> torch.Tensor:
    """Batched PCG for B systems: x (B x H x W, float64) with removed pixels U (bool) -> imputed values on U.

    Mixed precision: PCG in float32 (half the memory traffic, about twice as fast), then the true residual in
    float64; the systems above ``tol`` get a float64 PCG correction (usually a few iterations), so every system
    meets ||b - A v|| <= tol ||b|| in float64 as the spec requires.
    """
    A = _Operator(U, x)
    b = A.neighbour_sum(x * (1 - A.u)) * A.u  # W_UK x_K
    target = tol * b.flatten(1).norm(dim=1)
    v = _pcg(_Operator(U, x.float()), b.float(), target.float(), max_iter)[0].double()
    r = b - A(v)
    bad = r.flatten(1).norm(dim=1) > target
    if bool(bad.any()):
        A.rows(bad)
        correction, res = _pcg(A, r[bad], target[bad], max_iter)
        if bool((res > target[bad]).any()):
            worst = (res / b[bad].flatten(1).norm(dim=1).clamp(min=1e-300)).max().item()
            raise RuntimeError(f"ROAD imputation: conjugate gradients reached relative residual {worst:.2e} > "
                               f"{tol:g} after {max_iter} iterations")
        v[bad] += correction
    return v


def linear_imputation(x: torch.Tensor, removed: torch.Tensor, *, tol: float = 1e-6,
                      max_iter: int | None = None, index: torch.Tensor | None = None) -> torch.Tensor:
    """ROAD's linear imputation (no noise): each removed pixel becomes the weighted mean of its 8-neighbours.

    Per channel, the removed values v_U solve (D − W_UU) v_U = W_UK x_K (w = 1/6 edge, 1/12 diagonal neighbours,
    in-image only), all (image, channel) systems at once by Jacobi-preconditioned conjugate gradients, to the
    relative residual ``tol`` in float64 (see the module docstring).

    Args:
        x: images, N x C x H x W, floating.
        removed: the pixels to impute, all channels together: N x H x W, or N x S x H x W for S removal sets per
            image; bool (any dtype is cast).
        tol: the relative residual ||b − A v|| / ||b|| every system must reach, default 1e-6.
        max_iter: conjugate-gradient iterations per pass; default None = max(100, 2 HW).
        index: the samples' dataset indices, N, long, only to name the samples in errors; default None = 0..N-1.

    Returns:
        The imputed images, x's shape (N x S x C x H x W with S sets), x's dtype, on x's device; known pixels are
        returned unchanged.

    Raises:
        ValueError: ``removed`` does not match x, or removes every pixel of an image.
        RuntimeError: a system misses ``tol`` after ``max_iter`` iterations.

    Example:
        >>> x = torch.rand(2, 3, 5, 5); removed = torch.zeros(2, 5, 5, dtype=torch.bool); removed[:, 2, 2] = True
        >>> out = linear_imputation(x, removed)
        >>> w = torch.tensor([[1., 2., 1.], [2., 0., 2.], [1., 2., 1.]]) / 12  # 1/6 edge, 1/12 diagonal, sum 1
        >>> torch.allclose(out[:, :, 2, 2], (x[:, :, 1:4, 1:4] * w).sum((-2, -1)))  # one hole: its neighbours' mean
        True
    """
    n, c, h, w = x.shape
    sets = removed.dim() == 4
    R = (removed if sets else removed.unsqueeze(1)).to(x.device, torch.bool)
    if R.shape[0] != n or R.shape[2:] != (h, w):
        raise ValueError(f"removed pixels of shape {tuple(removed.shape)} do not match images {tuple(x.shape)}")
    full = R.flatten(2).all(2).any(1)
    if bool(full.any()):
        idx = (torch.arange(n) if index is None else index.cpu())[full.cpu()].tolist()
        raise ValueError(f"ROAD imputation: every pixel is removed for sample(s) {idx}; at least one must stay known")
    s = R.shape[1]
    U = R.unsqueeze(2).expand(n, s, c, h, w)
    X = x.unsqueeze(1).expand(n, s, c, h, w)
    v = _solve(X.reshape(-1, h, w).double(), U.reshape(-1, h, w), tol, max_iter or max(100, 2 * h * w))
    out = torch.where(U, v.view(n, s, c, h, w).to(x.dtype), X)
    return out if sets else out.squeeze(1)


def imputation_noise(shape: Sequence[int], index: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """ROAD's noise z ~ N(0, 1) for each sample, from the ``"road-noise"`` stream of (seed, dataset index) only.

    So the noise does not depend on batch size or order (``maps.index_draws``).

    Args:
        shape: one sample's noise shape, e.g. (C, H, W) or (S, C, H, W).
        index: the samples' dataset indices, N, long.
        seed: the stream's seed, default 0.

    Returns:
        z, N x *shape, float32, on the CPU.

    Example:
        >>> z = imputation_noise((3, 2, 2), torch.tensor([5, 6]))
        >>> z.shape, torch.equal(z[1], imputation_noise((3, 2, 2), torch.tensor([6]))[0])
        (torch.Size([2, 3, 2, 2]), True)
    """
    return index_draws("road-noise", seed, index, lambda g: torch.randn(tuple(shape), generator=g))


def noisy_linear_imputation(x: torch.Tensor, removed: torch.Tensor, *, noise_std: float = 0.01, seed: int = 0,
                            index: torch.Tensor | None = None, tol: float = 1e-6) -> torch.Tensor:
    """ROAD's noisy linear imputation: ``linear_imputation`` plus N(0, noise_std²) on the imputed pixels only.

    The noise is ``imputation_noise`` of the output's per-sample shape, seeded per dataset index; no clamping.

    Args:
        x: images, N x C x H x W, floating.
        removed: the pixels to impute, N x H x W or N x S x H x W, bool (see ``linear_imputation``).
        noise_std: the noise's standard deviation, default 0.01 (0 = no noise).
        seed: the noise stream's seed, default 0.
        index: the samples' dataset indices, N, long; default None = 0..N-1.
        tol: the imputation's relative residual, default 1e-6.

    Returns:
        The imputed images, ``linear_imputation``'s shape, x's dtype, on x's device.

    Example:
        >>> x, removed = torch.rand(2, 3, 5, 5), torch.rand(2, 5, 5) > 0.5
        >>> out = noisy_linear_imputation(x, removed, index=torch.tensor([4, 9]))
        >>> torch.equal(out[0][:, ~removed[0]], x[0][:, ~removed[0]])  # known pixels untouched
        True
    """
    if index is None:
        index = torch.arange(len(x))
    out = linear_imputation(x, removed, tol=tol, index=index)
    if noise_std:
        z = imputation_noise(out.shape[1:], index.cpu(), seed).to(out.device, out.dtype)
        U = (removed.unsqueeze(2) if removed.dim() == 4 else removed.unsqueeze(1)).to(out.device, torch.bool)
        out = out + noise_std * z * U
    return out


@dataclasses.dataclass(frozen=True)
class RoadCurves:
    """Per-sample ROAD curves over the percentages p, as ``road_curves`` returns them.

    Attributes:
        p: the percentages removed, P, float64.
        morf_prob: p_target after removing the most relevant pixels first, N x P, float64.
        lerf_prob: p_target after removing the least relevant pixels first, N x P, float64.
        morf_correct: 1[argmax = label] after MoRF removal, N x P, float64.
        lerf_correct: 1[argmax = label] after LeRF removal, N x P, float64.

    Example:
        >>> ones = torch.ones(1, 2, dtype=torch.float64)
        >>> morf, lerf = RoadCurves(torch.tensor([.1, .2]), 0 * ones, ones, ones, ones).curves("prob")
        >>> morf.tolist(), road_combined(morf, lerf).tolist()
        ([[0.0, 0.0]], [0.5])
    """

    p: torch.Tensor
    morf_prob: torch.Tensor
    lerf_prob: torch.Tensor
    morf_correct: torch.Tensor
    lerf_correct: torch.Tensor

    def curves(self, score: str = "prob") -> tuple[torch.Tensor, torch.Tensor]:
        """The (MoRF, LeRF) curves of one score.

        Args:
            score: ``"prob"`` (p_c, default) or ``"accuracy"`` (correctness).

        Returns:
            (MoRF, LeRF), each N x P, float64.

        Raises:
            ValueError: an unknown ``score``.
        """
        if score == "prob":
            return self.morf_prob, self.lerf_prob
        if score == "accuracy":
            return self.morf_correct, self.lerf_correct
        raise ValueError(f"unknown ROAD score {score!r}; choose from prob, accuracy")


def removal_counts(hw: int, percentages: Sequence[float]) -> list[int]:
    """Pixels removed at each percentage: k = ⌊p · HW⌋.

    The 1e-9 absorbs binary representation error: 0.29 * 100 is 28.999..., and must give 29.

    Args:
        hw: units per image (H·W pixels).
        percentages: the shares p, each in [0, 1].

    Returns:
        k per p, a list of ints.

    Example:
        >>> removal_counts(100, [0.29, 0.5]), removal_counts(10, [0.25])
        ([29, 50], [2])
    """
    return [math.floor(p * hw + 1e-9) for p in percentages]


def removal_sets(pos: torch.Tensor, percentages: Sequence[float]) -> torch.Tensor:
    """ROAD's removal sets from the pixels' ranks: MoRF(p) = the top ⌊p · HW⌋ pixels, LeRF(p) = the ⌊p · HW⌋ lowest.

    Args:
        pos: each pixel's rank, N x H x W, long (0 = most relevant; ``maps.rank_positions``).
        percentages: the shares p, P values in [0, 1].

    Returns:
        Bool N x 2P x H x W (True = removed): the P MoRF sets, then the P LeRF sets; on pos's device.

    Example:
        >>> sets = removal_sets(torch.tensor([[[0, 1], [2, 3]]]), [0.25, 0.5])  # P = 2
        >>> sets.int().flatten(2).tolist()  # MoRF 25 %, MoRF 50 %, LeRF 25 %, LeRF 50 %
        [[[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1]]]
    """
    n, h, w = pos.shape
    hw = h * w
    k = torch.tensor(removal_counts(hw, percentages), device=pos.device).view(1, -1, 1)
    pos = pos.flatten(1).unsqueeze(1)
    return torch.cat([pos < k, pos >= hw - k], 1).view(n, -1, h, w)


def road_curves(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor,
                labels: torch.Tensor | None = None, *, index: torch.Tensor | None = None,
                percentages: Sequence[float] = PERCENTAGES, pooling: Pooling = "sum,abs", noise_std: float = 0.01,
                seed: int = 0, tie_seed: int = 0, eval_batch_size: int = 256) -> RoadCurves:
    """ROAD's MoRF and LeRF curves (Rong et al. 2022): the model on noisy-imputed images, per sample and percentage.

    For each p, the top (MoRF) or bottom (LeRF) ⌊p · HW⌋ pixels of the exact ranking of R = pool(A) are removed and
    imputed (``noisy_linear_imputation``); the curves hold p_target and 1[argmax = label] on those images. A chunk's
    2P images per sample form the forward passes, on the model's device.

    Args:
        model: classifier, N x C x H x W -> N x K logits.
        x: images, N x C x H x W, floating.
        A: attributions, N x C x H x W (or N x H x W).
        target: the class whose probability is tracked, N, long.
        labels: the class that counts as correct, N, long; default None = the model's prediction on x.
        index: the samples' dataset indices (ties and noise streams), N, long; default None = 0..N-1.
        percentages: the shares removed p, P values in (0, 1), default ``PERCENTAGES`` (0.1, ..., 0.9).
        pooling: channel pooling (``maps.pool``), default ``"sum,abs"``.
        noise_std: the imputation noise's standard deviation, default 0.01.
        seed: the noise stream's seed, default 0.
        tie_seed: seed of the tie-breaking order, default 0.
        eval_batch_size: images per forward pass (⌊eval_batch_size / 2P⌋ samples, at least 1), default 256.

    Returns:
        ``RoadCurves``: p (P, float64), and the MoRF / LeRF probability and correctness curves, each N x P, float64.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
        >>> x, A, y = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 0])
        >>> rc = road_curves(model, x, A, y, y, percentages=(0.25, 0.5))
        >>> rc.morf_prob.shape, road_auc(rc.p, rc.morf_prob).shape, road_combined(*rc.curves("accuracy")).shape
        (torch.Size([3, 2]), torch.Size([3]), torch.Size([3]))
    """
    n = len(x)
    index = sample_index(index, n)
    device = model_device(model, x)
    target = target.to(device)
    n_sets = 2 * len(percentages)
    per_chunk = max(1, eval_batch_size // n_sets)  # samples per chunk: their n_sets images form one forward pass

    def run(sl: slice) -> tuple[torch.Tensor, torch.Tensor]:
        pos = rank_positions(pool(A[sl], pooling).to(device), index[sl], tie_seed)
        images = noisy_linear_imputation(x[sl].to(device), removal_sets(pos, percentages), noise_std=noise_std,
                                         seed=seed, index=index[sl])
        logits = model(images.flatten(0, 1)).view(images.shape[0], n_sets, -1)
        prob = logits.softmax(-1).gather(2, target[sl].view(-1, 1, 1).expand(-1, n_sets, 1)).squeeze(2).double()
        return prob, logits.argmax(-1)

    with torch.no_grad():
        if labels is None:
            labels = chunked(lambda sl: model(x[sl].to(device)).argmax(1), n, eval_batch_size)
        prob, pred = chunked(run, n, per_chunk)
    correct = (pred == labels.to(device).view(-1, 1)).double()
    m = len(percentages)
    p = torch.tensor(percentages, dtype=torch.float64)
    return RoadCurves(p, prob[:, :m], prob[:, m:], correct[:, :m], correct[:, m:])


def road_auc(p: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Normalized area under ROAD curves: the trapezoid area over p divided by the span p[-1] − p[0].

    A constant curve c gives c (the span is 0.8 for p = 0.1, ..., 0.9).

    Args:
        p: the percentages, P increasing values (P ≥ 2).
        curves: N x P, real.

    Returns:
        Areas, N, float64.

    Example:
        >>> road_auc(torch.tensor([.25, .5, .75]), torch.tensor([[.5, .5, .5], [1., 1., 0.]])).tolist()
        [0.5, 0.75]
    """
    return auc(p, curves) / (p[-1] - p[0]).item()


def road_combined(morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
    """ROAD's combined score per sample: mean_p (LeRF(p) − MoRF(p)) / 2 (higher = more faithful).

    Args:
        morf: MoRF curves, N x P, floating.
        lerf: LeRF curves, morf's shape.

    Returns:
        The score, N, morf's dtype, in [-0.5, 0.5] for probabilities or correctness.

    Example:
        >>> road_combined(torch.tensor([[0., .5]]), torch.tensor([[1., 1.]])).tolist()
        [0.375]
    """
    return ((lerf - morf) / 2).mean(-1)
