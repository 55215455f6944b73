"""ROAD values (METRICS.md §1): the spec's closed forms, a scipy spsolve reference, quantus 0.6 on the same inputs."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy.sparse import lil_matrix
from scipy.sparse.linalg import spsolve

from xaibench.batch import Batch
from xaibench.errors import ConfigError
from xaibench.metrics import road as road_metrics
from xaibench.metrics.functional import road as R
from xaibench.metrics.functional.maps import DOMAINS, index_generator, pool, rank_positions
from xaibench.metrics.road import RoadCombined, RoadLeRF, RoadMoRF
from xaibench.models.small_cnn import SmallCNN
from xaibench.parity.metrics import road_quantus_case
from xaibench.parity.transcribed import road_removed_count  # the official code's counts, transcribed
from xaibench.registries import METRICS
from xaibench.testing import const_model


pytestmark = pytest.mark.usefixtures("one_thread")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)



def spec_system(x: np.ndarray, removed: np.ndarray) -> tuple[lil_matrix, np.ndarray, list[tuple[int, int]]]:
    """The spec's system (D - W_UU) v = W_UK x_K of one image, assembled entry by entry: (matrix, right-hand side
    per channel (|U| x C), the removed pixels in order)."""
    c, h, w = x.shape
    unknown = list(zip(*np.nonzero(removed)))
    var = {pix: k for k, pix in enumerate(unknown)}
    a = lil_matrix((len(unknown), len(unknown)))
    rhs = np.zeros((len(unknown), c))
    for k, (i, j) in enumerate(unknown):
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                ii, jj = i + di, j + dj
                if (di, dj) == (0, 0) or not (0 <= ii < h and 0 <= jj < w):
                    continue
                wt = 1 / 12 if di and dj else 1 / 6
                a[k, k] += wt
                if (ii, jj) in var:
                    a[k, var[ii, jj]] -= wt
                else:
                    rhs[k] += wt * x[:, ii, jj]
    return a, rhs, unknown


def spsolve_reference(x: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """The spec's system per image and channel solved by scipy (C x H x W)."""
    c = x.shape[0]
    a, rhs, unknown = spec_system(x, removed)
    out = x.astype(np.float64).copy()
    sol = spsolve(a.tocsc(), rhs).reshape(len(unknown), c)
    for k, (i, j) in enumerate(unknown):
        out[:, i, j] = sol[k]
    return out


# ---- imputation: closed forms --------------------------------------------------------------------------------

def test_hole_in_a_3x3_image_is_the_weighted_neighbour_mean():
    x = torch.full((1, 1, 3, 3), 0.3)
    x[0, 0, ::2, ::2] = 0.6  # corners
    x[0, 0, 1, 1] = 5.0  # the removed value must not matter
    hole = torch.zeros(1, 3, 3, dtype=torch.bool)
    hole[0, 1, 1] = True
    out = R.linear_imputation(x, hole)
    assert out[0, 0, 1, 1].item() == pytest.approx(0.4, abs=1e-7)  # (4·0.3/6 + 4·0.6/12) / 1
    assert torch.equal(out[0, 0][~hole[0]], x[0, 0][~hole[0]])


def test_removed_corner_uses_in_image_neighbours_only():
    x = torch.rand(2, 2, 4, 5, generator=gen(0))
    hole = torch.zeros(2, 4, 5, dtype=torch.bool)
    hole[:, 0, 0] = True
    got = R.linear_imputation(x, hole)[:, :, 0, 0]
    want = (2 * x[:, :, 0, 1] + 2 * x[:, :, 1, 0] + x[:, :, 1, 1]) / 5
    torch.testing.assert_close(got, want, rtol=0, atol=1e-7)


def test_linear_ramp_is_reproduced_when_no_removed_pixel_touches_the_border():
    i, j = torch.meshgrid(torch.arange(12.), torch.arange(15.), indexing="ij")
    x = torch.stack([0.03 * i - 0.02 * j + 0.5, 0.01 * i + 0.04 * j]).unsqueeze(0).repeat(3, 1, 1, 1)
    removed = torch.rand(3, 12, 15, generator=gen(1)) < 0.7
    removed[:, [0, -1]] = removed[:, :, [0, -1]] = False
    removed[2, 2:10, 3:13] = True  # one large interior hole
    torch.testing.assert_close(R.linear_imputation(x, removed), x, rtol=0, atol=1e-6)


def test_a_constant_image_stays_constant():
    x = torch.full((2, 3, 9, 7), 0.37)
    removed = torch.rand(2, 9, 7, generator=gen(2)) < 0.8  # border pixels included
    # Exact in exact arithmetic; CG stops at relative residual 1e-6.
    torch.testing.assert_close(R.linear_imputation(x, removed), x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("h,w", [(8, 8), (13, 10)])
def test_imputation_equals_scipy_spsolve(h, w):
    n, c = 4, 3
    x = torch.rand(n, c, h, w, generator=gen(3))
    removed = torch.rand(n, h, w, generator=gen(4)) < torch.tensor([0.1, 0.5, 0.9, 0.3]).view(-1, 1, 1)
    removed[3, 1:6, 2:7] = True  # an irregular blob
    removed[3, 5, 2] = False
    ours = R.linear_imputation(x, removed)
    for k in range(n):
        np.testing.assert_allclose(ours[k].numpy(), spsolve_reference(x[k].numpy(), removed[k].numpy()),
                                   rtol=0, atol=1e-5)


def test_imputation_meets_the_relative_residual_in_float64():
    # Large holes (90 % removed) need the float64 correction after the float32 pass: the spec's 1e-6 must hold.
    x = torch.rand(3, 2, 28, 28, generator=gen(21), dtype=torch.float64)
    removed = torch.rand(3, 28, 28, generator=gen(22)) < torch.tensor([0.5, 0.9, 0.95]).view(-1, 1, 1)
    out = R.linear_imputation(x, removed).numpy()
    for k in range(3):
        a, rhs, unknown = spec_system(x[k].numpy(), removed[k].numpy())
        v = np.stack([out[k][:, i, j] for i, j in unknown])
        residual = np.linalg.norm(a.tocsr() @ v - rhs, axis=0) / np.linalg.norm(rhs, axis=0)
        assert (residual <= 1e-6 * (1 + 1e-9)).all(), residual


def test_several_removal_sets_per_image_equal_separate_calls():
    x = torch.rand(3, 2, 6, 7, generator=gen(5))
    sets = torch.rand(3, 4, 6, 7, generator=gen(6)) < 0.6
    out = R.linear_imputation(x, sets)
    assert out.shape == (3, 4, 2, 6, 7)
    for s in range(4):
        torch.testing.assert_close(out[:, s], R.linear_imputation(x, sets[:, s]), rtol=0, atol=1e-6)


def test_all_pixels_removed_raises_naming_the_sample():
    removed = torch.zeros(3, 4, 4, dtype=torch.bool)
    removed[1] = True
    with pytest.raises(ValueError, match=r"every pixel is removed for sample\(s\) \[11\]"):
        R.linear_imputation(torch.rand(3, 1, 4, 4), removed, index=torch.tensor([10, 11, 12]))


def test_non_convergence_raises():
    x, removed = torch.rand(1, 1, 10, 10, generator=gen(7)), torch.rand(1, 10, 10, generator=gen(8)) < 0.9
    with pytest.raises(RuntimeError, match="relative residual .* after 2 iterations"):
        R.linear_imputation(x, removed, max_iter=2)


# ---- noise ---------------------------------------------------------------------------------------------------

def test_noise_is_seeded_per_sample_and_only_on_removed_pixels():
    x = torch.rand(5, 2, 6, 6, generator=gen(9))
    removed = torch.rand(5, 6, 6, generator=gen(10)) < 0.5
    index = torch.tensor([3, 8, 1, 20, 7])
    clean = R.linear_imputation(x, removed)
    noisy = R.noisy_linear_imputation(x, removed, noise_std=0.01, seed=4, index=index)
    z = R.imputation_noise((2, 6, 6), index, seed=4)
    torch.testing.assert_close(noisy - clean, 0.01 * z * removed.unsqueeze(1), rtol=0, atol=1e-7)
    assert torch.equal(noisy.permute(0, 2, 3, 1)[~removed], x.permute(0, 2, 3, 1)[~removed])
    # Reproducible by seed, independent of batch order and size; a different seed gives other noise.
    perm = torch.tensor([4, 2, 0, 3, 1])
    again = R.noisy_linear_imputation(x[perm], removed[perm], seed=4, index=index[perm])
    torch.testing.assert_close(again, noisy[perm], rtol=0, atol=1e-7)
    one = R.noisy_linear_imputation(x[3:4], removed[3:4], seed=4, index=index[3:4])
    torch.testing.assert_close(one, noisy[3:4], rtol=0, atol=1e-7)
    other = R.noisy_linear_imputation(x, removed, seed=5, index=index)
    assert (other - noisy)[removed.unsqueeze(1).expand_as(x)].abs().min() > 0


def test_noise_has_its_own_random_stream():
    # v1 drew it from the ranking's tie stream at an offset seed; now it is the "road-noise" domain's own stream.
    z = R.imputation_noise((4, 4), torch.tensor([0, 5]), seed=0)
    for i, j in enumerate([0, 5]):
        assert torch.equal(z[i], torch.randn((4, 4), generator=index_generator("road-noise", 0, j)))
        for other in set(DOMAINS) - {"road-noise"}:
            assert (z[i] - torch.randn((4, 4), generator=index_generator(other, 0, j))).abs().min() > 0


# ---- removal sets and curves ---------------------------------------------------------------------------------

def test_morf_and_lerf_remove_exactly_floor_p_hw_top_and_bottom_pixels():
    h, w = 7, 9  # HW = 63: p·HW is never an integer below
    ps = (0.1, 0.25, 0.5, 0.9)
    pos = torch.randperm(h * w, generator=gen(11)).view(1, h, w)  # each pixel's rank, 0 = most relevant
    sets = R.removal_sets(pos, ps)
    counts = [math.floor(p * h * w) for p in ps]  # 6, 15, 31, 56
    assert sets.flatten(2).sum(2).tolist() == [counts + counts]
    for k, (morf, lerf) in zip(counts, zip(sets[0, :4], sets[0, 4:])):
        assert torch.equal(morf, pos[0] < k) and torch.equal(lerf, pos[0] >= h * w - k)
    assert R.removal_counts(100, (0.29, 0.57)) == [29, 57]  # 0.29 * 100 = 28.999... in binary


@pytest.mark.parametrize("hw", [63, 100, 225, 784, 1024])
def test_removal_counts_against_the_official_code(hw):
    """METRICS.md §1 (ERRATA): MoRF(p) equals the official MoRF(p); our LeRF(p) removes ⌊p·HW⌋, the official
    LeRF called with th_p = 1 − p removes HW − int(HW·(1 − p)): one pixel more whenever p·HW is fractional, and
    also where 1 − p rounds down in binary (HW = 100, p = 0.8: 19.999... → 81 pixels)."""
    ps = [k / 10 for k in range(1, 10)]
    ours = R.removal_counts(hw, ps)
    exact = [Fraction(k, 10) * hw for k in range(1, 10)]
    assert ours == [math.floor(e) for e in exact] == [road_removed_count(hw, p, True) for p in ps]
    lerf = [road_removed_count(hw, 1 - p, False) for p in ps]
    assert lerf == [hw - int(hw * (1 - p)) for p in ps]
    off_by_one = [o - m for o, m in zip(lerf, ours)]
    assert set(off_by_one) <= {0, 1}
    for e, d, p in zip(exact, off_by_one, ps):
        assert d == 1 if e.denominator > 1 else d == (int(hw * (1 - p)) < hw - e)


def test_imputed_curve_images_change_exactly_the_removed_pixels():
    x = torch.rand(2, 1, 10, 10, generator=gen(12))
    sets = R.removal_sets(rank_positions(torch.rand(2, 10, 10, generator=gen(13))), (0.1, 0.37))
    images = R.noisy_linear_imputation(x, sets, noise_std=0.01, index=torch.tensor([0, 1]))
    changed = (images != x.unsqueeze(1)).squeeze(2).flatten(2).sum(2)
    assert changed.tolist() == [[10, 37, 10, 37]] * 2


def test_constant_model_curves_and_auc_closed_form():
    model = const_model([0.0, math.log(3.0)])  # p_0 = 1/4, p_1 = 3/4; argmax = 1
    x, A = torch.rand(4, 3, 6, 6, generator=gen(14)), torch.randn(4, 3, 6, 6, generator=gen(15))
    target, y = torch.tensor([0, 1, 1, 0]), torch.tensor([1, 1, 0, 0])
    rc = R.road_curves(model, x, A, target, y, eval_batch_size=7)
    p_c = torch.tensor([0.25, 0.75, 0.75, 0.25], dtype=torch.float64)
    torch.testing.assert_close(R.road_auc(rc.p, rc.morf_prob), p_c)
    torch.testing.assert_close(R.road_auc(rc.p, rc.lerf_prob), p_c)
    assert R.road_combined(*rc.curves("prob")).tolist() == [0.0] * 4
    assert R.road_auc(rc.p, rc.morf_correct).tolist() == [1.0, 1.0, 0.0, 0.0]
    # acc_target=prediction: the clean prediction (class 1) is kept everywhere.
    assert R.road_curves(model, x, A, target, None).lerf_correct.eq(1).all()


def test_auc_is_the_trapezoid_over_p_divided_by_its_span():
    p = torch.tensor(R.PERCENTAGES, dtype=torch.float64)
    # ∫ p dp over [0.1, 0.9] / 0.8 = (0.81 - 0.01) / 2 / 0.8 = 0.5; trapezoid is exact on a linear curve.
    torch.testing.assert_close(R.road_auc(p, p.view(1, -1)), torch.tensor([0.5], dtype=torch.float64))
    morf, lerf = torch.tensor([[0.2, 0.4]]), torch.tensor([[0.9, 0.5]])
    assert R.road_combined(morf, lerf).tolist() == pytest.approx([(0.7 + 0.1) / 2 / 2])


# ---- registered metrics --------------------------------------------------------------------------------------

def _setup(n: int = 6, seed: int = 16):
    torch.manual_seed(seed)
    model = SmallCNN(SmallCNN.Config(width=4), (1, 12, 12), num_classes=3).eval()
    x = torch.rand(n, 1, 12, 12, generator=gen(seed))
    batch = Batch(x, torch.randint(0, 3, (n,), generator=gen(seed + 1)), index=torch.arange(30, 30 + n))
    A = torch.randn(n, 1, 12, 12, generator=gen(seed + 2))
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, batch, A, target


def test_metric_metadata():
    for name, cls, higher in (("road_morf", RoadMoRF, False), ("road_lerf", RoadLeRF, True),
                              ("road_combined", RoadCombined, True)):
        assert METRICS.get(name) is cls
        assert (cls.higher_is_better, cls.category, bool(cls.label)) == (higher, "faithfulness", True)


@pytest.mark.parametrize("score", ["prob", "accuracy"])
def test_metrics_reduce_one_shared_kernel_call(score, monkeypatch):
    model, batch, A, target = _setup()
    cfg = {"score": score, "percentages": [0.2, 0.5, 0.8], "seed": 3}
    rc = R.road_curves(model, batch.x, A, target, batch.y, index=batch.index, percentages=(0.2, 0.5, 0.8), seed=3)
    calls = []
    monkeypatch.setattr(road_metrics, "road_curves", lambda *a, **k: calls.append(1) or R.road_curves(*a, **k))
    road_metrics.CURVES.clear()
    morf, lerf = rc.curves(score)
    span = 0.8 - 0.2
    torch.testing.assert_close(RoadMoRF(cfg)(model, batch, A, target), torch.trapezoid(morf, rc.p) / span)
    torch.testing.assert_close(RoadLeRF(cfg)(model, batch, A, target), torch.trapezoid(lerf, rc.p) / span)
    torch.testing.assert_close(RoadCombined(cfg)(model, batch, A, target), ((lerf - morf) / 2).mean(1))
    assert len(calls) == 1
    RoadMoRF({**cfg, "pooling": "sum"})(model, batch, A, target)  # other settings: recomputed
    A.mul_(2)  # in-place edit of the same tensor: recomputed
    RoadMoRF(cfg)(model, batch, A, target)
    assert len(calls) == 3


def test_metric_values_do_not_depend_on_batch_order():
    model, batch, A, target = _setup()
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    full = RoadCombined({"eval_batch_size": 18})(model, batch, A, target)
    permuted = RoadCombined({"eval_batch_size": 40})(model, batch[perm], A[perm], target[perm])
    torch.testing.assert_close(permuted, full[perm], rtol=0, atol=1e-9)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"params\.percentages\[1\]: 1\.0 is out of range \(must be > 0 and < 1\)"):
        RoadMoRF({"percentages": [0.5, 1.0]})
    with pytest.raises(ConfigError, match=r"percentages=\[0\.5, 0\.2\]: need at least two strictly increasing"):
        RoadMoRF({"percentages": [0.5, 0.2]})
    with pytest.raises(ConfigError, match="params.score: 'acc'"):
        RoadLeRF({"score": "acc"})


# ---- quantus 0.6 ---------------------------------------------------------------------------------------------

quantus = pytest.importorskip("quantus")


# The imputation equals quantus's port of the official imputer: tests/test_parity.py (road_morf).


def test_morf_correctness_curve_equals_quantus_road():
    rc, theirs, metric = road_quantus_case()  # the docs/PARITY.md inputs
    ours = rc.morf_correct.numpy()
    assert 0 < ours.sum() < ours.size  # both outcomes occur
    np.testing.assert_array_equal(ours, theirs)
    # Deliberate differences: quantus has no LeRF and no p_c curves, and reports accuracy per p over the samples
    # (its postprocess averages evaluation_scores[0], i.e. only the first batch); ours are per sample, with AUCs.
    quantus.ROAD.custom_postprocess(metric)
    np.testing.assert_allclose(list(metric.evaluation_scores.values()), ours.mean(0), rtol=0, atol=1e-12)
