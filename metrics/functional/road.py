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
    """ROAD's linear imputation (no noise) of images x (N x C x H x W) at ``removed`` pixels (bool, N x H x W, or
    N x S x H x W for S removal sets per image -> N x S x C x H x W). Known pixels are returned unchanged."""
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
    """z ~ N(0, 1) of ``shape`` per sample (N x *shape, float32, CPU) from the "road-noise" stream of (seed,
    dataset index) only, so the noise does not depend on batch size or order."""
    return index_draws("road-noise", seed, index, lambda g: torch.randn(tuple(shape), generator=g))


def noisy_linear_imputation(x: torch.Tensor, removed: torch.Tensor, *, noise_std: float = 0.01, seed: int = 0,
                            index: torch.Tensor | None = None, tol: float = 1e-6) -> torch.Tensor:
    """``linear_imputation`` plus N(0, noise_std²) on the imputed pixels only (seeded, no clamp).

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
    """Per-sample ROAD curves over ``p`` (P): p_c and correctness after MoRF / LeRF removal, each N x P float64."""

    p: torch.Tensor
    morf_prob: torch.Tensor
    lerf_prob: torch.Tensor
    morf_correct: torch.Tensor
    lerf_correct: torch.Tensor

    def curves(self, score: str = "prob") -> tuple[torch.Tensor, torch.Tensor]:
        """(MoRF, LeRF) curves of ``score``: "prob" (p_c) or "accuracy" (correctness)."""
        if score == "prob":
            return self.morf_prob, self.lerf_prob
        if score == "accuracy":
            return self.morf_correct, self.lerf_correct
        raise ValueError(f"unknown ROAD score {score!r}; choose from prob, accuracy")


def removal_counts(hw: int, percentages: Sequence[float]) -> list[int]:
    """k = ⌊p·HW⌋ per p (the 1e-9 absorbs binary representation error: 0.29 * 100 is 28.999...)."""
    return [math.floor(p * hw + 1e-9) for p in percentages]


def removal_sets(pos: torch.Tensor, percentages: Sequence[float]) -> torch.Tensor:
    """Bool N x 2P x H x W from the pixels' ranks ``pos`` (N x H x W, 0 = most relevant, ``maps.rank_positions``):
    MoRF(p) = the top ⌊p·HW⌋ pixels, then LeRF(p) = the ⌊p·HW⌋ lowest."""
    n, h, w = pos.shape
    hw = h * w
    k = torch.tensor(removal_counts(hw, percentages), device=pos.device).view(1, -1, 1)
    pos = pos.flatten(1).unsqueeze(1)
    return torch.cat([pos < k, pos >= hw - k], 1).view(n, -1, h, w)


def road_curves(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor,
                labels: torch.Tensor | None = None, *, index: torch.Tensor | None = None,
                percentages: Sequence[float] = PERCENTAGES, pooling: Pooling = "sum,abs", noise_std: float = 0.01,
                seed: int = 0, tie_seed: int = 0, eval_batch_size: int = 256) -> RoadCurves:
    """MoRF and LeRF curves of p_``target`` and of 1[argmax = ``labels``] (None = the clean prediction).

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
    """Trapezoid area over p divided by the span of p (0.8 for p = 0.1, ..., 0.9): a constant curve c gives c."""
    return auc(p, curves) / (p[-1] - p[0]).item()


def road_combined(morf: torch.Tensor, lerf: torch.Tensor) -> torch.Tensor:
    """mean_p (LeRF(p) - MoRF(p)) / 2 per sample."""
    return ((lerf - morf) / 2).mean(-1)
