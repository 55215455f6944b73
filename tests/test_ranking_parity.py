"""The exact ranking of METRICS.md §0 (``maps.rank_order``): parity with quantus 0.6 on random CNN cases, the seeded
order of exact ties, and one ranking shared by every ranking kernel. ERRATA.md withdrew v1's r = minmax(R) + 1e-4 z,
whose noise reordered distinct values about 1e-4 apart."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from xaibench.metrics.explainers.saliency import Saliency
from xaibench.metrics.functional import faithfulness as F
from xaibench.metrics.functional import maps
from xaibench.metrics.functional.localization import pointing_game, relevance_rank_accuracy, top_k_iou
from xaibench.metrics.functional.maps import DOMAINS, index_draws, index_generator, pool, rank_order, rank_positions
from xaibench.metrics.functional.masked_accuracy import masked_inputs
from xaibench.metrics.functional.road import removal_sets, road_curves
from xaibench.metrics.functional.roar import removal_mask
from xaibench.metrics.functional.text import token_ranks
from xaibench.models.small_cnn import SmallCNN

quantus = pytest.importorskip("quantus")

pytestmark = pytest.mark.usefixtures("one_thread")

N_CASES, SIZE, STEPS = 64, 28, 28  # 28 x 28 pixels, 28 deletion steps of 28 pixels (quantus needs s | HW)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def quiet(metric_cls, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric_cls(disable_warnings=True, **kwargs)


@pytest.fixture(scope="module")
def cnn_cases():
    """64 random CNN cases: SmallCNN at its initialization, uniform 28 x 28 inputs, Saliency maps for the predicted
    class (logits scaled up), random masks (each with its own density in 10-90%). Kept: maps without exact ties (so a unique maximum), where any two correct rankings
    agree; quantus breaks exact ties by numpy's unstable argsort, ours by the seeded permutation (tested below)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), (1, SIZE, SIZE), num_classes=3).eval()
    with torch.no_grad():
        model.classifier.weight *= 30  # confident logits, so p_c moves along the curves (the ranking is unchanged)
    x = torch.rand(N_CASES + 16, 1, SIZE, SIZE, generator=gen(1))
    with torch.no_grad():
        target = model(x).argmax(1)
    with Saliency(model) as e:
        A = e.explain(x, target)
    flat = pool(A).flatten(1)
    distinct = torch.tensor([torch.unique(f).numel() == f.numel() for f in flat])
    keep = distinct.nonzero().flatten()[:N_CASES]
    assert len(keep) == N_CASES
    g = gen(2)
    mask = (torch.rand(N_CASES, SIZE, SIZE, generator=g) < 0.1 + 0.8 * torch.rand(N_CASES, 1, 1, generator=g)).double()
    # The premise of the issue: neighbouring values of real maps lie about 1e-4 apart after minmax, where v1's
    # noise reordered them.
    s = maps.minmax(flat[keep]).sort(1).values
    assert (s.diff(dim=1).median() < 1e-3).item()
    torch.set_num_threads(threads)
    return model, x[keep], A[keep], target[keep], mask


def test_rank_accuracy_equals_quantus_on_cnn_cases(cnn_cases):
    _, _, A, _, mask = cnn_cases
    R = pool(A)
    theirs = quiet(quantus.RelevanceRankAccuracy, abs=False, normalise=False).evaluate_batch(
        a_batch=R[:, None].numpy(), s_batch=mask[:, None].numpy())
    ours = relevance_rank_accuracy(A, mask, index=torch.arange(N_CASES)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert len(np.unique(ours)) > 10  # varied values, not a degenerate agreement


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.5])
def test_top_k_iou_equals_quantus_top_k_intersection_mapped_to_iou(cnn_cases, fraction):
    """Deliberate difference: quantus.TopKIntersection is |B ∩ M| / k (precision of the top-k set B); ours is the IoU
    |B ∩ M| / |B ∪ M| (METRICS.md §2). With |B| = k: IoU = q k / (k + |M| - q k)."""
    _, _, A, _, mask = cnn_cases
    k = int(fraction * SIZE * SIZE)
    q = quiet(quantus.TopKIntersection, k=k, abs=False, normalise=False).evaluate_batch(
        a_batch=pool(A)[:, None].numpy(), s_batch=mask[:, None].numpy())
    m = mask.flatten(1).sum(1).numpy()
    ours = top_k_iou(A, mask, fraction=fraction, index=torch.arange(N_CASES)).numpy()
    np.testing.assert_allclose(ours, q * k / (k + m - q * k), rtol=0, atol=1e-6)
    assert np.abs(ours - q).max() > 0.05  # the two definitions really differ
    # k = |M| (our default): IoU = RRA / (2 - RRA), RRA being quantus's rank accuracy.
    rra = quiet(quantus.RelevanceRankAccuracy, abs=False, normalise=False).evaluate_batch(
        a_batch=pool(A)[:, None].numpy(), s_batch=mask[:, None].numpy())
    np.testing.assert_allclose(top_k_iou(A, mask).numpy(), rra / (2 - rra), rtol=0, atol=1e-6)


def test_pointing_game_equals_quantus_on_cnn_cases(cnn_cases):
    _, x, A, _, mask = cnn_cases
    theirs = np.asarray(quiet(quantus.PointingGame, abs=False, normalise=False)(
        model=None, x_batch=x.numpy(), y_batch=np.zeros(N_CASES, dtype=int), a_batch=pool(A)[:, None].numpy(),
        s_batch=mask[:, None].numpy()), dtype=np.float64)
    ours = pointing_game(A, mask, tolerance=0).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert 0 < ours.sum() < N_CASES


def test_deletion_curve_equals_quantus_pixel_flipping_with_a_constant_baseline(cnn_cases):
    model, x, A, target, _ = cnn_cases
    s, n = F.step_sizes(SIZE * SIZE, STEPS)
    assert (s, n) == (28, 28)
    t, ours = F.deletion_curve(model, x, A, target, index=torch.arange(N_CASES), n_steps=STEPS)
    metric = quiet(quantus.PixelFlipping, features_in_step=s, perturb_baseline=0.0, abs=False, normalise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.asarray(metric(model=model, x_batch=x.numpy(), y_batch=target.numpy(),
                                   a_batch=pool(A)[:, None].numpy(), softmax=True, device="cpu"), dtype=np.float64)
    # quantus's curve omits the unperturbed point k = 0: ours[:, 1:]. 1792 points.
    assert theirs.shape == (N_CASES, n)
    np.testing.assert_allclose(ours[:, 1:].numpy(), theirs, rtol=0, atol=1e-6)
    assert np.ptp(theirs) > 0.1


# ---- distinct values keep their exact order -----------------------------------------------------------------

def test_values_1e5_apart_keep_their_order():
    """Failed with v1: its 1e-4 noise swapped values closer than about 1e-4 after minmax."""
    R = torch.zeros(40, 10, 10)
    R[:, 0, 0] = 1.0  # the maximum, and the minimum 0 at (9, 9): minmax is the identity
    R[:, 1:9] = 0.5 + 1e-5 * torch.arange(80.).view(8, 10)  # 80 values 1e-5 apart
    mask = torch.zeros(40, 10, 10)
    mask[:, 0, 0] = 1
    mask[:, 5:9] = 1  # the top 40 of the cluster: the exact top-41 is the mask
    index = torch.arange(40)
    assert relevance_rank_accuracy(R, mask, index=index).tolist() == [1.0] * 40
    expected = torch.cat([torch.tensor([0]), 89 - torch.arange(80)])  # (0, 0), then the cluster (flat 10..89) down
    assert torch.equal(rank_order(R, index)[:, :81], expected.expand(40, 81))
    # Two maxima 1e-5 apart: the pointing game takes the larger every time.
    close = torch.zeros(40, 10, 10)
    close[:, 2, 2], close[:, 7, 7] = 1.0, 1.0 - 1e-5
    hit = torch.zeros(40, 10, 10)
    hit[:, 2, 2] = 1
    assert pointing_game(close, hit, index=index, tolerance=0).tolist() == [1.0] * 40


def test_adjacent_floats_keep_their_order():
    v = torch.tensor(0.3)
    R = torch.stack([torch.nextafter(v, torch.tensor(1.)), v, torch.nextafter(v, torch.tensor(0.))]).view(1, 3)
    for i in range(20):
        assert rank_order(R, torch.tensor([i])).tolist() == [[0, 1, 2]]


# ---- exact ties: a seeded permutation per sample --------------------------------------------------------------

def test_ties_follow_a_permutation_seeded_by_tie_seed_and_index():
    R = torch.tensor([[2., 1., 1., 1., 0., 1., 2.]]).expand(3, -1)
    index = torch.tensor([4, 9, 2])
    order = rank_order(R, index, tie_seed=5)
    for i, j in enumerate(index.tolist()):
        perm = torch.randperm(7, generator=index_generator("ties", 5, j))  # the documented construction
        want = perm[R[i][perm].argsort(descending=True, stable=True)]
        assert torch.equal(order[i], want)
        assert set(order[i, :2].tolist()) == {0, 6} and order[i, -1].item() == 4  # values stay in order
    assert torch.equal(rank_positions(R, index, 5).flatten(1).argsort(1), order)  # positions invert the order


def test_ties_ignore_batch_order_size_and_device_of_the_other_samples():
    R = torch.randint(0, 3, (12, 6, 6), generator=gen(3)).float()  # many exact ties
    R[4] = 0.25  # a constant map
    index = torch.randperm(1000, generator=gen(4))[:12]
    order = rank_order(R, index)
    perm = torch.randperm(12, generator=gen(5))
    assert torch.equal(rank_order(R[perm], index[perm]), order[perm])
    for lo in range(12):
        assert torch.equal(rank_order(R[lo:lo + 1], index[lo:lo + 1]), order[lo:lo + 1])
    assert torch.equal(rank_order(R.double(), index), order)  # exact values: the dtype changes nothing
    assert not torch.equal(rank_order(R, index, tie_seed=1), order)
    assert torch.equal(rank_order(R), rank_order(R, torch.arange(12)))  # index defaults to 0..N-1


def test_a_constant_map_ranks_at_random():
    R = torch.full((400, 2, 2), 0.7)
    top = rank_order(R, torch.arange(400))[:, 0]
    counts = torch.bincount(top, minlength=4)
    assert counts.min() > 60  # every pixel comes first about a quarter of the time (100 expected)
    assert len({tuple(o) for o in rank_order(R, torch.arange(400)).tolist()}) == 24  # all 4! orders occur


def _strict(R: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """A tie-free map (positive, distinct) whose exact order is R's seeded order."""
    pos = rank_positions(R, index)
    return (pos.shape[-1] * pos.shape[-2] - pos).float()


def test_every_image_kernel_ranks_through_the_one_ranking(monkeypatch):
    """A tied map scores as the tie-free map of its seeded order, in every ranking kernel; in chunks of one sample,
    and with the batch permuted (with its indices), every value follows its sample."""
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(width=4), (1, 8, 8), num_classes=3).eval()
    n = 7
    x = torch.rand(n, 1, 8, 8, generator=gen(6))
    R = torch.randint(0, 3, (n, 8, 8), generator=gen(7)).float()
    R[2] = 1.0  # constant
    A = R.unsqueeze(1)
    index = torch.tensor([31, 5, 17, 2, 44, 8, 23])
    strict = _strict(R, index).unsqueeze(1)
    mask = (torch.rand(n, 8, 8, generator=gen(8)) > 0.6).float()
    with torch.no_grad():
        target = model(x).argmax(1)
    kernels = {
        "pointing_game": lambda A, i: pointing_game(A, mask[i], index=index[i]),
        "rra": lambda A, i: relevance_rank_accuracy(A, mask[i], index=index[i]),
        "top_k_iou": lambda A, i: top_k_iou(A, mask[i], fraction=0.3, index=index[i]),
        "roar": lambda A, i: removal_mask(A, 0.3, "roar", index=index[i]),
        "kar": lambda A, i: removal_mask(A, 0.3, "kar", index=index[i]),
        "roar_value": lambda A, i: removal_mask(A, 0.3, "roar", rank_unit="value", index=index[i]),
        "masked": lambda A, i: masked_inputs(x[i], A, 0.4, index[i]),
        "road_sets": lambda A, i: removal_sets(rank_positions(pool(A), index[i]), (0.1, 0.5)),
        "deletion": lambda A, i: F.deletion_curve(model, x[i], A, target[i], index=index[i], n_steps=8)[1],
        "insertion": lambda A, i: F.insertion_curve(model, x[i], A, target[i], index=index[i], n_steps=8)[1],
        "road": lambda A, i: road_curves(model, x[i], A, target[i], index=index[i], percentages=(0.2, 0.6),
                                         noise_std=0.0).morf_prob,
    }
    every = torch.arange(n)
    perm = torch.tensor([3, 6, 0, 2, 5, 1, 4])
    for name, kernel in kernels.items():
        tied = kernel(A, every)
        assert torch.equal(tied, kernel(strict, every)), name
        # Forward passes on other batch compositions: equal up to float32 rounding (issue 17), not bitwise.
        torch.testing.assert_close(kernel(A[perm], perm), tied[perm], rtol=0, atol=1e-6, msg=name)
        monkeypatch.setattr(maps, "CHUNK_ELEMENTS", 1)  # one sample per chunk
        torch.testing.assert_close(kernel(A, every), tied, rtol=0, atol=1e-6, msg=name)
        monkeypatch.setattr(maps, "CHUNK_ELEMENTS", 2**20)


def test_token_ranks_rank_exact_scores_with_padding_last():
    x = torch.tensor([[3, 4, 5, 6, 7, 0, 0]])
    R = torch.tensor([[0.5, 0.5 + 1e-6, 0.2, 0.2, 0.9, 5.0, 5.0]]).double()  # padding scores are ignored
    for i in range(10):
        ranks = token_ranks(R, x, index=torch.tensor([i]))[0].tolist()
        assert ranks[4] == 0 and ranks[1] == 1 and ranks[0] == 2 and sorted(ranks[2:4]) == [3, 4]
        assert sorted(ranks[5:]) == [5, 6]
    orders = {tuple(token_ranks(R, x, index=torch.tensor([i]))[0, 2:4].tolist()) for i in range(10)}
    assert orders == {(3, 4), (4, 3)}  # the tie follows the index


# ---- per-index random streams -----------------------------------------------------------------------------------

def test_each_use_has_its_own_random_stream():
    def normal(g):
        return torch.randn(8, generator=g)

    index = torch.tensor([0, 3])
    draws = {d: index_draws(d, 0, index, normal) for d in DOMAINS}
    assert set(DOMAINS) == {"ties", "road-noise", "explainer", "roar-random"}
    for a in DOMAINS:
        for b in DOMAINS:
            assert a == b or (draws[a] - draws[b]).abs().min() > 0, (a, b)
    assert torch.equal(draws["ties"][1], normal(index_generator("ties", 0, 3)))
    assert index_draws("ties", 0, torch.tensor([], dtype=torch.long), normal).shape == (0, 8)
    with pytest.raises(ValueError, match="unknown random-stream domain 'tie'"):
        index_generator("tie", 0, 0)
