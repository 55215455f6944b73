"""Chunking samples (maps.chunked) bounds memory without changing a single value: every chunked kernel on chunks
of one sample (or one whole forward pass) equals the same kernel in one chunk, exactly.

Exactly holds by construction: chunk sizes are multiples of the forward-pass batch, so the model sees the same
batches either way, and the blurred substrate is computed with elementwise operations only
(``faithfulness.blur``). A model or convolution call on a different batch shape is not bitwise reproducible on
every processor, so where a probe's own batch size changes, the test compares to a float tolerance."""
import pytest
import torch

from xaibench.metrics.explainers.saliency import Saliency
from xaibench.metrics.functional import (complexity, confidence, faithfulness, input_bias, localization, maps, road,
                                         sanity, stats, text, timeseries)
from xaibench.models.small_cnn import SmallCNN

N = 13  # prime: no chunk size divides it, so the last chunk is always partial


pytestmark = pytest.mark.usefixtures("one_thread")


def gen(seed):
    return torch.Generator().manual_seed(seed)


CHUNKED = maps.chunked


def both(monkeypatch, fn):
    """fn() with chunks of the smallest size each kernel allows (checked to be several), and in one chunk."""
    n_chunks = []

    def counting(f, n, size):
        n_chunks.append(-(-n // size))
        return CHUNKED(f, n, size)

    for module in (maps, faithfulness, confidence, road, text, input_bias, sanity):
        monkeypatch.setattr(module, "chunked", counting)
    for module in (input_bias, sanity):
        monkeypatch.setattr(module, "EXPLAIN_BATCH", 2)
    monkeypatch.setattr(maps, "CHUNK_ELEMENTS", 1)
    small = fn()
    assert max(n_chunks) > 1
    for module in (input_bias, sanity):
        monkeypatch.setattr(module, "EXPLAIN_BATCH", 10**9)
    monkeypatch.setattr(maps, "CHUNK_ELEMENTS", 2**62)
    return small, fn()


def assert_identical(a, b):
    for u, v in zip(a, b) if isinstance(a, tuple) else [(a, b)]:
        assert u.shape == v.shape and u.dtype == v.dtype
        assert torch.equal(u.isnan(), v.isnan()) and torch.equal(u.nan_to_num(), v.nan_to_num())


@pytest.fixture
def image_data():
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(width=4), (2, 8, 8), num_classes=3).eval()
    x, A = torch.rand(N, 2, 8, 8, generator=gen(1)), torch.randn(N, 2, 8, 8, generator=gen(2))
    A[3] = 0  # a constant map: ranked by its tie noise only
    mask = (torch.rand(N, 8, 8, generator=gen(3)) > 0.6).float()
    mask[5] = 0  # an empty mask: NaN
    index = torch.randperm(100, generator=gen(4))[:N]
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, x, A, mask, index, target


def test_chunk_sizes_follow_the_element_budget(monkeypatch):
    monkeypatch.setattr(maps, "CHUNK_ELEMENTS", 1000)
    assert maps.chunk_size(64) == 15 and maps.chunk_size(64, multiple=6) == 12 and maps.chunk_size(5000, 4) == 4
    seen = []
    out = maps.chunked(lambda sl: seen.append((sl.start, sl.stop)) or torch.arange(sl.start, sl.stop), 10, 4)
    assert seen == [(0, 4), (4, 8), (8, 10)] and out.tolist() == list(range(10))
    assert maps.chunked(lambda sl: (torch.zeros(sl.stop - sl.start),) * 2, 0, 4)[1].shape == (0,)


def test_per_sample_chunks_checks_rows():
    with pytest.raises(ValueError, match="mask has 4 samples but A has 3"):
        localization.relevance_mass_accuracy(torch.rand(3, 1, 4, 4), torch.ones(4, 4, 4))


@pytest.mark.parametrize("kind", ["deletion_zeros", "deletion_blur", "deletion_mean", "insertion_blur",
                                  "insertion_zeros"])
def test_deletion_and_insertion_curves(monkeypatch, image_data, kind):
    model, x, A, _, index, target = image_data
    # HW = 64, n_steps 15: s = 5, n + 1 = 14 images per sample; forward passes of 6 images -> chunks of 3 samples.
    common = dict(index=index, n_steps=15, eval_batch_size=6)
    if kind.startswith("deletion"):
        substrate = kind.split("_")[1]
        fn = lambda: faithfulness.deletion_curve(model, x, A, target, substrate=substrate, mean=(0.2, 0.7), **common)
    else:
        fn = lambda: faithfulness.insertion_curve(model, x, A, target, start=kind.split("_")[1], **common)
    small, whole = both(monkeypatch, fn)
    assert_identical(small, whole)


def test_confidence_and_road(monkeypatch, image_data):
    model, x, A, _, index, target = image_data
    assert_identical(*both(monkeypatch, lambda: confidence.masked_confidence(model, x, A, target, eval_batch_size=4)))
    small, whole = both(monkeypatch, lambda: road.road_curves(model, x, A, target, None, index=index,
                                                              percentages=(0.2, 0.6), eval_batch_size=9))
    assert_identical((small.morf_prob, small.lerf_prob, small.morf_correct, small.lerf_correct),
                     (whole.morf_prob, whole.lerf_prob, whole.morf_correct, whole.lerf_correct))


def test_localization_complexity_and_rank_statistics(monkeypatch, image_data):
    _, _, A, mask, index, _ = image_data
    L = localization
    kernels = [lambda: L.pointing_game(A, mask, index=index, tolerance=1.5),
               lambda: L.relevance_mass_accuracy(A, mask), lambda: L.energy_pointing_game(A, mask),
               lambda: L.relevance_rank_accuracy(A, mask, index=index), lambda: L.top_k_iou(A, mask, index=index),
               lambda: L.top_k_iou(A, mask, fraction=0.3), lambda: L.pixel_roc_auc(A, mask),
               lambda: complexity.gini(A), lambda: stats.spearman(A[:, 0], A[:, 1]),
               lambda: input_bias.mean_shift_rank_correlation(A, A.flip(0)),
               lambda: input_bias.mean_shift_delta(A, A.flip(0))]
    for kernel in kernels:
        assert_identical(*both(monkeypatch, kernel))
    intensity, positive = torch.rand(N, generator=gen(5)), torch.arange(N) % 3 > 0
    for relative in (False, True):
        assert_identical(*both(monkeypatch, lambda: input_bias.intensity_correlation(A, mask, intensity, positive,
                                                                                     relative=relative)))


def test_explainer_based_probes(monkeypatch, image_data):
    model, x, A, _, index, target = image_data
    A = Saliency(model).explain(x, target, index=index)
    # These probes re-explain in batches of EXPLAIN_BATCH samples, a constant: within a run the explainer always
    # sees the same batches, whatever the element chunking. `both` changes EXPLAIN_BATCH itself, i.e. the batch
    # shape of a float32 backward pass, which CPU kernels may round differently: the maps then agree to float32
    # rounding, and Spearman's rho to at most two swaps of neighbouring ranks (6 * 2 * 2 / (d (d^2 - 1)), d = 64).
    d = x.shape[-2] * x.shape[-1]
    small, whole = both(monkeypatch, lambda: sanity.mprt_curve(model, x, target, A, Saliency, index=index))
    torch.testing.assert_close(small, whole, rtol=0, atol=24 / (d * (d * d - 1)))
    small, whole = both(monkeypatch, lambda: input_bias.mean_shift_maps(model, x, target, Saliency, 0.5, index))
    torch.testing.assert_close(small, whole)


def test_time_series_and_text(monkeypatch):
    A, G = torch.randn(N, 3, 10, generator=gen(6)), (torch.rand(N, 3, 10, generator=gen(7)) > 0.7).float()
    A[2] = 0
    index = torch.arange(N) + 40
    assert_identical(*both(monkeypatch, lambda: timeseries.saliency_precision_recall(A, G, index=index)))

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(30, 4), torch.nn.Flatten(), torch.nn.Linear(40, 3))
    x = torch.randint(1, 30, (N, 10), generator=gen(8))
    x[:, 7:] = 0
    x[4] = 0  # an empty document: NaN
    A_tok, rationale = torch.randn(N, 10, 4, generator=gen(9)), (torch.rand(N, 10, generator=gen(10)) > 0.5).float()
    target = torch.randint(0, 3, (N,), generator=gen(11))
    for sufficiency, norm in [(False, "bins"), (True, "bins"), (True, "eraser")]:
        kernel = text.sufficiency if sufficiency else text.comprehensiveness
        assert_identical(*both(monkeypatch, lambda: kernel(model, x, A_tok, target, index=index, aopc_norm=norm,
                                                          eval_batch_size=4)))
    assert_identical(*both(monkeypatch, lambda: text.token_auprc(A_tok, x, rationale * (x != 0))))
