"""The budget's lr schedule (`xaibench.schedule`): the lr each optimizer step uses, and the default left alone."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_pre_hook

from xaibench.budget import Budget
from xaibench.component import parse_config
from xaibench.errors import ConfigError
from xaibench.methods.base import TrainingContext
from xaibench.methods.erm import ERM
from xaibench.methods.flint import FLINT, FLINTPosthoc
from xaibench.schedule import COSINE_WARMUP, lr_factor
from xaibench.testing import tiny_data, tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


def bind(method, seed: int = 0):
    method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed))
    return method


def fit_lrs(method, budget: Budget, n: int = 24) -> tuple[list[float], torch.nn.Module]:
    """The lr of every optimizer step (first param group) while ``method`` fits a tiny model."""
    model, data, seen = tiny_model(), tiny_data(False, n), []
    method.prepare(model, data.x[:2])
    handle = register_optimizer_step_pre_hook(lambda opt, *_: seen.append(opt.param_groups[0]["lr"]))
    try:
        bind(method).fit(model, data, budget)
    finally:
        handle.remove()
    return seen, model


def test_cosine_follows_its_closed_form_per_step():
    budget = Budget(epochs=5, batch_size=4, lr=3e-3, schedule="cosine")
    lrs, _ = fit_lrs(ERM(), budget)
    total = 5 * 6
    warmup = max(1, round(COSINE_WARMUP * total))  # 2 of 30 steps
    want = [3e-3 * ((t + 1) / warmup if t < warmup else 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))))
            for t in range(total)]
    assert warmup == 2 and len(lrs) == total
    torch.testing.assert_close(torch.tensor(lrs, dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                               rtol=1e-12, atol=0)
    assert lrs[1] == 3e-3 and lrs[-1] < 3e-3 * 0.01  # the peak after warm-up, near 0 at the end


@pytest.mark.parametrize("total", [7, 30, 100, 938])
def test_one_cycle_equals_torchs_one_cycle_lr(total):
    """torch.optim.lr_scheduler.OneCycleLR (defaults, no momentum cycling) is the reference, step by step."""
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=total, cycle_momentum=False)
    want = []
    for _ in range(total):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    got = [5e-3 * lr_factor("one_cycle", t, total) for t in range(total)]
    torch.testing.assert_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                               rtol=1e-12, atol=1e-18)


def test_the_training_loop_uses_one_cycle_per_step():
    lrs, _ = fit_lrs(ERM(), Budget(epochs=5, batch_size=4, lr=5e-3, schedule="one_cycle"))
    want = [5e-3 * lr_factor("one_cycle", t, 30) for t in range(30)]
    assert lrs == pytest.approx(want, rel=1e-12)
    assert lrs[0] == pytest.approx(5e-3 / 25) and max(lrs) == pytest.approx(5e-3, rel=1e-3)


def test_default_schedule_keeps_keys_and_weights():
    """``constant`` is the default, stays out of the key (stores written before schedules keep their keys) and
    builds no scheduler: the weights are bitwise those of a bare Adam loop over the same minibatches."""
    old_key = {"epochs": 5, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.0}
    assert Budget().key() == Budget(schedule="constant").key() == old_key
    assert Budget(schedule="cosine").key() == {**old_key, "schedule": "cosine"}
    budget = Budget(epochs=2, batch_size=8, lr=2e-3, schedule="constant")
    lrs, model = fit_lrs(ERM(), budget)
    assert lrs == [2e-3] * 6
    reference, data = tiny_model(), tiny_data(False, 24)
    optimizer, generator = torch.optim.Adam(reference.parameters(), lr=2e-3), torch.Generator().manual_seed(0)
    for _ in range(2):
        for batch in data.minibatches(8, generator):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(reference(batch.x), batch.y).backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))


def test_flint_follows_the_schedule_only_on_the_task_optimizer():
    budget = Budget(epochs=5, batch_size=4, lr=5e-3, schedule="one_cycle")
    want = [5e-3 * lr_factor("one_cycle", t, 30) for t in range(30)]
    task, _ = fit_lrs(FLINT({"optimizer": "task"}), budget)
    own, _ = fit_lrs(FLINT({"optimizer": "flint"}), budget)
    posthoc, _ = fit_lrs(FLINTPosthoc({"optimizer": "task"}), budget)
    assert task == pytest.approx(want, rel=1e-12)
    assert own == [FLINT({"optimizer": "flint"}).cfg.lr] * 30  # the code's constant lr
    assert posthoc == pytest.approx(want + want, rel=1e-12)  # the ERM run, then Φ, h, d: each on its own schedule


def test_an_unknown_schedule_is_one_line_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"^suite.yaml: budget.schedule: 'cosin' is not one of 'constant', "
                                          r"'cosine', 'one_cycle'; did you mean 'cosine'\?$"):
        parse_config(Budget, {"schedule": "cosin"}, "suite.yaml: budget")
