"""Pure tensor helpers shared by every metric: channel pooling, per-sample minmax, exact ranking with seeded
ties, per-index random streams, chunking.

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


# The per-index random streams, one domain per use, so no two uses ever draw from the same generator.
Domain = Literal["ties", "road-noise", "explainer", "roar-random"]
DOMAINS: tuple[str, ...] = ("ties", "road-noise", "explainer", "roar-random")


def index_generator(domain: Domain, seed: int, index: int) -> torch.Generator:
    """A CPU generator seeded from (domain, seed, dataset index) only, so a sample's randomness ignores batch
    size and order; each use has its own ``domain`` (``DOMAINS``), so the streams never overlap."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown random-stream domain {domain!r}; choose from {', '.join(DOMAINS)}")
    digest = hashlib.sha256(f"xaibench-{domain}:{int(seed)}:{int(index)}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def index_draws(domain: Domain, seed: int, index: torch.Tensor,
                draw: Callable[[torch.Generator], torch.Tensor]) -> torch.Tensor:
    """``draw(generator)`` once per dataset index with that index's ``index_generator``, stacked (N x ..., CPU).
    The one way every metric and explainer draws per-sample randomness.

    >>> def normal(g): return torch.randn(2, generator=g)
    >>> z = index_draws("road-noise", 0, torch.tensor([3, 4]), normal)
    >>> z.shape, torch.equal(z[1], index_draws("road-noise", 0, torch.tensor([4]), normal)[0])
    (torch.Size([2, 2]), True)
    """
    # One small draw per sample (not per batch): the only way to make it a function of the index alone.
    if not len(index):
        return draw(torch.Generator())[None][:0]  # the shape and dtype of one draw, no rows
    return torch.stack([draw(index_generator(domain, seed, i)) for i in index.cpu().tolist()])


def rank_order(R: torch.Tensor, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """Each sample's elements, most relevant first: flat positions (N x D, long, D = R[0].numel()) by decreasing
    exact value. Only exactly equal values are ordered at random, by a permutation seeded by (``tie_seed``, dataset
    index), so a constant map ranks at random and the order ignores batch size and order. ``index`` defaults to
    0..N-1. Spec: METRICS.md §0; every ranking metric ranks through here.

    >>> R = torch.tensor([[3., 1., 2., 1e-5, 0.]])
    >>> rank_order(R).tolist()  # distinct values keep their exact order, however close
    [[0, 2, 1, 3, 4]]
    >>> ties = torch.ones(2, 6)
    >>> torch.equal(rank_order(ties, torch.tensor([7, 8]))[1], rank_order(ties[:1], torch.tensor([8]))[0])
    True
    """
    flat = R.flatten(1)
    index = sample_index(index, len(flat))
    d = flat.shape[1]
    # A seeded shuffle, then a stable sort by value: equal values keep their shuffled (random) order.
    perm = index_draws("ties", tie_seed, index, lambda g: torch.randperm(d, generator=g)).to(flat.device)
    return perm.gather(1, flat.gather(1, perm).argsort(dim=1, descending=True, stable=True))


def rank_positions(R: torch.Tensor, index: torch.Tensor | None = None, tie_seed: int = 0) -> torch.Tensor:
    """Each element's place in ``rank_order`` (long, R's shape; 0 = most relevant): the top-k are ``pos < k``.

    >>> rank_positions(torch.tensor([[[3., 1.], [2., 4.]]])).tolist()
    [[[1, 3], [2, 0]]]
    """
    order = rank_order(R, index, tie_seed)
    places = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, places).view(R.shape)


def sample_index(index: torch.Tensor | None, n: int) -> torch.Tensor:
    """The dataset indices of n samples: ``index``, or 0..n-1 when None (fixed before chunking, so a chunk's
    random draws are those of its samples' own indices)."""
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
