"""Values (not ranges) of the §0/§1/§2 kernels: closed forms from METRICS.md and quantus 0.6 on the same inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.faithfulness import DeletionAUC, InsertionAUC
from xaibench.metrics.functional import faithfulness as F
from xaibench.metrics.functional.localization import pointing_game, relevance_mass_accuracy
from xaibench.metrics.functional.maps import POOLINGS, degenerate, minmax, pool
from xaibench.metrics.localization import PointingGame, RelevanceMassAccuracy
from xaibench.parity.metrics import deletion_case, pixel_flipping, quantus_call
from xaibench.registries import METRICS
from xaibench.testing import const_model

quantus = pytest.importorskip("quantus")


pytestmark = pytest.mark.usefixtures("one_thread")



class MeanModel(nn.Module):
    """Spec model: p_0(x) = mean(x) through logits (log m, log(1 - m)), clamped at 1e-12."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.flatten(1).mean(1)
        return torch.stack([m.clamp(min=1e-12).log(), (1 - m).clamp(min=1e-12).log()], 1)


def small_cnn(c: int = 1, k: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(c, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, k)).eval()


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- §0 pooling, minmax, ranking ---------------------------------------------------------------------------

def test_every_pooling_mode_on_a_hand_example():
    A = torch.tensor([[[[1., -3., 2.]], [[2., 1., -2.]]]])  # N=1, C=2, H=1, W=3
    expected = {
        "sum,abs": [3, 2, 0], "sum,pos": [3, 0, 0], "sum": [3, -2, 0], "max-norm": [2, 3, 2],
        "l1-norm": [3, 4, 4], "l2-norm": [math.sqrt(5), math.sqrt(10), math.sqrt(8)], "l2-norm,sq": [5, 10, 8],
    }
    assert set(expected) == set(POOLINGS)
    for mode, want in expected.items():
        torch.testing.assert_close(pool(A, mode), torch.tensor([[want]], dtype=torch.float32), rtol=0, atol=1e-6)
    assert torch.equal(pool(A[:, 1]), A[:, 1].abs())  # N x H x W is one channel
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(A, "mean")


def test_minmax_and_the_constant_map_rule():
    m = torch.tensor([[[1., 3.], [2., 5.]], [[2., 2.], [2., 2.]], [[0., 0.], [0., 0.]], [[-1., -1.], [-1., -1.]]])
    out = minmax(m)
    assert out.dtype == torch.float64
    assert out.tolist() == [[[0, 0.5], [0.25, 1]], [[1, 1], [1, 1]], [[0, 0], [0, 0]], [[0, 0], [0, 0]]]
    assert degenerate(m).tolist() == [False, True, True, True]


# ---- §1 deletion / insertion ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,n_steps", [((10, 10), 100), ((7, 9), 10), ((10, 15), 100)])
def test_constant_output_gives_auc_p(shape, n_steps):
    model = const_model([0.3, -1.2, 0.8])
    p = torch.tensor([0.3, -1.2, 0.8]).softmax(0).double()
    x = torch.rand(4, 3, *shape, generator=gen(1))
    A = torch.randn(4, 3, *shape, generator=gen(2))
    target = torch.tensor([0, 1, 2, 1])
    for sub in ("zeros", "blur", "mean"):
        d = F.deletion_auc(model, x, A, target, n_steps=n_steps, substrate=sub, mean=[0.4, 0.5, 0.6])
        torch.testing.assert_close(d, p[target], rtol=0, atol=1e-12)
    for start in ("blur", "zeros"):
        ins = F.insertion_auc(model, x, A, target, n_steps=n_steps, start=start)
        torch.testing.assert_close(ins, p[target], rtol=0, atol=1e-12)


def test_step_grid_when_s_does_not_divide_hw():
    assert F.step_sizes(100, 100) == (1, 100) and F.step_sizes(784, 100) == (8, 98) and F.step_sizes(63, 10) == (7, 9)
    t, curves = F.deletion_curve(const_model([0., 0.]), torch.rand(1, 1, 5, 6), torch.rand(1, 1, 5, 6),
                                 torch.tensor([0]), n_steps=4)  # s = 8, n = 4: last step removes 6 pixels
    assert t.tolist() == [0, 8 / 30, 16 / 30, 24 / 30, 1] and curves.shape == (1, 5)


@pytest.mark.parametrize("A_kind", ["random", "constant", "signed"])
def test_mean_model_gives_one_half_for_any_ranking(A_kind):
    x = torch.ones(3, 1, 10, 10)
    A = {"random": torch.rand(3, 1, 10, 10, generator=gen(3)), "constant": torch.ones(3, 1, 10, 10),
         "signed": torch.randn(3, 1, 10, 10, generator=gen(4))}[A_kind]
    target = torch.zeros(3, dtype=torch.long)
    t, dc = F.deletion_curve(MeanModel(), x, A, target)
    _, ic = F.insertion_curve(MeanModel(), x, A, target, start="zeros")
    torch.testing.assert_close(dc, (1 - t).expand(3, -1), rtol=0, atol=1e-6)  # p_0(x_k) = 1 - k/100
    torch.testing.assert_close(ic, t.expand(3, -1), rtol=0, atol=1e-6)
    torch.testing.assert_close(F.auc(t, dc), torch.full((3,), 0.5, dtype=torch.float64), rtol=0, atol=1e-7)
    torch.testing.assert_close(F.insertion_auc(MeanModel(), x, A, target, start="zeros"),
                               torch.full((3,), 0.5, dtype=torch.float64), rtol=0, atol=1e-7)


def test_curve_endpoints_substrates_and_chunking():
    model = small_cnn(c=2)
    x = torch.rand(5, 2, 12, 12, generator=gen(5))
    A = torch.randn(5, 2, 12, 12, generator=gen(6))
    target = torch.tensor([0, 1, 2, 0, 1])
    probs = lambda z: model(z).softmax(-1)[torch.arange(5), target].double()  # noqa: E731
    mean = [0.25, 0.75]
    mean_img = torch.tensor(mean).view(1, 2, 1, 1).expand_as(x)
    with torch.no_grad():
        for sub, end in (("zeros", torch.zeros_like(x)), ("blur", F.blur(x)), ("mean", mean_img)):
            _, c = F.deletion_curve(model, x, A, target, substrate=sub, mean=mean)
            torch.testing.assert_close(c[:, 0], probs(x), rtol=0, atol=1e-6)
            torch.testing.assert_close(c[:, -1], probs(end), rtol=0, atol=1e-6)
        _, c = F.insertion_curve(model, x, A, target)
        torch.testing.assert_close(c[:, 0], probs(F.blur(x)), rtol=0, atol=1e-6)
        torch.testing.assert_close(c[:, -1], probs(x), rtol=0, atol=1e-6)
    # Chunk boundaries inside a sample's curve change nothing.
    torch.testing.assert_close(F.deletion_auc(model, x, A, target, eval_batch_size=7),
                               F.deletion_auc(model, x, A, target, eval_batch_size=1000), rtol=0, atol=1e-7)


def test_blur_kernel_is_rises_gkern():
    ndimage = pytest.importorskip("scipy.ndimage")
    delta = np.zeros((11, 11))
    delta[5, 5] = 1
    np.testing.assert_allclose(F.gaussian_kernel(11, 5.0).numpy(), ndimage.gaussian_filter(delta, 5), atol=1e-15)
    # Zero padding: a constant image darkens towards the border, the centre keeps its value.
    b = F.blur(torch.ones(1, 1, 21, 21, dtype=torch.float64))
    assert abs(b[0, 0, 10, 10].item() - 1) < 1e-12 and b[0, 0, 0, 0].item() < 0.5


def test_metric_classes_follow_the_dataset_index():
    model = small_cnn()
    x = torch.rand(6, 1, 8, 8, generator=gen(7))
    A = torch.ones(6, 1, 8, 8)  # all ties: the ranking comes from the seeded permutation only
    A[:3] = torch.rand(3, 1, 8, 8, generator=gen(8))
    batch = Batch(x, torch.zeros(6, dtype=torch.long), index=torch.arange(100, 106))
    target = model(x).argmax(1)
    perm = torch.tensor([5, 3, 1, 0, 4, 2])
    for metric in (DeletionAUC(), InsertionAUC(), DeletionAUC({"substrate": "mean", "mean": [0.5]})):
        v = metric(model, batch, A, target)
        assert v.dtype == torch.float64 and v.shape == (6,)
        # Equal up to float32 conv noise from different chunk compositions (the rankings are identical).
        torch.testing.assert_close(metric(model, batch[perm], A[perm], target[perm]), v[perm], rtol=0, atol=1e-7)
        torch.testing.assert_close(metric(model, batch[2:5], A[2:5], target[2:5]), v[2:5], rtol=0, atol=1e-7)


def test_mean_substrate_defaults_to_the_models_training_mean():
    from xaibench.models.small_cnn import SmallCNN
    model = SmallCNN(SmallCNN.Config(width=4), (1, 8, 8), num_classes=3, mean=[0.3], std=[0.5]).eval()
    batch = Batch(torch.rand(2, 1, 8, 8, generator=gen(9)), torch.tensor([0, 1]))
    A, target = torch.rand(2, 1, 8, 8, generator=gen(10)), torch.tensor([0, 1])
    assert torch.equal(DeletionAUC({"substrate": "mean"})(model, batch, A, target),
                       DeletionAUC({"substrate": "mean", "mean": [0.3]})(model, batch, A, target))


def test_registered_metadata():
    # Deletion/insertion 2: the blur in elementwise passes; 3 (pointing game 2): the exact ranking of METRICS.md §0.
    # RMA does not rank.
    for name, cls, label, hib, version in (("deletion_auc", DeletionAUC, "Deletion AUC", False, "3"),
                                           ("insertion_auc", InsertionAUC, "Insertion AUC", True, "3"),
                                           ("pointing_game", PointingGame, "Pointing game", True, "2"),
                                           ("relevance_mass_accuracy", RelevanceMassAccuracy, "Relevance mass", True,
                                            "1")):
        assert METRICS.get(name).__qualname__ == cls.__qualname__
        assert (cls.label, cls.higher_is_better, cls.version) == (label, hib, version) and cls.description()
    assert PointingGame.requires == RelevanceMassAccuracy.requires == frozenset({"mask"})


# ---- §2 localization ------------------------------------------------------------------------------------------

def test_pointing_game_tolerance():
    A = torch.zeros(1, 1, 8, 8)
    A[0, 0, 3, 4] = 1
    mask = torch.zeros(1, 8, 8)
    mask[0, 3, 6] = 1
    for tol, want in ((0, 0.0), (1.9, 0.0), (2, 1.0), (None, 0.0)):  # None = 0 px below 64 px
        assert pointing_game(A, mask, tolerance=tol).item() == want
    big_A, big_mask = torch.zeros(1, 1, 64, 64), torch.zeros(1, 64, 64)
    big_A[0, 0, 30, 30], big_mask[0, 30 + 9, 30 + 12] = 1, 1  # distance 15: within the default 15 px
    assert pointing_game(big_A, big_mask).item() == 1.0
    assert math.isnan(pointing_game(A, torch.zeros(1, 8, 8)).item())


def test_relevance_mass_accuracy_closed_forms():
    M = torch.zeros(1, 4, 4)
    M[0, 1:3, 1:3] = 1
    R = 1 + M  # 2 on the 4-pixel mask, 1 elsewhere: 8 / 20
    assert relevance_mass_accuracy(R, M).item() == pytest.approx(0.4, abs=1e-15)
    assert relevance_mass_accuracy(M, M).item() == 1.0
    assert relevance_mass_accuracy(torch.zeros(1, 4, 4), M).item() == 4 / 16  # sum R = 0 -> |M| / HW
    assert math.isnan(relevance_mass_accuracy(R, torch.zeros(1, 4, 4)).item())
    A = torch.stack([R, -2 * R], 1)  # channels pool to sum,abs = R, sum,pos = 0 -> |M| / HW
    assert relevance_mass_accuracy(A, M).item() == pytest.approx(0.4, abs=1e-15)
    assert relevance_mass_accuracy(A, M, pooling="sum,pos").item() == 0.25


def test_localization_classes_read_batch_mask_and_index():
    A = torch.rand(4, 3, 8, 8, generator=gen(11))
    mask = (torch.rand(4, 8, 8, generator=gen(12)) > 0.6).float()
    batch = Batch(torch.rand(4, 3, 8, 8), torch.zeros(4, dtype=torch.long), mask, torch.arange(20, 24))
    target = torch.zeros(4, dtype=torch.long)
    assert torch.equal(PointingGame()(None, batch, A, target), pointing_game(A, mask, index=batch.index))
    assert torch.equal(RelevanceMassAccuracy({"pooling": "l2-norm"})(None, batch, A, target),
                       relevance_mass_accuracy(A, mask, pooling="l2-norm"))
    with pytest.raises(ValueError, match="mask"):
        PointingGame()(None, Batch(batch.x, batch.y), A, target)


# ---- quantus 0.6 references ---------------------------------------------------------------------------------

def test_pointing_game_matches_quantus_with_a_unique_max():
    n, h, w = 32, 12, 12
    A = torch.rand(n, 3, h, w, generator=gen(13))
    R = pool(A)
    flat = R.flatten(1)
    flat[torch.arange(n), flat.argmax(1)] += 0.5  # a unique maximum
    A = R.unsqueeze(1)
    mask = (torch.rand(n, h, w, generator=gen(14)) > 0.7).float()
    mask[0] = 0  # empty mask
    ours = pointing_game(A, mask).numpy()
    theirs = quantus_call(quantus.PointingGame(abs=False, normalise=False, disable_warnings=True), model=None,
                      x_batch=torch.rand(n, 1, h, w).numpy(), y_batch=np.zeros(n, dtype=int),
                      a_batch=A.numpy(), s_batch=mask.unsqueeze(1).numpy())
    assert 0 < np.nansum(ours) < n - 1  # both hits and misses occur
    np.testing.assert_array_equal(ours[1:], theirs[1:])
    # Deliberate difference (§10): quantus writes NaN into a bool array, so an empty mask counts as a hit.
    assert np.isnan(ours[0]) and theirs[0] == 1.0


def test_pointing_game_quantus_hits_on_any_tied_max():
    A = torch.zeros(1, 1, 6, 6)
    A[0, 0, 0, 0] = A[0, 0, 5, 5] = 1
    mask = torch.zeros(1, 6, 6)
    mask[0, 5, 5] = 1
    theirs = quantus_call(quantus.PointingGame(abs=False, normalise=False, disable_warnings=True), model=None,
                      x_batch=torch.rand(1, 1, 6, 6).numpy(), y_batch=np.zeros(1, dtype=int),
                      a_batch=A.numpy(), s_batch=mask.unsqueeze(1).numpy())
    assert theirs.tolist() == [1.0]  # quantus: any tied max on the mask hits; ours picks one seeded point
    points = [pointing_game(A, mask, index=torch.tensor([i])).item() for i in range(20)]
    assert set(points) == {0.0, 1.0}


@pytest.mark.parametrize("pooling", POOLINGS)
def test_relevance_mass_accuracy_matches_quantus_on_the_pooled_map(pooling):
    n, h, w = 16, 9, 11
    A = torch.randn(n, 3, h, w, generator=gen(15), dtype=torch.float64)
    mask = (torch.rand(n, h, w, generator=gen(16)) > 0.5).double()
    mask[0] = 0  # empty mask: NaN in both
    A[1] = 0  # all-zero map
    R = pool(A, pooling)
    ours = relevance_mass_accuracy(A, mask, pooling=pooling).numpy()
    theirs = quantus_call(quantus.RelevanceMassAccuracy(abs=False, normalise=False, disable_warnings=True), model=None,
                      x_batch=torch.rand(n, 1, h, w).numpy(), y_batch=np.zeros(n, dtype=int),
                      a_batch=R.unsqueeze(1).numpy(), s_batch=mask.unsqueeze(1).numpy())
    np.testing.assert_allclose(ours[2:], theirs[2:], rtol=1e-12, atol=0)
    assert np.isnan(ours[0]) and np.isnan(theirs[0])
    # Deliberate difference: an all-zero map is 0/0 = NaN in quantus, |M|/HW here.
    assert np.isnan(theirs[1]) and ours[1] == mask[1].mean().item()


@pytest.mark.parametrize("channels,size", [(1, 10), (1, 20), (3, 12)])
def test_deletion_curve_matches_quantus_pixel_flipping(channels, size):
    n = 6
    model, x, A, target, index, t, ours = deletion_case(channels, size, n)  # the docs/PARITY.md inputs
    s, steps = F.step_sizes(size * size, 100)
    # Same ranking: quantus argsorts the attributions descending over C x H x W values; give it our pooled map per
    # channel (no ties across pixels), so a pixel's C channel values sort together and C s features = s pixels.
    r = pool(A).unsqueeze(1).expand(-1, channels, -1, -1).numpy()
    theirs = pixel_flipping(model, x, r, target, s * channels)
    # Quantus's curve omits the unperturbed point k = 0: it is our curve[:, 1:].
    assert theirs.shape == (n, steps) and ours.shape == (n, steps + 1)
    np.testing.assert_allclose(ours[:, 1:].numpy(), theirs, rtol=0, atol=1e-6)
    # Its AUC (np.trapz, dx = 1, on those n points) maps to ours by adding the first trapezoid and rescaling.
    auc_q = getattr(np, "trapezoid", None) or np.trapz  # quantus.helpers.utils.calculate_auc = np.trapz, dx = 1
    auc_q = auc_q(theirs, dx=1, axis=1)
    np.testing.assert_allclose(F.auc(t, ours).numpy(), (auc_q + (ours[:, 0] + ours[:, 1]).numpy() / 2) / steps,
                               rtol=0, atol=1e-6)


def test_quantus_black_baseline_is_the_image_minimum():
    model = small_cnn(seed=2)
    x = 0.2 + 0.8 * torch.rand(1, 1, 10, 10, generator=gen(19))  # no zero pixel
    A = torch.randn(1, 1, 10, 10, generator=gen(20))
    target = model(x).argmax(1)
    _, zeros = F.deletion_curve(model, x, A, target)
    _, at_min = F.deletion_curve(model, x, A, target, substrate="mean", mean=[x.min().item()])
    theirs = pixel_flipping(model, x, pool(A).unsqueeze(1).numpy(), target, 1)
    np.testing.assert_allclose(at_min[:, 1:].numpy(), theirs, rtol=0, atol=1e-6)
    assert np.abs(zeros[:, 1:].numpy() - theirs).max() > 1e-3


def test_curve_metrics_keep_their_mean_curve_in_details():
    """The leaderboard plots read ``Metric.details``: the mean over samples of the metric's own curves."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    batch = Batch(torch.rand(5, 1, 4, 4), torch.tensor([0, 1, 2, 0, 1]))
    metric = DeletionAUC({"n_steps": 4})
    A = torch.rand(5, 1, 4, 4)
    t, curves = metric.curves(model, batch, A, batch.y)
    metric(model, batch, A, batch.y)
    series = metric.details["curves"]["series"]["deletion"]
    assert series["x"] == [0.0, 0.25, 0.5, 0.75, 1.0] == t.tolist()
    assert series["y"] == curves.double().mean(0).tolist()


def test_sgt_masked_accuracy_closed_form():
    """METRICS.md §1 (SGT protocol): top-d pixels by mean_c|A| take the image's top-left value; no retraining."""
    from xaibench.metrics.functional.masked_accuracy import masked_inputs
    from xaibench.metrics.masked_accuracy import MaskedAccuracy

    x = torch.tensor([[[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]]])  # 2 channels
    A = torch.tensor([[[[0., -3.], [1., 0.]], [[0., 1.], [-2., 1.]]]])  # mean_c|A|: 0, 2, 1.5, 0.5
    assert masked_inputs(x, A, 0.5).tolist() == [[[[1., 1.], [1., 4.]], [[5., 5.], [5., 8.]]]]
    # logit of class 1 = pixel (1, 1) of channel 0 - 2.5: class 1 until that pixel takes the top-left value
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 2))
    with torch.no_grad():
        model[1].weight.zero_(), model[1].bias.zero_()
        model[1].weight[1, 3], model[1].bias[1] = 1.0, -2.5
    A_last = torch.zeros(1, 2, 2, 2); A_last[0, 0, 1, 1] = 1  # ranks pixel (1, 1) first
    batch = Batch(x, torch.tensor([1]))
    metric = MaskedAccuracy()
    value = metric(model, batch, A_last, batch.y)
    # k = floor(4d) pixels removed for d = 0, .1, ..., .9: correct only while k = 0 (d < .25)
    assert metric.details["curves"]["series"]["masked_accuracy"]["y"] == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert value.item() == pytest.approx((0.1 + 0.1 + 0.05) / 0.9, abs=1e-15)


def test_masked_accuracy_curve_ranks_once_and_equals_masked_inputs_per_fraction():
    """The curve ranks each chunk once for every fraction; its inputs are masked_inputs' for each fraction."""
    from xaibench.metrics.functional.masked_accuracy import FRACTIONS, masked_accuracy_curve, masked_inputs

    model = small_cnn(c=2)
    x, A = torch.rand(7, 2, 12, 12, generator=gen(21)), torch.randn(7, 2, 12, 12, generator=gen(22))
    A[2] = 0  # a constant map: ranked by its seeded permutation
    y, index = torch.randint(0, 3, (7,), generator=gen(23)), torch.arange(30, 37)
    seen = []
    model.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0].clone()))
    with torch.no_grad():
        curve = masked_accuracy_curve(model, x, A, y, index=index, tie_seed=4, eval_batch_size=7)
        expected = [masked_inputs(x, A, d, index, tie_seed=4) for d in FRACTIONS]
    assert len(seen) == len(FRACTIONS) and all(torch.equal(s, e) for s, e in zip(seen, expected))
    with torch.no_grad():
        assert torch.equal(curve, torch.stack([model(e).argmax(1) == y for e in expected], 1).double())
