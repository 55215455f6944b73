"""Values of the §7 time-series metrics AUP / AUR: the spec's closed form, hand-computed cases, a literal reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xaibench.batch import Batch
from xaibench.metrics.functional.timeseries import aup, aur, saliency_precision_recall
from xaibench.metrics.timeseries import AUP, AUR
from xaibench.registries import ARCHITECTURES, METRICS, TASKS

P = [k / 10 for k in range(1, 10)]


def trapezoid(values: list[float]) -> float:
    return sum((a + b) / 2 * 0.1 for a, b in zip(values, values[1:]))


def test_spec_closed_form_s_equals_g():
    G = torch.zeros(2, 3, 20)
    G[0, 1, 5:15] = 1  # |G| = 10 in a time window
    G[1, :, 0] = 1; G[1, :, 19] = 1; G[1, 0, 7:11] = 1  # |G| = 10, scattered
    for A in (G, -3 * G, G + 2):  # minmax(|A|) = G for each
        assert aup(A, G).tolist() == pytest.approx([0.8, 0.8], abs=1e-12)
        assert aur(A, G).tolist() == pytest.approx([0.4, 0.4], abs=1e-12)


def test_hand_computed_mass_based_choice_of_x():
    # s = (1, 1/2, 1/4, 1/8, 1/16, 0) on a 2 x 3 map, total 31/16: top-X mass shares 16/31, 24/31, 28/31, ...
    # so X = 1 for p <= .5, X = 2 for p = .6, .7, X = 3 for p = .8, .9 (a count-based top-⌈6p⌉ would differ).
    A = torch.tensor([[[0., 4., 16.], [1., 8., 2.]]])
    G = torch.tensor([[[0., 0., 0.], [1., 1., 0.]]])  # the cells with s = 1/16 and 1/2: Σ_G s = 9/16
    precision, recall = saliency_precision_recall(A, G)
    want_p = [0.0] * 5 + [1 / 3] * 2 + [2 / 7] * 2  # TP/(TP+FP): 0/1, (1/2)/(3/2), (1/2)/(7/4)
    want_r = [0.0] * 5 + [8 / 9] * 4  # (1/2)/(9/16)
    assert precision[0].tolist() == pytest.approx(want_p, abs=1e-15)
    assert recall[0].tolist() == pytest.approx(want_r, abs=1e-15)
    assert aup(A, G).item() == pytest.approx(23 / 210, abs=1e-15)  # = trapezoid(want_p)
    assert aur(A, G).item() == pytest.approx(14 / 45, abs=1e-15)
    assert trapezoid(want_p) == pytest.approx(23 / 210) and trapezoid(want_r) == pytest.approx(14 / 45)


def reference(A: np.ndarray, G: np.ndarray) -> tuple[float, float]:
    """The spec read literally, one sample, continuous values (no ties): grow X until the mass share reaches p."""
    s = np.abs(A).ravel()
    s = (s - s.min()) / (s.max() - s.min())
    g = G.ravel() > 0
    order = np.argsort(-s)
    precision, recall = [], []
    for p in P:
        X = 1
        while s[order[:X]].sum() / s.sum() < p and X < s.size - 1:
            X += 1
        chosen = np.zeros(s.size, bool)
        chosen[order[:X]] = True
        tp, fp, fn = s[chosen & g].sum(), s[chosen & ~g].sum(), s[~chosen & g].sum()
        precision.append(tp / (tp + fp))
        recall.append(tp / (tp + fn))
    return trapezoid(precision), trapezoid(recall)


def test_equals_a_literal_reference_on_random_maps():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(12, 4, 15, generator=g, dtype=torch.float64) ** 3  # heavy tails: X far from a count rule
    G = (torch.rand(12, 4, 15, generator=g) < 0.2).double()
    got_p, got_r = aup(A, G), aur(A, G)
    for i in range(len(A)):
        want_p, want_r = reference(A[i].numpy(), G[i].numpy())
        assert (got_p[i].item(), got_r[i].item()) == pytest.approx((want_p, want_r), abs=1e-12), i


def test_undefined_values_are_excluded():
    G = torch.zeros(4, 2, 5)
    G[:, 0, :2] = 1
    A = torch.rand(4, 2, 5, generator=torch.Generator().manual_seed(1)) + 1
    A[0] = 0  # all-zero map: no saliency, precision undefined
    A[1, 0, :2] = 0.5  # G holds exactly the minimum: s = 0 on G, recall undefined; precision is 0
    G[2] = 0  # no ground truth
    values_p, values_r = aup(A, G), aur(A, G)
    assert values_p[0].isnan() and values_r[0].isnan()
    assert values_p[1].item() == 0.0 and values_r[1].isnan()
    assert values_p[2].isnan() and values_r[2].isnan()
    assert not values_p[3].isnan() and not values_r[3].isnan()


def test_ties_are_broken_by_the_dataset_index():
    # A constant map: every order is a tie, and which cells fill S_p follows the seeded permutation of the index.
    A = torch.ones(3, 2, 10)
    G = torch.zeros(3, 2, 10)
    G[:, 0] = 1
    index = torch.tensor([4, 5, 6])
    full = AUP()(None, Batch(torch.zeros(3, 2, 10), torch.zeros(3, dtype=torch.long), G, index), A, index)
    alone = AUP()(None, Batch(torch.zeros(1, 2, 10), torch.zeros(1, dtype=torch.long), G[2:], index[2:]), A[2:],
                  index[2:])
    assert alone.item() == full[2].item()
    assert len(set(full.tolist())) > 1  # the three indices pick different cells


def test_registered_metadata():
    for name in ("aup", "aur"):
        cls = METRICS.get(name)
        assert (cls.category, cls.higher_is_better, cls.requires) == ("localization", True, frozenset({"mask"}))
        assert cls.modalities == frozenset({"time_series"})
    with pytest.raises(ValueError, match="does not match"):
        aup(torch.ones(1, 2, 5), torch.ones(1, 5, 2))


def test_end_to_end_on_boxes_with_a_registered_model():
    task = TASKS.get("ts_boxes")({"n_train": 2, "n_test": 5})
    batch = task.load("test")
    arch = ARCHITECTURES.get("ts_tcn")
    torch.manual_seed(0)
    model = arch(arch.make_config(), task.meta.input_shape, task.meta.num_classes).eval()
    target = model(batch.x).argmax(1)
    A = torch.randn(batch.x.shape, generator=torch.Generator().manual_seed(0))
    for cls in (AUP, AUR):
        values = cls()(model, batch, A, target)
        assert values.shape == (5,) and values.dtype == torch.float64 and torch.isfinite(values).all()
        assert values.max() <= 0.8 + 1e-12
    # the mask's own saliency is the closed form, whatever the box design
    assert AUP()(model, batch, batch.mask, target).tolist() == pytest.approx([0.8] * 5, abs=1e-12)
    assert not math.isnan(AUR()(model, batch, batch.mask, target)[0].item())
