"""Training FLOPs, counted: the cost column of the leaderboard (ERRATA "Cost"; docs/METRICS.md §11).

`FlopCounter` is a dispatch mode that adds up the FLOPs of every matrix product, convolution and attention
call that runs while it is active, forward and backward (2 FLOPs per multiply-add), with the formulas of
``torch.utils.flop_counter`` (the ones `FlopCounterMode` uses), plus formulas for the CPU kernels it has none
for: the oneDNN LSTM/GRU layer and CPU flash attention. Elementwise work (activations, norms, the optimizer
step) is not counted, as in `FlopCounterMode`. A count depends only on the shapes the code runs (and, for packed
sequences, their lengths), never on timing, so it is the same on every rerun, resume, executor and CPU machine.

`FlopCounterMode` itself is not used because its module tracker breaks ``torch.autograd.grad`` on leaf inputs
(pytorch/pytorch#131753), which SGT, RRR and interpretable gradients call inside their loss, and because it
costs more per operation; the numbers are the same (tested on ERM, where both run).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from xaibench.record import Flops

aten = torch.ops.aten
VERSION = "1"  # bump when a formula or what is counted changes: counts of two versions are never compared


def _rnn_layer_flops(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor) -> int:
    """One direction of one recurrent layer over every step: x W_ih^T and h W_hh^T for each of the N·T
    (sample, step) pairs; ``x`` is N×T×I, T×N×I or packed (ΣT)×I."""
    steps = x.numel() // x.shape[-1]
    return 2 * steps * (w_ih.numel() + w_hh.numel())


def _mkldnn_rnn_layer(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, *args: Any, **kwargs: Any) -> int:
    return _rnn_layer_flops(x, w_ih, w_hh)


def _mkldnn_rnn_layer_backward(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, *args: Any,
                               **kwargs: Any) -> int:
    return 2 * _rnn_layer_flops(x, w_ih, w_hh)  # the kernel computes the input, hidden and weight gradients


def _raw(formula: Any) -> Any:
    """A formula of tensors and ``out_val``, as the registry's shape-wrapped ones are called."""
    return lambda *args, out_val=None, **kwargs: formula(*args, **kwargs)


FORMULAS: dict[Any, Any] = {
    **flop_registry,
    aten.mkldnn_rnn_layer: _raw(_mkldnn_rnn_layer),
    aten.mkldnn_rnn_layer_backward: _raw(_mkldnn_rnn_layer_backward),
    # torch's flash-attention formulas: forward as the math path's bmm's, backward with the recomputed scores
    aten._scaled_dot_product_flash_attention_for_cpu: flop_registry[aten._scaled_dot_product_flash_attention],
    aten._scaled_dot_product_flash_attention_for_cpu_backward:
        flop_registry[aten._scaled_dot_product_flash_attention_backward],
}


class FlopCounter(TorchDispatchMode):
    """Adds the FLOPs of the counted operations run while active to ``total`` (an int: exact).

    >>> layer = torch.nn.Linear(3, 2)
    >>> with FlopCounter() as c:
    ...     layer(torch.ones(5, 3, requires_grad=True)).sum().backward()
    >>> c.total  # forward 2·5·3·2, backward twice that (input and weight gradients)
    180
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = FORMULAS.get(func._overloadpacket)
        if formula is not None:
            self.total += int(formula(*args, **kwargs, out_val=out))
        return out


def flops_record(flops: int, wall_time_s: float) -> Flops:
    """The training record's ``flops`` entry: the count, the throughput (FLOPs over wall time; None without a
    time) and the counting convention's version (two versions' counts are never compared).

    >>> flops_record(3_000_000, 1.5)
    {'total': 3000000, 'per_s': 2000000.0, 'version': '1'}
    """
    per_s = flops / wall_time_s if wall_time_s > 0 and math.isfinite(wall_time_s) else None
    return {"total": int(flops), "per_s": per_s, "version": VERSION}
