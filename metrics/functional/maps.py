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
    """Pool attributions over channels into one relevance map R per sample (METRICS.md §0).

    Args:
        A: attributions, N x C x H x W (or N x H x W, taken as C = 1), floating.
        mode: the channel reduction, default ``"sum,abs"``: ``sum,abs`` |Σ_c A|, ``sum,pos`` max(0, Σ_c A), ``sum``
            Σ_c A, ``max-norm`` max_c |A|, ``l1-norm`` Σ_c |A|, ``l2-norm`` (Σ_c A²)^½, ``l2-norm,sq`` Σ_c A².

    Returns:
        R, N x H x W, A's dtype and device.

    Raises:
        ValueError: ``mode`` is not one of ``POOLINGS``.

    Example:
        >>> A = torch.tensor([[[[1., -3.]], [[2., 1.]]]])  # N=1, C=2, H=1, W=2
        >>> pool(A, "sum").tolist(), pool(A, "l1-norm").tolist(), pool(A[:, 0]).shape
        ([[[3.0, -2.0]]], [[[3.0, 4.0]]], torch.Size([1, 1, 2]))
    """
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
    """Flag the samples whose map is constant (recorded as ``degenerate_map``).

    Args:
        m: maps, N x ... (any trailing shape), real.

    Returns:
        Bool, N: True where the sample's max equals its min.

    Example:
        >>> degenerate(torch.tensor([[[1., 1.]], [[0., 2.]]])).tolist()
        [True, False]
    """
    flat = m.flatten(1)
    return flat.amax(1) == flat.amin(1)


def minmax(m: torch.Tensor) -> torch.Tensor:
    """Rescale each sample's map to [0, 1]: S = (m − min) / (max − min), min and max over the sample.

    A constant map has no range: it becomes all 1 if its value is > 0, else all 0 (never 0/0).

    Args:
        m: maps, N x ... (any trailing shape), real.

    Returns:
        S, m's shape, float64, on m's device.

    Example:
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
    """A CPU generator seeded from (domain, seed, dataset index) only.

    A sample's randomness so ignores batch size and order, and each use has its own ``domain``, so no two uses draw
    from the same stream. The seed is the first 63 bits of SHA-256 of ``"xaibench-{domain}:{seed}:{index}"``.

    Args:
        domain: the use that draws, one of ``DOMAINS``.
        seed: that use's seed (``tie_seed``, ROAD's noise seed, ...).
        index: the sample's dataset index.

    Returns:
        A seeded ``torch.Generator`` on the CPU.

    Raises:
        ValueError: ``domain`` is not one of ``DOMAINS``.

    Example:
        >>> def draw(domain): return torch.rand(2, generator=index_generator(domain, 0, 5))
        >>> torch.equal(draw("ties"), draw("ties")), torch.equal(draw("ties"), draw("road-noise"))
        (True, False)
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown random-stream domain {domain!r}; choose from {', '.join(DOMAINS)}")
    digest = hashlib.sha256(f"xaibench-{domain}:{int(seed)}:{int(index)}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def index_draws(domain: Domain, seed: int, index: torch.Tensor,
                draw: Callable[[torch.Generator], torch.Tensor]) -> torch.Tensor:
    """Draw once per dataset index, each with that index's own ``index_generator``, and stack the draws.

    The one way every metric and explainer draws per-sample randomness.

    Args:
        domain: the use's stream, one of ``DOMAINS``.
        seed: the use's seed.
        index: dataset indices, N, integer dtype, any device.
        draw: makes one sample's tensor from a generator; every call gives the same shape and dtype.

    Returns:
        N x (draw's shape), draw's dtype, on the CPU; no rows (same trailing shape) when ``index`` is empty.

    Example:
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
    """Each sample's elements, most relevant first: the exact ranking of METRICS.md §0.

    Flat positions by decreasing exact value. Only exactly equal values are ordered at random, by a permutation
    seeded by (``tie_seed``, dataset index), so a constant map ranks at random and the order ignores batch size and
    order. Every ranking metric ranks through here.

    Args:
        R: scores, N x ... (any trailing shape; D = R[0].numel() elements per sample), real.
        index: the samples' dataset indices, N, integer dtype; default None = 0..N-1.
        tie_seed: seed of the tie-breaking permutations (stream ``"ties"``), default 0.

    Returns:
        Positions into ``R[i].flatten()``, N x D, long, on R's device.

    Example:
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
    """Each element's place in ``rank_order`` (0 = most relevant), so a sample's top-k elements are ``pos < k``.

    Args:
        R: scores, N x ... (any trailing shape), real.
        index: the samples' dataset indices, N, integer dtype; default None = 0..N-1.
        tie_seed: seed of the tie-breaking permutations, default 0.

    Returns:
        Places, R's shape, long, on R's device; each sample's places are a permutation of 0..D-1.

    Example:
        >>> rank_positions(torch.tensor([[[3., 1.], [2., 4.]]])).tolist()
        [[[1, 3], [2, 0]]]
    """
    order = rank_order(R, index, tie_seed)
    places = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, places).view(R.shape)


def sample_index(index: torch.Tensor | None, n: int) -> torch.Tensor:
    """The dataset indices of n samples: ``index``, or 0..n-1 when it is None.

    Fixed before chunking, so a chunk's random draws are those of its samples' own indices.

    Args:
        index: dataset indices, n, integer dtype, or None.
        n: the number of samples.

    Returns:
        ``index`` itself, or ``torch.arange(n)`` (long, CPU).

    Example:
        >>> sample_index(None, 3).tolist(), sample_index(torch.tensor([7, 2]), 2).tolist()
        ([0, 1, 2], [7, 2])
    """
    return torch.arange(n) if index is None else index


def chunk_size(per_sample: int, multiple: int = 1) -> int:
    """Samples per chunk: the largest multiple of ``multiple`` whose samples fit in ``CHUNK_ELEMENTS`` elements.

    size = max(1, ⌊⌊CHUNK_ELEMENTS / per_sample⌋ / multiple⌋) · multiple, so a chunk holds at least ``multiple``.

    Args:
        per_sample: elements of one sample's work arrays (0 counts as 1).
        multiple: the size is a multiple of this, default 1 (metrics pass the samples that fill whole forward passes).

    Returns:
        The chunk size, an int ≥ ``multiple``.

    Example:
        >>> chunk_size(784), chunk_size(784, multiple=256), chunk_size(10**7)
        (1337, 1280, 1)
    """
    return max(1, CHUNK_ELEMENTS // max(per_sample, 1) // multiple) * multiple


def chunked(fn: Callable[[slice], T], n: int, size: int) -> T:
    """Run ``fn`` on consecutive slices of samples and concatenate its results along dim 0.

    Every metric's chunking goes through here. The output is allocated once, with the first chunk's trailing
    shapes, dtypes and devices.

    Args:
        fn: maps a slice of sample positions to a tensor, or a tuple of tensors, with one row per sample.
        n: the number of samples (n = 0 runs ``fn`` once on the empty slice, for the shapes).
        size: samples per slice, ≥ 1.

    Returns:
        fn's output over range(n): a tensor n x ..., or a tuple of them.

    Example:
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
    """Decorator: run a per-sample kernel on chunks of samples and concatenate its rows.

    For a kernel whose output row i depends on row i of its ``names`` arguments (and of ``index``) only. A chunk
    holds ``chunk_size`` of one sample of the first named argument, so memory does not grow with N; an ``index``
    left None becomes 0..N-1 before chunking, so per-index random draws ignore the chunking.

    Args:
        names: the kernel's per-sample arguments (N rows each; a None value passes through whole).

    Returns:
        The decorator. The wrapped kernel keeps the kernel's signature and raises ValueError when the named
        arguments (or ``index``) do not all have N rows.

    Example:
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
