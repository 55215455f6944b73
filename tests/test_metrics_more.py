"""AD/AI/AG, energy pointing game, rank accuracy, pixel ROC-AUC, IoU@k and Gini: closed forms from
METRICS.md and quantus 0.6 on the same pooled maps."""
import math
import warnings

import numpy as np
import pytest
import quantus
import torch
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.complexity import Gini
from xaibench.metrics.faithfulness import AverageDrop, AverageGain, AverageIncrease
from xaibench.metrics.functional.complexity import gini
from xaibench.metrics.functional.localization import (energy_pointing_game, pixel_roc_auc, relevance_rank_accuracy,
                                                      top_k_iou)
from xaibench.metrics.functional.stats import average_ranks, spearman
from xaibench.metrics.localization import EnergyPointingGame, PixelROCAUC, RelevanceRankAccuracy, TopKIoU


def gen(seed):
    return torch.Generator().manual_seed(seed)


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


class TwoLogits(nn.Module):
    """logits (0, a·x1 + b·x2) on a 1x1x2 input."""

    def __init__(self, a, b):
        super().__init__()
        self.w = torch.tensor([a, b], dtype=torch.float64)

    def forward(self, x):
        z = (x.flatten(1).double() * self.w).sum(1)
        return torch.stack([torch.zeros_like(z), z], 1)


SPEC_X = Batch(torch.ones(1, 1, 1, 2, dtype=torch.float64), torch.tensor([1]))
SPEC_MAP = torch.tensor([[[[1.0, 0.0]]]])


def test_average_drop_spec_value():
    ad = AverageDrop()(TwoLogits(1, 1), SPEC_X, SPEC_MAP, torch.tensor([1])).item()
    assert ad == pytest.approx(100 * (1 - sigmoid(1) / sigmoid(2)), abs=1e-12)
    assert round(ad, 4) == 17.0003


def test_average_drop_pytorch_grad_cam_reference_is_the_logit_drop():
    """METRICS.md §1 switch (the config used to reject it): max(0, Y − O) on logits, not ÷Y: 2 − 1 here."""
    ad = AverageDrop({"reference": "pytorch_grad_cam"})(TwoLogits(1, 1), SPEC_X, SPEC_MAP, torch.tensor([1])).item()
    assert ad == 1.0  # pytorch-grad-cam's own lines on a CNN: tests/test_parity.py


def test_average_increase_and_gain_spec_values():
    model, target = TwoLogits(2, -1), torch.tensor([1])
    assert AverageIncrease()(model, SPEC_X, SPEC_MAP, target).item() == 100
    ag = AverageGain()(model, SPEC_X, SPEC_MAP, target).item()
    assert ag == pytest.approx(100 * (sigmoid(2) - sigmoid(1)) / (1 - sigmoid(1) + 1e-8), abs=1e-9)
    assert round(ag, 4) == 55.6770
    assert AverageDrop()(model, SPEC_X, SPEC_MAP, target).item() == 0


def test_constant_positive_map_gives_zero_ad_ai_ag():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 5))
    batch = Batch(torch.rand(8, 3, 4, 4), torch.arange(8) % 5)
    target = model(batch.x).argmax(1)
    for metric in (AverageDrop(), AverageIncrease(), AverageGain()):
        assert metric(model, batch, torch.full((8, 3, 4, 4), 0.3), target).tolist() == [0.0] * 8


SPEC_MASK = torch.zeros(1, 4, 4)
SPEC_MASK[0, :2, :2] = 1
SPEC_R = 1 + SPEC_MASK  # 2 on a 4-pixel mask, 1 elsewhere


def test_localization_spec_values():
    batch = Batch(torch.rand(1, 1, 4, 4), torch.tensor([0]), SPEC_MASK)
    A = SPEC_R[:, None]
    assert EnergyPointingGame()(None, batch, A, batch.y).item() == 1.0
    assert RelevanceRankAccuracy()(None, batch, A, batch.y).item() == 1.0
    assert TopKIoU()(None, batch, A, batch.y).item() == 1.0
    M = SPEC_MASK[:, None]
    assert [m()(None, batch, M, batch.y).item() for m in (EnergyPointingGame, RelevanceRankAccuracy)] == [1.0, 1.0]


def test_constant_map_gives_the_documented_values():
    mask = (torch.rand(5, 6, 6, generator=gen(1)) > 0.6).double()
    const = torch.full((5, 1, 6, 6), 2.0)
    np.testing.assert_allclose(energy_pointing_game(const, mask), mask.flatten(1).mean(1), rtol=1e-12)
    assert pixel_roc_auc(const, mask).tolist() == [0.5] * 5
    zero = torch.zeros(5, 1, 6, 6)  # all-zero map: minmax gives 0 everywhere, flagged; value |M|/HW
    np.testing.assert_allclose(energy_pointing_game(zero, mask), mask.flatten(1).mean(1), rtol=1e-12)


def test_empty_mask_is_nan_and_full_mask_auc_is_nan():
    A = torch.rand(2, 1, 3, 3, generator=gen(2))
    mask = torch.stack([torch.zeros(3, 3), torch.ones(3, 3)])
    for fn in (energy_pointing_game, relevance_rank_accuracy, top_k_iou):
        out = fn(A, mask)
        assert math.isnan(out[0]) and not math.isnan(out[1])
    assert pixel_roc_auc(A, mask).isnan().all()


def test_pixel_roc_auc_spec_value_and_sklearn():
    assert pixel_roc_auc(torch.tensor([[[.9, .8, .3, .1]]]), torch.tensor([[[1., 0., 1., 0.]]])).item() == 0.75
    R = torch.randint(0, 5, (6, 1, 7, 7), generator=gen(3)).double()  # many ties: they count 1/2
    mask = (torch.rand(6, 7, 7, generator=gen(4)) > 0.5).double()
    ours = pixel_roc_auc(R, mask)
    for i in range(6):
        assert ours[i].item() == pytest.approx(roc_auc_score(mask[i].flatten(), R[i].flatten()), abs=1e-12)


def test_average_ranks_equal_scipy():
    v = torch.randint(0, 4, (3, 20), generator=gen(5)).double()
    np.testing.assert_array_equal(average_ranks(v).numpy(), rankdata(v.numpy(), axis=1))


def quiet(metric_cls, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric_cls(disable_warnings=True, **kwargs)


def test_rank_accuracy_and_roc_auc_equal_quantus_on_the_pooled_map():
    A = torch.randn(10, 3, 8, 8, generator=gen(6), dtype=torch.float64)  # continuous: no ties to break
    mask = (torch.rand(10, 8, 8, generator=gen(7)) > 0.7).double()
    R = A.sum(1).abs()  # our default pooling, handed to quantus as a 1-channel map
    a_batch, s_batch = R[:, None].numpy(), mask[:, None].numpy()
    theirs_rra = quiet(quantus.RelevanceRankAccuracy, abs=False, normalise=False).evaluate_batch(
        a_batch=a_batch, s_batch=s_batch)
    np.testing.assert_allclose(relevance_rank_accuracy(A, mask).numpy(), theirs_rra, rtol=0, atol=1e-12)
    theirs_auc = quiet(quantus.AUC, abs=False, normalise=False).evaluate_batch(a_batch=a_batch, s_batch=s_batch)
    np.testing.assert_allclose(pixel_roc_auc(A, mask).numpy(), theirs_auc, rtol=0, atol=1e-12)


def test_iou_relation_to_rank_accuracy():
    A = torch.rand(12, 1, 9, 9, generator=gen(8))
    mask = (torch.rand(12, 9, 9, generator=gen(9)) > 0.6).double()
    rra = relevance_rank_accuracy(A, mask, index=torch.arange(12))
    np.testing.assert_allclose(top_k_iou(A, mask, index=torch.arange(12)), rra / (2 - rra), rtol=1e-12)
    half = torch.zeros(1, 1, 2, 2); half[0, 0, 0, 0] = 2; half[0, 0, 1, 1] = 1  # RRA 0.5 -> IoU 1/3
    m = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    assert relevance_rank_accuracy(half, m).item() == 0.5 and top_k_iou(half, m).item() == pytest.approx(1 / 3)


def test_gini_spec_values_and_quantus_sparseness():
    batch = Batch(torch.rand(3, 1, 1, 4), torch.zeros(3, dtype=torch.long))
    maps = torch.tensor([[0., 0., 0., 1.], [1., 2., 3., 4.], [2., 2., 2., 2.]]).view(3, 1, 1, 4)
    np.testing.assert_allclose(Gini()(None, batch, maps, batch.y).numpy(), [0.75, 0.25, 0.0], atol=1e-15)
    assert gini(torch.zeros(1, 1, 3, 3)).item() == 0.0
    # quantus.Sparseness adds 1e-7 to every value before the same formula: equal once we do the same.
    a = torch.rand(6, 1, 8, 8, generator=gen(10), dtype=torch.float64)
    theirs = quiet(quantus.Sparseness, abs=False, normalise=False).evaluate_batch(x_batch=None, a_batch=a.numpy().copy())
    np.testing.assert_allclose(gini(a + 1e-7).numpy(), theirs, rtol=0, atol=1e-12)
    assert not np.array_equal(gini(a).numpy(), theirs)  # the shift is a (tiny) deliberate difference


def test_spearman_equals_scipy_and_the_constant_rules():
    from scipy.stats import spearmanr

    a = torch.randint(0, 5, (4, 30), generator=gen(11)).double()
    b = torch.randint(0, 5, (4, 30), generator=gen(12)).double()
    ours = spearman(a, b)
    for i in range(4):
        assert ours[i].item() == pytest.approx(spearmanr(a[i], b[i]).statistic, abs=1e-12)
    const = torch.ones(1, 30)
    assert spearman(const, const).item() == 1.0 and spearman(const, a[:1]).item() == 0.0
