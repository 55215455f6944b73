"""Text kernels on token ids (0 = padding): ERASER comprehensiveness and sufficiency, token AUPRC. Spec: METRICS.md §6.

Attributions are embedding-level (N x L x E, taken at the model's embedding layer) or already token-level
(N x L); token scores pool the embedding dim as the image metrics pool channels (§0). Padding is never ranked,
removed or scored.

>>> x = torch.tensor([[5, 6, 7, 8, 0]])
>>> A = torch.tensor([[[1., -4.], [2., 0.], [0., 0.], [-1., 0.], [9., 9.]]])  # N x L x E
>>> token_scores(A, x).tolist()
[[3.0, 2.0, 0.0, 1.0, 0.0]]
>>> erase(x, torch.tensor([[True, False, True, True, False]])).tolist()  # delete token 6, re-pad at the end
[[5, 7, 8, 0, 0]]
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from .faithfulness import model_device
from .maps import Pooling, chunk_size, chunked, per_sample_chunks, pool, rank_positions, sample_index

PAD = 0
BINS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)
AopcNorm = Literal["bins", "eraser"]


def token_scores(A: torch.Tensor, x: torch.Tensor, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """One relevance score per token: the attributions pooled over the embedding dim, 0 on padding.

    Args:
        A: attributions, N x L x E (embedding level; pooled over E as images pool channels) or N x L (token level,
            used as is), floating.
        x: token ids, N x L, integer dtype (0 = padding).
        pooling: pooling over E (``maps.pool``), default ``"sum,abs"``.

    Returns:
        Scores, N x L, float64, 0 at padding positions.

    Raises:
        ValueError: A's leading dims are not x's, or A is not 2-D or 3-D.

    Example:
        >>> x = torch.tensor([[5, 6, 0]])
        >>> token_scores(torch.tensor([[[1., -4.], [2., 0.], [9., 9.]]]), x, "sum").tolist()
        [[-3.0, 2.0, 0.0]]
    """
    if A.shape[:2] != x.shape or A.dim() not in (2, 3):
        raise ValueError(f"attributions of shape {tuple(A.shape)} do not match token ids {tuple(x.shape)}: "
                         "expected N x L x E (embedding level) or N x L")
    # pool() reduces axis 1 of N x C x H x W: put the embedding dim there, with a unit W axis.
    R = A.double() if A.dim() == 2 else pool(A.movedim(-1, 1).unsqueeze(-1), pooling).squeeze(-1).double()
    return R.masked_fill(x.to(R.device) == PAD, 0.0)


def token_ranks(R: torch.Tensor, x: torch.Tensor, *, index: torch.Tensor | None = None,
                tie_seed: int = 0) -> torch.Tensor:
    """Rank of each token in its document (0 = most relevant) by §0's exact ranking of R; padding ranks last.

    Exact ties are ordered by the seeded permutation of (``tie_seed``, dataset index) (``maps.rank_positions``).

    Args:
        R: token scores, N x L, real, finite (``token_scores``).
        x: token ids, N x L (0 = padding).
        index: the documents' dataset indices, N, long; default None = 0..N-1.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        Ranks, N x L, long, on R's device; a document's ranks are a permutation of 0..L-1.

    Example:
        >>> token_ranks(torch.tensor([[1., 3., 2., 0.]]), torch.tensor([[4, 4, 4, 0]])).tolist()
        [[2, 0, 1, 3]]
    """
    tokens = x.to(R.device) != PAD
    # Scores are finite (attributions are checked), so -inf puts padding after every token.
    return rank_positions(R.masked_fill(~tokens, -torch.inf), index, tie_seed)


def bin_sizes(lengths: torch.Tensor, bins: Sequence[float] = BINS) -> torch.Tensor:
    """Tokens removed or kept per document and bin: k_b = max(1, ⌈b · L⌉), at most L (ERASER's bins).

    b · L is rounded to 9 decimals first, so 0.1 · 30 (3.0000000000000004 in binary) gives 3, not 4.

    Args:
        lengths: tokens per document L (padding excluded), N, integer dtype.
        bins: the fractions b, B values in (0, 1], default ``BINS`` (0.01, 0.05, 0.1, 0.2, 0.5).

    Returns:
        k, N x B, long, on lengths' device (0 for an empty document).

    Example:
        >>> bin_sizes(torch.tensor([10, 30, 200])).tolist()
        [[1, 1, 1, 2, 5], [1, 2, 3, 6, 15], [2, 10, 20, 40, 100]]
    """
    b = torch.as_tensor(bins, dtype=torch.float64, device=lengths.device)
    L = lengths.double().unsqueeze(1)
    # Round the product first: 0.1 * 30 is 3.0000000000000004 in binary, and must give 3, not 4.
    k = torch.ceil((b * L).round(decimals=9)).clamp(min=1)
    return torch.minimum(k, L).long()


def erase(x: torch.Tensor, keep: torch.Tensor, mask_token: int | None = None) -> torch.Tensor:
    """Documents with only the tokens where ``keep`` is true: the others deleted, or replaced by ``mask_token``.

    Deleted tokens close up, in their original order, and the document is re-padded at the end; with
    ``mask_token`` the removed tokens are overwritten in place. Padding stays padding.

    Args:
        x: token ids, N x L, integer dtype (0 = padding).
        keep: which tokens stay, N x L, bool.
        mask_token: the id that replaces removed tokens (≥ 1); default None = delete them.

    Returns:
        Token ids, x's shape, dtype and device.

    Example:
        >>> x, keep = torch.tensor([[5, 6, 7, 0]]), torch.tensor([[True, False, True, False]])
        >>> erase(x, keep).tolist(), erase(x, keep, mask_token=1).tolist()
        ([[5, 7, 0, 0]], [[5, 1, 7, 0]])
    """
    tokens = x != PAD
    if mask_token is not None:
        return torch.where(tokens & ~keep, torch.full_like(x, mask_token), x)
    keep = keep & tokens
    # Stable sort on "dropped" moves the kept tokens to the front in their original order.
    order = (~keep).to(torch.uint8).argsort(dim=1, stable=True)
    kept = x.gather(1, order)
    return kept.masked_fill(torch.arange(x.shape[1], device=x.device) >= keep.sum(1, keepdim=True), PAD)


@torch.no_grad()
def erasure_probabilities(model: nn.Module, x: torch.Tensor, ranks: torch.Tensor, ks: torch.Tensor,
                          target: torch.Tensor, *, keep_top: bool, mask_token: int | None = None,
                          eval_batch_size: int = 256) -> torch.Tensor:
    """The target's probability on each document with its top-k tokens removed, or with only them kept.

    For each column j of ``ks``, the tokens of rank < ks[:, j] are removed (``keep_top=False``) or are the only ones
    kept (``keep_top=True``), by ``erase``. All N·K documents are built per batch of ``eval_batch_size`` and run on
    the model's device.

    Args:
        model: text classifier, N x L token ids -> N x K' logits.
        x: token ids, N x L (0 = padding).
        ranks: each token's rank, N x L, long (``token_ranks``).
        ks: token counts, N x K, long (``bin_sizes`` and extra columns).
        target: class per document, N, long.
        keep_top: keep the top-k tokens (sufficiency) instead of removing them (comprehensiveness).
        mask_token: replace removed tokens by this id instead of deleting them; default None.
        eval_batch_size: documents per forward pass, default 256.

    Returns:
        p_target, N x K, float64, on the model's device.

    Example:
        >>> model = torch.nn.EmbeddingBag.from_pretrained(torch.eye(10)[:, [9, 5]], mode="sum")  # (0, number of 5s)
        >>> x = torch.tensor([[5, 3, 3, 0]])
        >>> ranks, ks = torch.tensor([[0, 1, 2, 3]]), torch.tensor([[0, 1]])
        >>> erasure_probabilities(model, x, ranks, ks, torch.tensor([1]), keep_top=False).tolist()  # σ(1), σ(0)
        [[0.7310585786300049, 0.5]]
    """
    device = model_device(model, x)
    x, ranks, ks, target = x.to(device), ranks.to(device), ks.to(device), target.to(device)
    n, K = ks.shape
    probs = torch.empty(n * K, dtype=torch.float64, device=device)
    for lo in range(0, n * K, eval_batch_size):
        p = torch.arange(lo, min(lo + eval_batch_size, n * K), device=device)
        i, j = p // K, p % K
        top = ranks[i] < ks[i, j].unsqueeze(1)
        docs = erase(x[i], top if keep_top else ~top, mask_token)
        probs[p] = model(docs).double().softmax(-1).gather(1, target[i].view(-1, 1)).squeeze(1)
    return probs.view(n, K)


def check_erasure_params(mask_token: int | None, bins: Sequence[float], aopc_norm: str = "bins") -> None:
    """Check the ERASER parameters before any work.

    Args:
        mask_token: the replacement id, ≥ 1, or None (delete tokens).
        bins: the fractions, nonempty, each in (0, 1].
        aopc_norm: ``"bins"`` (default) or ``"eraser"``.

    Returns:
        None.

    Raises:
        ValueError: one line naming the bad parameter and its value.

    Example:
        >>> check_erasure_params(None, [0.5, 1.0])
        >>> check_erasure_params(0, [0.5])
        Traceback (most recent call last):
        ...
        ValueError: mask_token=0: need a token id >= 1 (0 is padding; unset deletes tokens)
    """
    if aopc_norm not in ("bins", "eraser"):
        raise ValueError(f"unknown aopc_norm {aopc_norm!r}; choose from bins, eraser")
    if mask_token is not None and mask_token < 1:
        raise ValueError(f"mask_token={mask_token}: need a token id >= 1 (0 is padding; unset deletes tokens)")
    if not bins or not all(0 < b <= 1 for b in bins):
        raise ValueError(f"bins={list(bins)}: need fractions in (0, 1]")


def _aopc(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *, sufficiency: bool,
          index: torch.Tensor | None, bins: Sequence[float], pooling: Pooling, mask_token: int | None,
          aopc_norm: AopcNorm, eval_batch_size: int, tie_seed: int) -> torch.Tensor:
    check_erasure_params(mask_token, bins, aopc_norm)
    if len(A) != len(x) or len(target) != len(x):
        raise ValueError(f"{len(x)} documents but {len(A)} attributions and {len(target)} targets")
    index = sample_index(index, len(x))
    # Column 0 gives p_c(x): removing k = 0 tokens (comp), or keeping all L of them (suff).
    # ERASER's k = 0 term: 0 for comp (the same document), p_c(x) - p_c(empty) for suff (keep k = 0 tokens).
    n_cols = 1 + (sufficiency and aopc_norm == "eraser") + len(bins)
    n_terms = len(bins) + (aopc_norm == "eraser")

    def run(sl: slice) -> torch.Tensor:
        xs = x[sl]
        lengths = (xs != PAD).sum(1)
        ranks = token_ranks(token_scores(A[sl], xs, pooling), xs, index=index[sl], tie_seed=tie_seed)
        zero = torch.zeros_like(lengths).unsqueeze(1)
        extra = [zero] if n_cols > 1 + len(bins) else []
        first = lengths.unsqueeze(1) if sufficiency else zero
        probs = erasure_probabilities(model, xs, ranks, torch.cat([first, *extra, bin_sizes(lengths, bins)], 1),
                                      target[sl], keep_top=sufficiency, mask_token=mask_token,
                                      eval_batch_size=eval_batch_size)
        value = (probs[:, :1] - probs[:, 1:]).sum(1) / n_terms
        return torch.where(lengths.to(value.device) > 0, value, torch.nan)

    # Whole forward passes per chunk (a multiple of eval_batch_size / gcd(columns, eval_batch_size) documents):
    # the model sees the batches of one unchunked call.
    return chunked(run, len(x), chunk_size(math.prod(A.shape[1:]) + x.shape[1],
                                           multiple=eval_batch_size // math.gcd(n_cols, eval_batch_size)))


def comprehensiveness(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                      index: torch.Tensor | None = None, bins: Sequence[float] = BINS, pooling: Pooling = "sum,abs",
                      mask_token: int | None = None, aopc_norm: AopcNorm = "bins", eval_batch_size: int = 256,
                      tie_seed: int = 0) -> torch.Tensor:
    """ERASER comprehensiveness (DeYoung et al. 2020) per document (higher is better).

    comp = mean_b [p_c(x) − p_c(x without its top-k_b tokens)], k_b = ``bin_sizes``, tokens ranked by
    ``token_ranks`` of ``token_scores(A, x)``. ``aopc_norm="eraser"`` divides the sum by |B| + 1 instead (a k = 0
    term of 0). Documents are processed in chunks that fill whole forward passes.

    Args:
        model: text classifier, N x L token ids -> N x K logits.
        x: token ids, N x L, integer dtype (0 = padding).
        A: attributions, N x L x E or N x L.
        target: class per document, N, long.
        index: the documents' dataset indices (for the tie streams), N, long; default None = 0..N-1.
        bins: the fractions b, in (0, 1], default ``BINS`` (0.01, 0.05, 0.1, 0.2, 0.5).
        pooling: pooling over the embedding dim (``maps.pool``), default ``"sum,abs"``.
        mask_token: replace removed tokens by this id (≥ 1) instead of deleting them; default None.
        aopc_norm: ``"bins"`` (mean over the bins, default) or ``"eraser"``.
        eval_batch_size: documents per forward pass, default 256.
        tie_seed: seed of the tie-breaking order, default 0.

    Returns:
        comp, N, float64, in [-1, 1]; NaN for an empty document.

    Raises:
        ValueError: a bad parameter (``check_erasure_params``), or A or target without N rows.

    Example:
        >>> model = torch.nn.EmbeddingBag.from_pretrained(torch.eye(10)[:, [9, 5]], mode="sum")  # (0, number of 5s)
        >>> x, A = torch.tensor([[5, 3, 3, 3, 0], [0, 0, 0, 0, 0]]), torch.tensor([[4., 1., 2., 3., 0.]]).repeat(2, 1)
        >>> [round(v, 4) for v in comprehensiveness(model, x, A, torch.tensor([1, 1])).tolist()]  # σ(1) − σ(0); empty
        [0.2311, nan]
    """
    return _aopc(model, x, A, target, sufficiency=False, index=index, bins=bins, pooling=pooling,
                 mask_token=mask_token, aopc_norm=aopc_norm, eval_batch_size=eval_batch_size, tie_seed=tie_seed)


def sufficiency(model: nn.Module, x: torch.Tensor, A: torch.Tensor, target: torch.Tensor, *,
                index: torch.Tensor | None = None, bins: Sequence[float] = BINS, pooling: Pooling = "sum,abs",
                mask_token: int | None = None, aopc_norm: AopcNorm = "bins", eval_batch_size: int = 256,
                tie_seed: int = 0) -> torch.Tensor:
    """ERASER sufficiency (DeYoung et al. 2020) per document (lower is better).

    suff = mean_b [p_c(x) − p_c(only the top-k_b tokens, in their order)]. ``aopc_norm="eraser"`` adds the k = 0 term
    p_c(x) − p_c(empty document) and divides by |B| + 1.

    Args:
        model, x, A, target, index, bins, pooling, mask_token, aopc_norm, eval_batch_size, tie_seed: as in
            ``comprehensiveness``.

    Returns:
        suff, N, float64, in [-1, 1]; NaN for an empty document. Raises as ``comprehensiveness`` does.

    Example:
        >>> bag = torch.nn.EmbeddingBag.from_pretrained(torch.eye(10)[:, [9, 5]], mode="sum")  # logits (0, #5s)
        >>> x, A, c = torch.tensor([[5, 3, 3, 3, 0]]), torch.tensor([[4., 1., 2., 3., 0.]]), torch.tensor([1])
        >>> sufficiency(bag, x, A, c).item(), round(sufficiency(bag, x, A, c, aopc_norm="eraser").item(), 4)
        (0.0, 0.0385)
    """
    return _aopc(model, x, A, target, sufficiency=True, index=index, bins=bins, pooling=pooling,
                 mask_token=mask_token, aopc_norm=aopc_norm, eval_batch_size=eval_batch_size, tie_seed=tie_seed)


@per_sample_chunks("A", "x", "mask")
def token_auprc(A: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, *, pooling: Pooling = "sum,abs") -> torch.Tensor:
    """Area under the precision-recall curve of the token scores against the rationale, per document.

    sklearn's ``auc(recall, precision)`` of ``precision_recall_curve`` on the document's tokens (padding excluded),
    batched: one point per distinct score, trapezoids from (recall 0, precision 1). Constant scores give
    (1 + P/L) / 2 for P rationale tokens among L.

    Args:
        A: attributions, N x L x E or N x L.
        x: token ids, N x L, integer dtype (0 = padding).
        mask: the human rationale, N x L (> 0 = rationale token).
        pooling: pooling over the embedding dim (``maps.pool``), default ``"sum,abs"``.

    Returns:
        AUPRC, N, float64, in [0, 1]; NaN for a document without rationale tokens (or without tokens).

    Raises:
        ValueError: ``mask`` is not x's shape.

    Example:
        >>> x = torch.tensor([[3, 4, 5, 6, 0]]); mask = torch.tensor([[0., 1., 0., 1., 0.]])
        >>> token_auprc(torch.tensor([[.1, .9, .2, .8, 5.]]), x, mask).item()  # perfect ranking
        1.0
        >>> token_auprc(torch.ones(1, 5), x, mask).item()  # (1 + 2/4) / 2
        0.75
    """
    if mask.shape != x.shape:
        raise ValueError(f"rationale mask of shape {tuple(mask.shape)} does not match token ids {tuple(x.shape)}")
    R = token_scores(A, x, pooling)
    tokens = x.to(R.device) != PAD
    y = ((mask.to(R.device) > 0) & tokens).double()
    # Thresholds at each distinct score, descending: sort the tokens, padding last.
    scores, order = R.masked_fill(~tokens, -torch.inf).sort(dim=1, descending=True, stable=True)
    y, valid = y.gather(1, order), tokens.gather(1, order)
    tps = y.cumsum(1)
    seen = torch.arange(1, x.shape[1] + 1, device=R.device, dtype=torch.float64)
    precision, recall = tps / seen, tps / tps[:, -1:].clamp(min=1)
    # A point per distinct score (the last token of each group of ties), as sklearn's thresholds.
    last = valid.clone()
    last[:, :-1] &= (scores[:, :-1] != scores[:, 1:]) | ~valid[:, 1:]
    # Keep the points in order, then trapezoids from sklearn's appended start (recall 0, precision 1).
    pts = (~last).to(torch.uint8).argsort(dim=1, stable=True)
    last, precision, recall = last.gather(1, pts), precision.gather(1, pts), recall.gather(1, pts)
    precision = torch.cat([torch.ones_like(precision[:, :1]), precision], 1)
    recall = torch.cat([torch.zeros_like(recall[:, :1]), recall], 1)
    area = (last * recall.diff(dim=1) * (precision[:, 1:] + precision[:, :-1]) / 2).sum(1)
    return torch.where(tps[:, -1] > 0, area, torch.nan)
