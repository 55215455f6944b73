"""Known answers for the training methods (TRAINING_METHODS.md §2-6) and FLINT's metrics (METRICS.md §8)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import ConfigError
from xaibench.methods.base import TrainingContext
from xaibench.methods.erm import ERM
from xaibench.methods.expl_consistency import (ExplanationConsistency, average_ranks, bounded_weights, consistency,
                                               differentiable_grad_cam, effective_sample_size)
from xaibench.methods.flint import (FLINT, FLINTPosthoc, attach_flint, entropy_loss, flint_forward, flint_nets,
                                    output_fidelity_loss, schedule_weights)
from xaibench.methods.hooks import frozen_bn_stats, guided_relu
from xaibench.methods.interp_grad import InterpretableGradients, gradient_distance, probe_guided_distance
from xaibench.methods.rrr import RRR, rrr_penalty, rrr_terms
from xaibench.methods.sgt import SGT, fill_values, kl_div, sgt_mask
from xaibench.metrics.explainers.flint_relevance import FlintRelevance
from xaibench.metrics.explainers.grad_cam import GradCAM
from xaibench.metrics.flint import FlintConciseness, FlintFidelity, FlintInterpreterAccuracy
from xaibench.testing import hooks_left, tiny_data, tiny_model


pytestmark = pytest.mark.usefixtures("one_thread")


def bind(method, seed: int = 0):
    method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed))
    return method


def linear_model(in_shape=(1, 2, 2), classes=3, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), classes))


# -- SGT ---------------------------------------------------------------------------------------------------------

def test_sgt_masks_exactly_k_of_the_pixels_on_all_channels():
    gen = torch.Generator().manual_seed(0)
    e, g = torch.rand(3, 3, 6, 6, generator=gen), torch.randn(3, 3, 6, 6, generator=gen)
    e_m = sgt_mask(e, g, 0.25, fill="channel_mean")
    for i in range(3):
        order = np.argsort(np.abs(g[i].mean(0).numpy()).ravel(), kind="stable")
        expected = np.zeros(36, dtype=bool)
        expected[order[:9]] = True  # int(0.25 * 36)
        expected = torch.from_numpy(expected.reshape(6, 6))
        means = e[i].mean((1, 2))
        for c in range(3):
            assert torch.equal(e_m[i, c][~expected], e[i, c][~expected])
            assert torch.allclose(e_m[i, c][expected], means[c].expand(9))


def test_sgt_ties_by_index_and_signed_ranking():
    e = torch.arange(8.0).view(1, 2, 4)  # time series: every cell is a unit
    flat = lambda t: (t != e).flatten().tolist()  # noqa: E731
    assert flat(sgt_mask(e, torch.zeros(1, 2, 4), 0.5, fill="channel_mean")) == [True] * 4 + [False] * 4
    g = torch.tensor([[[1.0, -3.0, 0.5, 2.0], [-0.1, 0.2, 4.0, -2.0]]])
    masked_abs = sgt_mask(e, g, 0.25, "abs", fill="channel_mean")
    masked_signed = sgt_mask(e, g, 0.25, "signed", fill="channel_mean")
    # abs: |g| smallest are -0.1 (cell 4) and 0.2 (cell 5); signed: -3 (cell 1) and -2 (cell 7)
    assert [i for i, m in enumerate(flat(masked_abs)) if m] == [4, 5]
    assert [i for i, m in enumerate(flat(masked_signed)) if m] == [1, 7]


def test_sgt_fill_rules():
    e = torch.tensor([[[[0.0, 1.0]], [[2.0, 4.0]]]])  # N=1, C=2, 1x2
    u = torch.rand(e.shape, generator=torch.Generator().manual_seed(3))
    sample = fill_values(e, "uniform_sample", torch.Generator().manual_seed(3))
    torch.testing.assert_close(sample, 0 + 4 * u, rtol=0, atol=1e-7)
    channel = fill_values(e, "uniform_channel", torch.Generator().manual_seed(3))
    torch.testing.assert_close(channel, torch.tensor([0.0, 2.0]).view(1, 2, 1, 1) + torch.tensor([1.0, 2.0]).view(1, 2, 1, 1) * u,
                               rtol=0, atol=1e-7)
    assert fill_values(e, "channel_mean", torch.Generator()).flatten().tolist() == [0.5, 0.5, 3.0, 3.0]


def test_sgt_kl_by_hand_and_zero_when_nothing_is_masked():
    out, out_m = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, math.log(3)]])
    assert kl_div(out, out_m).item() == pytest.approx(0.5 * math.log(4 / 3), abs=1e-7)
    model, x, y = linear_model(), torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 2, 0])
    loss = bind(SGT({"k": 0.0})).loss(model, Batch(x, y), 0)
    assert torch.equal(loss, F.cross_entropy(model(x), y))


def test_sgt_loss_matches_the_spec_pseudocode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(48, 3))
    x, y = torch.rand(4, 2, 4, 4), torch.tensor([0, 1, 2, 1])
    method = bind(SGT({"k": 0.5, "fill": "channel_mean", "rank_by": "abs", "saliency_of": "logit"}))
    method.loss(model.train(), Batch(x, y), 0)
    assert model.training and model[2].training  # the saliency pass's eval mode was undone
    model[2].p = 0.0  # the dropout masks differ between calls: compare without
    loss = method.loss(model, Batch(x, y), 0)
    # reference: the true logit's input gradient; the half of the pixels with the smallest |channel mean| get
    # each channel's mean, on every channel
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(model(xg).gather(1, y[:, None]).sum(), xg)
    idx = g.mean(1).abs().flatten(1).argsort(dim=1, stable=True)[:, :8]
    x_m = x.clone()
    for i in range(4):
        x_m[i][:, idx[i] // 4, idx[i] % 4] = x[i].mean((1, 2))[:, None]
    out, out_m = model(x), model(x_m)
    kl = (F.softmax(out, 1) * (F.log_softmax(out, 1) - F.log_softmax(out_m, 1))).sum(1).mean()
    assert kl > 0
    torch.testing.assert_close(loss, F.cross_entropy(out, y) + kl, rtol=0, atol=1e-6)


# -- interpretable gradients ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dist, norm, expected", [
    ("cos", "none", 1 - 4 / 5), ("mse", "none", (9 + 9) / 2), ("mae", "none", (3 + 3) / 2),
    ("mse", "l2", (0.36 + 0.04) / 2), ("mae", "l2", (0.6 + 0.2) / 2), ("mse", "max_abs", (0.75**2 + 0) / 2),
    ("hist", "none", 1 - 4 / 7), ("cos", "l2", 1 - 4 / 5),
])
def test_gradient_distance_by_hand(dist, norm, expected):
    a, b = torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 1.0]])
    assert gradient_distance(a, b, dist, norm).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("dist", ["cos", "hist"])
def test_gradient_distance_of_a_zero_vector_is_one(dist):
    assert gradient_distance(torch.zeros(1, 3), torch.tensor([[1.0, 2.0, 3.0]]), dist).item() == 1.0


def positive_relu_net() -> nn.Module:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=torch.Generator().manual_seed(p.numel())) + 0.1)
    return model


@pytest.mark.parametrize("dist", ["cos", "mse", "mae", "hist"])
def test_interp_grad_penalty_is_zero_when_guided_equals_plain(dist):
    x, y = torch.rand(5, 1, 2, 2), torch.tensor([0, 1, 2, 0, 1])
    for model in (linear_model(), positive_relu_net()):  # no ReLU; all ReLUs active with positive upstream
        yy = y % model[-1].out_features
        loss = bind(InterpretableGradients({"dist": dist})).loss(model, Batch(x, yy), 0)
        torch.testing.assert_close(loss, F.cross_entropy(model(x), yy), rtol=0, atol=1e-6)


def test_interp_grad_penalty_by_hand_when_guided_cuts_a_negative_path():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2)), model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 0.0]])), model[2].bias.zero_()
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([0])
    # plain gradient (1, -1); guided: relu(1, -1) = (1, 0) -> cosine 1/sqrt(2)
    _, dist = bind(InterpretableGradients()).penalty(model, x, y)
    assert dist.item() == pytest.approx(1 - 1 / math.sqrt(2), abs=1e-6)
    loss = bind(InterpretableGradients({"lam": 2.0})).loss(model, Batch(x, y), 0)
    loss.backward()  # double backprop through the plain gradient
    assert model[2].weight.grad is not None and torch.isfinite(model[2].weight.grad).all()


def test_interp_grad_switches():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(2)), model[0].bias.zero_()
        model[2].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 2.0]])), model[2].bias.zero_()
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([1])  # logits (-1, 4): predicted class 1
    # target=label 0 would give plain (1, -1) vs guided (1, 0); class 1: plain = guided = (0, 2)
    _, dist = bind(InterpretableGradients({"target": "predicted"})).penalty(model, x, torch.tensor([0]))
    assert dist.item() == pytest.approx(0.0, abs=1e-7)
    grads = []
    for detach in (True, False):
        model.zero_grad()
        bind(InterpretableGradients({"detach_target": detach, "dist": "mse"})).loss(model, Batch(x, y - 1), 0).backward()
        grads.append(model[0].weight.grad.clone())
    assert not torch.equal(grads[0], grads[1])  # detach_target=False also trains through the guided pass


def test_sgt_log_prob_saliency_on_a_linear_model():
    model, x, y = linear_model(), torch.rand(2, 1, 2, 2), torch.tensor([2, 0])
    W = model[1].weight.detach()
    p = F.softmax(model(x), 1).detach()
    x = x.requires_grad_(True)
    g = bind(SGT({"saliency_of": "log_prob"})).saliency(model(x), x, y)
    torch.testing.assert_close(g.flatten(1), W[y] - p @ W)  # d log p_y / dx = W_y - Σ_k p_k W_k
    torch.testing.assert_close(bind(SGT({"saliency_of": "logit"})).saliency(model(x), x, y).flatten(1), W[y])


def test_sgt_reuses_the_training_forward_on_mode_free_models_with_the_same_training():
    """On a mode_free architecture the saliency pass is the training forward (one forward fewer per step); the
    trained weights equal those of the separate eval-mode pass, bit for bit."""
    from xaibench.models.small_cnn import SmallCNN

    torch.manual_seed(0)
    x, y = torch.rand(16, 1, 32, 32), torch.randint(0, 4, (16,))
    trained = []
    for mode_free in (True, False):
        torch.manual_seed(0)
        model = SmallCNN(SmallCNN.Config(width=4), (1, 32, 32), 4)
        model.mode_free = mode_free  # the instance attribute shadows the class's declaration
        method, calls = bind(SGT()), []
        handle = model.register_forward_hook(lambda m, i, o: calls.append(1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            opt.zero_grad()
            method.loss(model, Batch(x, y), step).backward()
            opt.step()
        handle.remove()
        trained.append((model.state_dict(), len(calls)))
    (reused, n_reused), (separate, n_separate) = trained
    assert (n_reused, n_separate) == (6, 9)  # 2 forwards per step against 3
    assert all(torch.equal(reused[k], separate[k]) for k in reused)


def test_sgt_defaults_are_the_official_code():
    """Transcribed from ayaabdelsalam91/saliency_guided_training@925ad6f, Scripts/interpretable.py (isMNIST path,
    ``--abs`` off, the net ending in log_softmax): model.eval(); grads = Saliency(model).attribute(data, target,
    abs=False).mean(1); indx = topk(grads.view(N, -1), numberOfFeatures, largest=False); masked entries drawn
    U[min, max] of the sample; KLDivLoss(log_target=True, reduction='batchmean')(maskedOutputs, output)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3))
    x, y = torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 2, 1])
    method = bind(SGT())
    assert (method.cfg.rank_by, method.cfg.saliency_of, method.cfg.fill) == ("signed", "log_prob", "uniform_sample")
    loss = method.loss(model, Batch(x, y), 0)
    log_net = lambda t: F.log_softmax(model(t), 1)  # noqa: E731  the official Net's output
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(log_net(xg).gather(1, y[:, None]).sum(), xg)  # captum Saliency, abs=False
    _, idx = torch.topk(g.mean(1).view(4, -1), 8, dim=1, largest=False)
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))  # our generator's draws, in order
    lo, hi = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
    x_m = x.clone().view(4, -1)
    for i in range(4):
        x_m[i, idx[i]] = (lo + (hi - lo) * u).view(4, -1)[i, idx[i]]
    output, masked = log_net(x), log_net(x_m.view_as(x))
    kl = nn.KLDivLoss(log_target=True, reduction="batchmean")(masked, output)
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y) + kl, rtol=0, atol=1e-6)
    assert method.health.record()["per_epoch"] == {}  # figures close per epoch, in fit
    method.health.end_epoch()
    figures = method.health.record()["per_epoch"]
    assert figures["masked_fraction"] == [0.5] and figures["kl"][0] == pytest.approx(kl.item(), abs=1e-6)


def test_guided_relu_restores_the_modules_and_is_differentiable():
    model = positive_relu_net()
    before = [dict(vars(m)) for m in model.modules()]
    x = torch.rand(2, 1, 2, 2, requires_grad=True)
    with guided_relu(model):
        (g,) = torch.autograd.grad(-model(x)[:, 0].sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), model[1].weight, allow_unused=True)
    assert torch.equal(g, torch.zeros_like(g))  # every upstream gradient is negative: all cut
    assert [sorted(vars(m)) for m in model.modules()] == [sorted(b) for b in before]
    (plain,) = torch.autograd.grad(-model(x)[:, 0].sum(), x)
    assert (plain < 0).all()


def test_frozen_bn_stats_keeps_buffers_and_batch_statistics():
    bn = nn.BatchNorm1d(3).train()
    x = torch.randn(8, 3) * 2 + 1
    expected = F.batch_norm(x, None, None, bn.weight, bn.bias, training=True)
    with frozen_bn_stats(bn):
        out = bn(x)
    torch.testing.assert_close(out, expected)
    assert bn.running_mean.eq(0).all() and bn.running_var.eq(1).all() and bn.num_batches_tracked == 0
    assert bn.track_running_stats
    bn(x)
    assert bn.num_batches_tracked == 1


# -- explanation consistency -------------------------------------------------------------------------------------

def test_consistency_weights_by_hand():
    H = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    H_hat = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    E, zero = consistency(H, H_hat)
    v = 1 - E
    torch.testing.assert_close(v, torch.tensor([1 - 1 / math.sqrt(2), 0.0, 1.0, 1.0]))  # zero map: E = 0
    assert zero.tolist() == [False, False, False, True]
    r = v[:3] / v[:3].mean()  # below the clip: the mean stays 1
    linear = bounded_weights(v, zero, weighting="linear")
    torch.testing.assert_close(linear, torch.cat([0.5 + 0.5 * r, torch.ones(1)]))  # degenerate: neutral 1
    torch.testing.assert_close(bounded_weights(v, zero), torch.tensor([1.0, 0.5, 1.5, 1.0]))  # rank, the default
    paper = bounded_weights(v, torch.zeros(4, dtype=torch.bool), mix=1.0, clip=math.inf, weighting="linear")
    torch.testing.assert_close(paper, v / v.mean())  # the paper's v / mean(v)
    spike = torch.tensor([0.0] * 9 + [1.0])  # r = 10, clipped at 4: (0.5 x 9, 2.5) / 0.7
    torch.testing.assert_close(bounded_weights(spike, torch.zeros(10, dtype=torch.bool), weighting="linear"),
                               torch.tensor([0.5] * 9 + [2.5]) / 0.7)
    assert average_ranks(torch.tensor([2.0, 1.0, 2.0, 2.0])).tolist() == [2.0, 0.0, 2.0, 2.0]
    assert effective_sample_size(torch.tensor([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


def test_differentiable_grad_cam_matches_the_explainer():
    model = tiny_model().eval()
    x, y = torch.rand(3, 1, 32, 32), torch.tensor([0, 1, 3])
    ours = differentiable_grad_cam(model, x.requires_grad_(), y)
    with GradCAM(model) as e:
        reference = e.explain(x.detach(), y)[:, 0]
    torch.testing.assert_close(ours.detach(), reference, rtol=0, atol=1e-5)


def test_consistency_pass_attacks_only_the_background_and_records_its_health():
    model, data = tiny_model(), tiny_data(False)[:8]
    method = bind(ExplanationConsistency())
    H = method.explain(model, data.x, data.y)
    lo, hi = data.x.min().item(), data.x.max().item()
    x_hat = method.attack(model.eval(), data.x, data.y, H, (lo, hi))
    fg = (H >= 0.5)[:, None].expand_as(x_hat)
    assert torch.equal(x_hat[fg], data.x[fg])
    eps = 8 / 255 * (hi - lo)  # relative to the data range, not clipped to it
    assert (x_hat - data.x).abs().max() <= eps + 1e-6
    assert (x_hat - data.x).abs()[~fg].mean() > 0.5 * eps  # the background actually moves
    w = method.consistency_weights(model, data, 4)
    E, zero = consistency(H.float(), method.explain(model, x_hat, data.y).float())
    torch.testing.assert_close(w, bounded_weights(1 - E, zero), rtol=0, atol=1e-6)
    assert w.mean().item() == pytest.approx(1.0, abs=1e-6)
    method.health.end_epoch()
    figures = {k: v[0] for k, v in method.health.record()["per_epoch"].items()}
    assert figures["ess"] == pytest.approx(effective_sample_size(w)) and figures["ess_fraction"] == figures["ess"] / 8
    assert figures["mean_perturbation"] == pytest.approx((x_hat - data.x).abs()[~fg].mean().item(), rel=1e-5)
    assert figures["perturbation_fraction"] == pytest.approx(figures["mean_perturbation"] / eps)


def test_a_weight_collapse_logs_a_warning_naming_the_figure(caplog):
    """The paper's weights (mix=1, no clip) with one inconsistent map: all the weight on one sample."""
    model, data = tiny_model(), tiny_data(False)
    n = len(data)
    method = bind(ExplanationConsistency({"weighting": "linear", "mix": 1.0, "clip_ratio": 1e9}))
    calls = []

    def explain(model, x, y):  # identical maps before and after the attack, except sample 0's
        calls.append(1)
        H = torch.zeros(len(x), *x.shape[2:])
        H[:, 0, 0] = 1.0
        if len(calls) % 2 == 0:
            H[0, 0, 1] = 1.0
        return H

    method.explain = explain
    w = method.consistency_weights(model, data, n)
    assert w[0].item() == pytest.approx(n) and effective_sample_size(w) == pytest.approx(1.0)
    with caplog.at_level("WARNING", logger="xaibench.methods"):
        method.health.end_epoch()
    assert f"expl_consistency: health figure 'ess_fraction' = {1 / n:.3g} in epoch 1" in caplog.text
    assert method.health.record()["warnings"] and "'degenerate_share'" not in caplog.text
    caplog.clear()
    bounded = bind(ExplanationConsistency())
    bounded.explain = explain
    bounded.consistency_weights(model, data, n)
    with caplog.at_level("WARNING", logger="xaibench.methods"):
        bounded.health.end_epoch()
    assert "ess_fraction" not in caplog.text  # bounded weights: w <= 1.5


def test_rrr_ratio_off_by_100x_warns(caplog):
    model, x, y = linear_model(), torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 2, 0])
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).expand(4, 2, 2)
    method = bind(RRR({"lam": 1e9}))
    ce, penalty = (t.item() for t in rrr_terms(model, x, y, 1 - mask))
    method.loss(model, Batch(x, y, mask), 0)
    with caplog.at_level("WARNING", logger="xaibench.methods"):
        method.health.end_epoch()
    figures = method.health.record()["per_epoch"]
    assert figures["ratio"][0] == pytest.approx(1e9 * penalty / ce, rel=1e-5) and figures["ce"][0] == pytest.approx(ce)
    assert "rrr: health figure 'ratio'" in caplog.text and "outside its sane range [0, 100]" in caplog.text


def test_erm_records_the_guided_distance_and_trains_exactly_as_without_the_probe():
    data, budget = tiny_data(False), Budget(epochs=2, batch_size=8)
    torch.manual_seed(0)
    model = tiny_model()
    erm = bind(ERM())
    erm.fit(model, data, budget)
    torch.manual_seed(0)
    reference, gen = tiny_model(), torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(reference.parameters(), lr=budget.lr)
    for _ in range(budget.epochs):
        for batch in data.minibatches(budget.batch_size, gen):
            optimizer.zero_grad()
            F.cross_entropy(reference.train()(batch.x), batch.y).backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    distances = erm.health.record()["per_epoch"]["guided_cos_distance"]
    assert len(distances) == 2
    assert distances[-1] == pytest.approx(probe_guided_distance(model, data))


def test_consistency_reweights_after_the_warmup_only():
    method = bind(ExplanationConsistency({"n_steps": 1}))
    calls = []
    original = method.consistency_weights
    method.consistency_weights = lambda *a: calls.append(method.ctx.step) or original(*a)
    method.fit(tiny_model(), tiny_data(False), Budget(epochs=3, batch_size=8))  # 2 steps per epoch, warm-up 1 epoch
    assert calls == [2, 4]


# -- RRR ---------------------------------------------------------------------------------------------------------

def test_rrr_penalty_is_zero_when_the_gradient_lies_inside_the_mask():
    model = linear_model()
    with torch.no_grad():
        model[1].weight[:, [1, 3]] = 0  # pixels (0, 1) and (1, 1) never matter
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0]]).expand(4, 2, 2)
    x, y = torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 2, 0])
    loss = bind(RRR()).loss(model, Batch(x, y, mask), 0)  # the task declares no shortcut mask: A = 1 - mask
    assert torch.equal(loss, F.cross_entropy(model(x), y))


def test_rrr_penalty_by_hand_on_a_linear_model():
    model = linear_model()
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).expand(4, 2, 2)
    x, y = torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 2, 0])
    W = model[1].weight.detach()
    p = F.softmax(model(x), 1).detach()
    g = W.sum(0) - 3 * p @ W  # d/dx Σ_c log p_c = Σ_c W_c - K Σ_k p_k W_k
    expected_pen = (g[:, [1, 2]] ** 2).sum() / 4
    assert rrr_penalty(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), 1 - mask[:1]).item() == 4.0 + 9.0
    loss = bind(RRR({"lam": 10.0})).loss(model, Batch(x, y, mask), 0)
    torch.testing.assert_close(loss, F.cross_entropy(model(x), y) + 10 * expected_pen, rtol=1e-6, atol=1e-7)


def test_rrr_penalizes_the_tasks_shortcut_mask_not_the_background():
    """On a task that declares ``shortcut_mask`` (decoy Fashion-MNIST: the swatch), A is that mask, as Ross et al.'s
    ``augment()`` (dtak/rrr@d83a16e, rrr/decoy_mnist.py: expl = 1 on the 4x4 corner swatch only)."""
    model = linear_model()
    x, y = torch.rand(4, 1, 2, 2), torch.tensor([0, 1, 2, 0])
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).expand(4, 2, 2)  # the object: pixel (0, 0)
    swatch = torch.tensor([[0.0, 0.0], [0.0, 1.0]]).expand(4, 2, 2)  # the decoy: pixel (1, 1)
    W, p = model[1].weight.detach(), F.softmax(model(x), 1).detach()
    g = W.sum(0) - 3 * p @ W
    method = bind(RRR({"lam": 2.0}))
    method.ctx.shortcut_mask = "decoy_mask"
    batch = Batch(x, y, mask, meta={"decoy_mask": swatch})
    torch.testing.assert_close(method.loss(model, batch, 0), F.cross_entropy(model(x), y) + 2 * (g[:, 3] ** 2).sum() / 4)
    background = bind(RRR({"lam": 2.0, "region": "outside_mask"}))
    background.ctx.shortcut_mask = "decoy_mask"
    torch.testing.assert_close(background.loss(model, batch, 0),
                               F.cross_entropy(model(x), y) + 2 * (g[:, 1:] ** 2).sum() / 4)
    with pytest.raises(ValueError, match="meta\\['decoy_mask'\\]"):
        method.loss(model, Batch(x, y, mask), 0)


def test_decoy_task_declares_its_swatch_for_rrr():
    from xaibench.tasks.images.decoy_fashion_mnist import DecoyFashionMNIST
    assert DecoyFashionMNIST.meta.shortcut_mask == "decoy_mask" in DecoyFashionMNIST.meta.extras


# -- FLINT -------------------------------------------------------------------------------------------------------

def test_flint_entropy_terms_by_hand():
    P = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    q = math.e / (1 + math.e)
    row = -(q * math.log(q) + (1 - q) * math.log(1 - q))
    assert entropy_loss(P).item() == pytest.approx(row - math.log(2), abs=1e-6)  # |P| mean row is uniform


def test_flint_output_fidelity_both_directions_by_hand():
    f, h = torch.tensor([[0.0, 0.0]], requires_grad=True), torch.tensor([[0.0, math.log(3)]])
    assert output_fidelity_loss(f, h, "code").item() == pytest.approx(0.5 * math.log(16 / 3), abs=1e-6)
    # paper: -Σ softmax(h) log softmax(f) = -(1/4 + 3/4) log(1/2)
    assert output_fidelity_loss(f, h, "paper").item() == pytest.approx(math.log(2), abs=1e-6)
    output_fidelity_loss(f, h.requires_grad_(), "code").backward()
    assert f.grad is None  # the code direction detaches f: h mimics f


@pytest.mark.parametrize("preset, progress, expected", [
    ("mnist", 0.0, {"rec": 0.8, "of": 0.0, "spa": 0.0, "ent": 0.0}),
    ("mnist", 2 / 12, {"rec": 0.8, "of": 0.5, "spa": 0.1, "ent": 0.0}),
    ("mnist", 0.5, {"rec": 0.8, "of": 0.5, "spa": 0.1, "ent": 0.2}),
    ("quickdraw", 1.5 / 12, {"rec": 5.0, "of": 0.0, "spa": 0.02, "ent": 0.0}),
    ("quickdraw", 3 / 12, {"rec": 5.0, "of": 0.1, "spa": 0.30, "ent": 0.1}),
    ("cifar10", 1 / 25, {"rec": 2.0, "of": 0.0, "spa": 0.001, "ent": 0.0}),
    ("cifar10", 0.99, {"rec": 2.0, "of": 0.6, "spa": 0.15, "ent": 0.2}),
])
def test_flint_schedule_weights(preset, progress, expected):
    assert schedule_weights(preset, progress) == expected


def test_flint_loss_is_the_weighted_sum_of_its_terms():
    model, data = tiny_model(), tiny_data(False)[:4]
    method = bind(FLINT())
    method.prepare(model, data.x)
    method.ctx.total_steps, method.ctx.step = 12, 6  # progress 0.5: every term active
    torch.manual_seed(0)
    loss = method.loss(model.eval(), data, 6)
    out = flint_forward(model, data.x)
    nets = flint_nets(model)
    Pa = out.attributes.abs()
    ent = lambda v: -(F.softmax(v, -1) * F.log_softmax(v, -1)).sum(-1)  # noqa: E731
    expected = (F.cross_entropy(out.logits, data.y) + 0.8 * F.mse_loss(nets["d"](out.attributes), data.x)
                + 0.5 * -(F.softmax(out.logits, 1) * F.log_softmax(out.interpreter, 1)).sum(1).mean()
                + 0.1 * Pa.mean() + 0.2 * (ent(Pa).mean() - ent(Pa.mean(0))))
    torch.testing.assert_close(loss, expected)
    assert hooks_left(model) == []


def constant_attribute_model(phi_value, predicted: int = 2):
    """A FLINT model whose Φ is constant and whose interpreter predicts ``predicted`` with weights w = 1."""
    model = tiny_model().eval()
    nets = attach_flint(model, torch.rand(2, 1, 32, 32), n_attributes=len(phi_value))

    class Constant(nn.Module):
        def forward(self, hidden):
            return torch.tensor(phi_value).expand(len(hidden[0]), -1)

    nets["phi"] = Constant()
    with torch.no_grad():
        nets["h"][-1].weight.fill_(1.0)
        nets["h"][-1].bias.zero_()[predicted] = 1.0
    return model


@pytest.mark.parametrize("tau, expected", [(1.5, 1), (2, 1), (2.5, 2), (5, 2)])
def test_flint_conciseness_spec_values(tau, expected):
    model = constant_attribute_model([1.0, 0.5, 0.1])
    batch = Batch(torch.rand(3, 1, 32, 32), torch.tensor([0, 2, 3]))
    assert FlintConciseness({"tau": tau})(model, batch, None, batch.y).tolist() == [expected] * 3


def test_flint_conciseness_of_an_all_zero_phi_is_zero():
    model = constant_attribute_model([0.0, 0.0, 0.0])
    batch = Batch(torch.rand(2, 1, 32, 32), torch.tensor([0, 2]))
    assert FlintConciseness({"tau": 5})(model, batch, None, batch.y).tolist() == [0.0, 0.0]


def test_flint_fidelity_and_interpreter_accuracy():
    model = constant_attribute_model([1.0, 0.5, 0.1], predicted=2)
    batch = Batch(torch.rand(6, 1, 32, 32), torch.tensor([0, 2, 3, 2, 1, 2]))
    with torch.no_grad():
        f_pred = model(batch.x).argmax(1)
    assert FlintFidelity()(model, batch, None, f_pred).tolist() == (f_pred == 2).double().tolist()
    assert FlintInterpreterAccuracy()(model, batch, None, f_pred).tolist() == [0, 1, 0, 1, 0, 1]
    plain = tiny_model().eval()
    assert FlintFidelity()(plain, batch, None, f_pred).isnan().all()  # not a FLINT model: not applicable


def train(method, seed: int = 0, epochs: int = 2):
    data = tiny_data(False)
    model = tiny_model(seed)
    method.prepare(model, data.x[:2])
    bind(method, seed).fit(model, data, Budget(epochs=epochs, batch_size=8))
    return model


def test_flint_posthoc_reproduces_the_erm_model_bitwise_and_keeps_it_frozen():
    erm = train(ERM()).state_dict()
    posthoc = FLINTPosthoc()
    model = train(posthoc)
    state = model.state_dict()
    f_keys = [k for k in state if not k.startswith("xaibench_aux.")]
    assert f_keys == list(erm) and all(torch.equal(state[k], erm[k]) for k in f_keys)
    assert all(p.requires_grad for p in model.parameters()) and model.training
    fresh = tiny_model()
    posthoc.prepare(fresh, tiny_data(False).x[:2])
    assert not torch.equal(fresh.state_dict()["xaibench_aux.flint.d.0.weight"], state["xaibench_aux.flint.d.0.weight"])


def test_flint_counts_its_networks_and_posthoc_counts_its_erm_run():
    erm, flint, posthoc = ERM(), FLINT(), FLINTPosthoc()
    for method in (erm, flint, posthoc):
        train(method)
    assert flint.ctx.flops > erm.ctx.flops  # Φ, h and d beside f's forward and backward
    # the ERM run, then Φ, h and d on the frozen f: no backward through f, so less than FLINT's joint step
    assert erm.ctx.flops < posthoc.ctx.flops < erm.ctx.flops + flint.ctx.flops


def test_attaching_flint_leaves_the_global_rng_alone():
    """f's dropout draws from the global RNG: the posthoc ERM phase must see the same stream as the erm cell."""
    model = tiny_model()
    state = torch.get_rng_state()
    attach_flint(model, torch.rand(2, 1, 32, 32, generator=torch.Generator()))
    assert torch.equal(torch.get_rng_state(), state)


def test_flint_weights_reload_into_a_prepared_fresh_model():
    """The harness's cached-weights path: build, prepare, load_state_dict (strict), same outputs."""
    model = train(FLINT(), epochs=1).eval()
    fresh = tiny_model(seed=5)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        fresh.load_state_dict(model.state_dict())
    FLINT().prepare(fresh, tiny_data(False).x[:2])
    fresh.load_state_dict(model.state_dict())
    x = torch.rand(3, 1, 32, 32)
    a, b = flint_forward(model, x), flint_forward(fresh.eval(), x)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.interpreter, b.interpreter)


def test_flint_cifar10_preset_recreates_adam():
    method = bind(FLINT({"preset": "cifar10"}))
    model = tiny_model()
    method.prepare(model, tiny_data(False).x[:2])
    created = []
    original = torch.optim.Adam

    class Spy(original):
        def __init__(self, params, lr, **kw):
            created.append(lr)
            super().__init__(params, lr=lr, **kw)

    torch.optim.Adam = Spy
    try:
        method.fit(model, tiny_data(False), Budget(epochs=2, batch_size=4))  # 8 steps: 18/25 from step 6
    finally:
        torch.optim.Adam = original
    assert created == [1e-4, 4e-5]


# -- the FLINT relevance map ---------------------------------------------------------------------------------------

def test_flint_relevance_is_the_gradient_of_the_relevance_weighted_attributes():
    model = train(FLINT(), epochs=1).eval()
    x, target = torch.rand(3, 1, 32, 32), torch.tensor([0, 1, 3])
    with FlintRelevance(model) as e:
        A = e.explain(x, target)
    xr = x.clone().requires_grad_()
    P = flint_forward(model, xr).attributes
    w = flint_nets(model)["h"][1].weight
    contrib = (P * w[target]).abs().detach()
    r = contrib / contrib.amax(1, keepdim=True)
    (reference,) = torch.autograd.grad((r * P).sum(), xr)
    torch.testing.assert_close(A, reference)
    assert hooks_left(model) == []
    half = torch.cat([FlintRelevance(model).explain(x[:1], target[:1]), FlintRelevance(model).explain(x[1:], target[1:])])
    torch.testing.assert_close(half, A, rtol=0, atol=1e-6)
    cam = FlintRelevance(model, {"form": "gradcam"}).explain(x, target)
    assert cam.shape == x.shape and cam.min() >= 0 and cam.max() <= 1


def test_flint_relevance_rejects_a_model_without_flint_networks():
    with pytest.raises(ConfigError, match="needs a model trained with flint"):
        FlintRelevance(tiny_model()).explain(torch.rand(1, 1, 32, 32), torch.tensor([0]))


# -- through the harness -------------------------------------------------------------------------------------------

FLINT_SUITE = """\
name: flint-tiny
seeds: [0]
tasks:
  - {name: shapes, params: {n_train: 32, n_test: 16}}
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm, flint]
explainers: [saliency]
metrics: [accuracy, flint_fidelity]
budget: {epochs: 1, batch_size: 16}
"""


def test_runner_reloads_cached_flint_weights_and_scores_only_flint_models(write_suite, tmp_path):
    from xaibench.config import load_suite
    from xaibench.runner import Runner
    from xaibench.store import ResultStore

    store = ResultStore(tmp_path / "results")
    first = Runner(load_suite(str(write_suite(FLINT_SUITE))), store, quiet=True).run()
    assert first.trained == 2 and not first.failures
    # a new metric on the same models: the cached weights (with FLINT's networks) are loaded, not retrained
    suite = write_suite(FLINT_SUITE.replace("flint_fidelity]", "flint_fidelity, flint_interpreter_accuracy]"), "b.yaml")
    second = Runner(load_suite(str(suite)), store, quiet=True).run()
    assert second.trained == 0 and not second.failures and second.records_written == 1
    values = {(r["labels"]["method"], r["labels"]["metric"]): r for r in store.records()}
    assert ("erm", "flint_interpreter_accuracy") not in values  # not a FLINT model: not planned
    flint = values[("flint", "flint_interpreter_accuracy")]
    assert flint["n"] == 16 and set(flint["values"]) <= {0.0, 1.0}


def test_training_records_carry_each_methods_health_figures(write_suite, tmp_path):
    from xaibench.config import load_suite
    from xaibench.runner import Runner
    from xaibench.store import ResultStore

    store = ResultStore(tmp_path / "results")
    suite = FLINT_SUITE.replace("budget: {epochs: 1", "budget: {epochs: 2")
    assert not Runner(load_suite(str(write_suite(suite))), store, quiet=True).run().failures
    health = {r["labels"]["method"]: r["health"] for r in store.records("training")}
    assert len(health["erm"]["per_epoch"]["guided_cos_distance"]) == 2
    fidelity = health["flint"]["per_epoch"]["train_fidelity"]
    assert len(fidelity) == 2 and all(0.0 <= f <= 1.0 for f in fidelity)
    assert health["erm"]["warnings"] == [] and health["flint"]["ranges"] == {}
