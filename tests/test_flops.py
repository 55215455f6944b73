"""Training FLOPs (xaibench.flops, TrainingMethod.train_step): closed forms, FlopCounterMode's numbers, the kernels
it has no formula for, and the cost of SGT against ERM on the quick setting.

Convention (FlopCounterMode's): 2 FLOPs per multiply-add of matrix products, convolutions and attention; nothing
else. A layer's backward computes the weight gradient (its forward's FLOPs again) and, when its input needs a
gradient, the input gradient (again): 3x forward for every layer but the first, 2x for the first (the data needs
no gradient).
"""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.config import load_suite
from xaibench.flops import FlopCounter
from xaibench.methods.base import TrainingContext
from xaibench.cell import model_inputs
from xaibench.registries import ARCHITECTURES, METHODS


def context(model: nn.Module, seed: int = 0) -> TrainingContext:
    return TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed),
                           cam_layer=getattr(model, "cam_layer", None), flint_layers=getattr(model, "flint_layers", ()),
                           normalization=getattr(model, "normalization", None))


def fit_flops(method_name: str, model: nn.Module, data: Batch, budget: Budget, seed: int = 0) -> int:
    method = METHODS.get(method_name)()
    method.prepare(model, data.x[:2])
    method.ctx = context(model, seed)
    method.fit(model, data, budget)
    return method.ctx.flops


def test_erm_count_is_the_closed_form_of_a_conv_and_a_linear_layer(one_thread):
    torch.manual_seed(0)
    c_in, c_out, k, side, classes = 2, 4, 3, 8, 3
    model = nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(c_out * side * side, classes))
    n_train, epochs = 10, 2  # batches of 4, 4 and 2: the smaller last batch is counted by its own shape
    data = Batch(torch.rand(n_train, c_in, side, side), torch.arange(n_train) % classes)
    conv = 2 * c_out * side * side * c_in * k * k  # forward FLOPs per sample
    linear = 2 * c_out * side * side * classes
    per_sample = 2 * conv + 3 * linear  # the first layer's input needs no gradient
    assert fit_flops("erm", model, data, Budget(epochs=epochs, batch_size=4)) == epochs * n_train * per_sample


def test_the_counter_gives_flop_counter_modes_numbers_on_a_small_cnn_step(one_thread):
    torch.manual_seed(0)
    arch = ARCHITECTURES.get("small_cnn")
    model = arch(arch.Config(), (1, 32, 32), 4)
    x, y = torch.rand(16, 1, 32, 32), torch.arange(16) % 4
    counts = []
    for mode in (FlopCounter(), FlopCounterMode(display=False)):
        with mode:
            F.cross_entropy(model(x), y).backward()
        counts.append(mode.total if isinstance(mode, FlopCounter) else mode.get_total_flops())
    assert counts[0] == counts[1] > 0


def test_flop_counter_mode_itself_breaks_the_saliency_pass_of_sgt():
    """Why xaibench.flops has its own mode: FlopCounterMode's module tracker (pytorch/pytorch#131753)."""
    layer, e = nn.Linear(3, 2), torch.rand(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf node was passed"), FlopCounterMode(display=False):
        torch.autograd.grad(layer(e).sum(), e)
    with FlopCounter() as counter:
        torch.autograd.grad(layer(e).sum(), e)
    assert counter.total == 2 * 4 * 3 * 2 * 2  # forward, and the input gradient only


@pytest.mark.parametrize("mkldnn", [True, False])
def test_an_lstm_is_counted_on_the_onednn_kernel_as_on_the_decomposed_path(mkldnn, one_thread):
    """torch's registry has no formula for oneDNN's LSTM layer (FlopCounterMode counts 0 for it): ours gives the
    decomposed path's forward count, 2·T·N·4H·(I + H) per layer, and twice that for its backward."""
    T, N, I, H = 7, 5, 3, 6
    torch.manual_seed(0)
    lstm = nn.LSTM(I, H, num_layers=2, batch_first=True)
    x = torch.rand(N, T, I)
    enabled = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(mkldnn)
    try:
        with FlopCounter() as forward:
            out, _ = lstm(x)
        with FlopCounter() as both:
            lstm(x)[0].sum().backward()
    finally:
        torch._C._set_mkldnn_enabled(enabled)
    closed = 2 * T * N * 4 * H * (I + H) + 2 * T * N * 4 * H * (H + H)
    assert forward.total == closed
    if mkldnn:  # the kernel computes every gradient
        assert both.total == 3 * closed
    else:  # the decomposed path skips the data's and the zero initial state's gradients
        assert both.total == 3 * closed - 2 * T * N * 4 * H * I - 2 * 2 * N * 4 * H * H


def test_cpu_flash_attention_is_counted_as_torch_counts_flash_attention(one_thread):
    """Forward: the math path's two batched products. Backward: its four, plus flash's recomputed scores."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    B, heads, L, D = 2, 3, 5, 4
    product = 2 * B * heads * L * L * D  # one L×D by D×L (or L×L by L×D) product per head
    counts = {}
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.MATH):
        q, k, v = (torch.rand(B, heads, L, D, requires_grad=True) for _ in range(3))
        with sdpa_kernel(backend), FlopCounter() as forward:
            out = F.scaled_dot_product_attention(q, k, v)
        with FlopCounter() as backward:
            out.sum().backward()
        counts[backend] = forward.total, backward.total
    assert counts == {SDPBackend.FLASH_ATTENTION: (2 * product, 5 * product), SDPBackend.MATH: (2 * product, 4 * product)}


def quick_flops(method: str, seed: int) -> int:
    """One epoch of ``method`` on 128 images of quick's task, architecture and batch size (FLOPs per step do not
    depend on the number of steps, so the ratio is quick's)."""
    suite = load_suite("quick")
    (task,), (arch,) = suite.components("tasks"), suite.components("architectures")
    data = task.cls(dataclasses.replace(task.config, n_train=128)).load("train", suite.data_seed)
    torch.manual_seed(seed)
    meta = task.cls.meta
    model = arch.cls(arch.config, meta.input_shape, meta.num_classes, **model_inputs(meta, data))
    budget = suite.budget_for(task)
    return fit_flops(method, model, data, Budget(epochs=1, batch_size=budget.batch_size, lr=budget.lr), seed)


def test_sgt_costs_more_than_twice_erm_on_the_quick_setting_and_counts_repeat_exactly(one_thread):
    erm, sgt = quick_flops("erm", 0), quick_flops("sgt", 0)
    assert sgt > 2 * erm
    assert (quick_flops("erm", 1), quick_flops("sgt", 1)) == (erm, sgt)  # another seed, another run: the same
