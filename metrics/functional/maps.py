"""Pure tensor helpers shared by every metric: channel pooling, per-sample minmax, ranking with tie noise.

Spec: METRICS.md §0.

>>> A = torch.tensor([[[[1., -3.]], [[2., 1.]]]])  # N=1, C=2, H=1, W=2
>>> pool(A).tolist(), pool(A, "max-norm").tolist()
([[[3.0, 2.0]]], [[[2.0, 3.0]]])
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import math
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import torch

Pooling = Literal["sum,abs", "sum,pos", "sum", "max-norm", "l1-norm", "l2-norm", "l2-norm,sq"]
POOLINGS: tuple[str, ...] = ("sum,abs", "sum,pos", "sum", "max-norm", "l1-norm", "l2-norm", "l2-norm,sq")
TIE_NOISE = 1e-4
# Per-sample work arrays (pooled maps, rankings, sorts, masks) are built for about this many input elements at a
# time, so a metric's memory beyond its inputs and outputs does not grow with the number of samples.
CHUNK_ELEMENTS = 2**20
EXPLAIN_BATCH = 128  # samples per explainer call inside a metric (MPRT, mean shift): the harness's default batch
T = TypeVar("T")


def pool(A: torch.Tensor, mode: Pooling = "sum,abs") -> torch.Tensor:
    """Pool attributions N x C x H x W (or N x H x W, taken as C = 1) over channels to one N x H x W map."""
    if A.dim() == 3:
        A = A.unsqueeze(1)
    if mode == "sum,abs":
        return A.sum(1).abs()
    if mode == "sum,pos":
        return A.sum(1).clamp(min=0)
    if mode == "sum":
        return A.sum(1)
    if mode == "max-norm":
        return A.abs().amax(1)
    if mode == "l1-norm":
        return A.abs().sum(1)
    if mode == "l2-norm":
        return A.pow(2).sum(1).sqrt()
    if mode == "l2-norm,sq":
        return A.pow(2).sum(1)
    raise ValueError(f"unknown pooling {mode!r}; choose from {', '.join(POOLINGS)}")


def degenerate(m: torch.Tensor) -> torch.Tensor:
    """Bool per sample: the map is constant (flagged ``degenerate_map``)."""
    flat = m.flatten(1)
    return flat.amax(1) == flat.amin(1)


def minmax(m: torch.Tensor) -> torch.Tensor:
    """Per-sample (m - min) / (max - min) in float64; a constant map becomes 1 if its value is > 0, else 0.

    >>> minmax(torch.tensor([[1., 3.], [2., 2.], [-1., -1.]])).tolist()
    [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]
    """
    flat = m.flatten(1).double()
    lo, hi = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
    const = hi == lo
    # Guard the division: constant rows get their fixed value below, not 0/0.
    out = (flat - lo) / torch.where(const, torch.ones_like(hi), hi - lo)
    out = torch.where(const, (lo > 0).double().expand_as(out), out)
    return out.view(m.shape)


def index_generator(domain: str, seed: int, index: int) -> torch.Generator:
    """A CPU generator seeded from (domain, seed, dataset index) only, so a sample's randomness ignores batch
    size and order; ``domain`` keeps independent streams (tie noise, explainer noise) apart."""
    digest = hashlib.sha256(f"xaibench-{domain}:{int(seed)}:{int(index)}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def tie_generator(tie_seed: int, index: int) -> torch.Generator:
    """The generator of a sample's ranking tie noise."""
    return index_generator("ties", tie_seed, index)


def tie_noise(shape: tuple[int, int], index: torch.Tensor, tie_seed: int = 0) -> torch.Tensor:
    """z ~ N(0, 1) of ``shape`` per sample, float64 on the CPU, one generator per dataset index."""
    # One small draw per sample (not per forward pass): the only way to make z a function of the index alone.
    return torch.stack([torch.randn(shape, generator=tie_generator(tie_seed, i), dtype=torch.float64)
                        for i in index.tolist()]) if len(index) else torch.zeros(0, *shape, dtype=torch.float64)


def rank_scores(R: torch.Tensor, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """Ranking scores r = minmax(R) + 1e-4 * z (float64, N x H x W); ``index`` defaults to 0..N-1.

    A constant map ranks at random; a permuted batch with its indices gives the permuted scores.

    >>> R = torch.ones(2, 3, 3)
    >>> r = rank_scores(R, torch.tensor([7, 8]))
    >>> torch.equal(r[1], rank_scores(R[:1], torch.tensor([8]))[0]), bool((r - 1).abs().max() < 1e-2)
    (True, True)
    """
    if index is None:
        index = torch.arange(len(R))
    z = tie_noise(tuple(R.shape[-2:]), index.cpu(), tie_seed).to(R.device)
    return minmax(R) + TIE_NOISE * z


def sample_index(index: torch.Tensor | None, n: int) -> torch.Tensor:
    """The dataset indices of n samples: ``index``, or 0..n-1 when None (fixed before chunking, so a chunk's
    tie noise is drawn for its samples' own indices)."""
    return torch.arange(n) if index is None else index


def chunk_size(per_sample: int, multiple: int = 1) -> int:
    """Samples per chunk: the largest multiple of ``multiple`` (at least one) whose ``per_sample`` elements each
    fit in ``CHUNK_ELEMENTS``.

    >>> chunk_size(784), chunk_size(784, multiple=256), chunk_size(10**7)
    (1337, 1280, 1)
    """
    return max(1, CHUNK_ELEMENTS // max(per_sample, 1) // multiple) * multiple


def chunked(fn: Callable[[slice], T], n: int, size: int) -> T:
    """``fn(slice)`` for consecutive slices of ``size`` samples covering range(n) (one empty slice if n = 0), the
    results (tensors, or tuples of tensors) concatenated along dim 0. Every metric's chunking goes through here.

    >>> chunked(lambda sl: torch.arange(10)[sl] * 2, 10, 4).tolist()
    [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    """
    out: tuple[torch.Tensor, ...] = ()
    for lo in range(0, max(n, 1), size):
        part = fn(slice(lo, min(lo + size, n)))
        parts = part if isinstance(part, tuple) else (part,)
        if not out:  # allocated once, up front: per-chunk results kept alive would fragment the heap
            out = tuple(p.new_empty((n, *p.shape[1:])) for p in parts)
        for o, p in zip(out, parts):
            o[lo:lo + len(p)] = p
    return out if isinstance(part, tuple) else out[0]  # type: ignore[return-value]


def per_sample_chunks(*names: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator of a kernel whose output row i depends on row i of its ``names`` arguments (and of ``index``)
    only: it runs on chunks of samples (``chunk_size`` of one sample of the first named argument) and the rows are
    concatenated. The named arguments must have the same number of rows (None passes through); an ``index`` left
    None becomes 0..N-1 before chunking.

    >>> @per_sample_chunks("a", "b")
    ... def add(a, b):
    ...     return a.flatten(1).sum(1) + b
    >>> add(torch.ones(3, 2), b=torch.arange(3.)).tolist()
    [2.0, 3.0, 4.0]
    """
    def decorate(kernel: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(kernel)

        @functools.wraps(kernel)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            kw = bound.arguments
            first = kw[names[0]]
            n = len(first)
            if "index" in kw:
                kw["index"] = sample_index(kw["index"], n)
            rows = [k for k in (*names, "index") if k in kw and kw[k] is not None]
            for k in rows:
                if len(kw[k]) != n:
                    raise ValueError(f"{k} has {len(kw[k])} samples but {names[0]} has {n}")
            size = chunk_size(math.prod(first.shape[1:]))
            return chunked(lambda sl: kernel(**{**kw, **{k: kw[k][sl] for k in rows}}), n, size)
        return wrapper
    return decorate
