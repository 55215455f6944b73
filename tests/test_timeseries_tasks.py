"""Time-series tasks (Ismail et al. boxes, aeon's UCR/UEA sets) and architectures, checked against closed forms
and against aeon's own reader."""
import numpy as np
import pytest
import scipy.signal
import torch
from torch import nn

from xaibench.errors import DataUnavailableError
from xaibench.registries import ARCHITECTURES
from xaibench.cell import model_inputs
from xaibench.tasks.timeseries import ucr
from xaibench.tasks.timeseries.boxes import BOXES, FEATURES, STEPS, TimeSeriesBoxes, _noise
from xaibench.tasks.timeseries.ucr import (ArrowHead, BasicMotions, GunPoint, ItalyPowerDemand, JapaneseVowels,
                                           fit_length)

DESIGNS = ["middle", "rare_time", "rare_feature", "moving_middle", "moving_rare_time", "moving_rare_feature"]
TS_ARCHS = ["ts_lstm", "ts_tcn", "ts_transformer"]


def boxes(**params):
    return TimeSeriesBoxes({"n_train": 64, "n_test": 32, **params})


def box_extent(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """(first feature, height, first step, width) of a mask that must be one solid rectangle."""
    features, steps = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
    f0, t0 = features.min().item(), steps.min().item()
    h, w = features.max().item() - f0 + 1, steps.max().item() - t0 + 1
    assert mask.sum() == h * w, "the mask is not a solid rectangle"
    return f0, h, t0, w


@pytest.mark.parametrize("design", DESIGNS)
def test_the_signal_is_added_exactly_inside_the_mask(design):
    noisy, clean, noise = (boxes(design=design, **p).load("train", 3)
                           for p in ({}, {"noise_std": 0.0}, {"shift": 0.0}))
    assert torch.equal(noisy.y, clean.y) and torch.equal(noisy.mask, clean.mask)
    sign = (2.0 * noisy.y - 1)[:, None, None]
    # noise-free: +shift (class 1) or -shift (class 0) on the box, exactly 0 elsewhere
    assert torch.equal(clean.x, sign * noisy.mask)
    # the data is the same noise draw plus that shift
    torch.testing.assert_close(noisy.x, noise.x + sign * noisy.mask, rtol=0, atol=1e-6)
    assert (noise.x != 0).all()


@pytest.mark.parametrize("design", ["middle", "rare_time", "rare_feature"])
def test_fixed_designs_use_the_papers_box_in_every_sample(design):
    batch = boxes(design=design).load("test")
    (height, width), (f0, t0) = BOXES[design]
    expected = torch.zeros(FEATURES, STEPS)
    expected[f0:f0 + height, t0:t0 + width] = 1
    assert all(torch.equal(m, expected) for m in batch.mask)


@pytest.mark.parametrize("design", ["moving_middle", "moving_rare_time", "moving_rare_feature"])
def test_moving_designs_keep_the_box_size_and_move_it(design):
    batch = boxes(design=design).load("train")
    (height, width), _ = BOXES[design.removeprefix("moving_")]
    extents = [box_extent(m) for m in batch.mask]
    assert {(h, w) for _, h, _, w in extents} == {(height, width)}
    # the start varies in both axes; the size check above keeps every box inside the series
    assert len({f0 for f0, *_ in extents}) == FEATURES - height + 1
    assert len({t0 for _, _, t0, _ in extents}) > 5


def test_rare_designs_are_thin_in_their_axis():
    assert BOXES["rare_time"][0] == (8, 6)  # 8 of 10 features, 6 of 50 steps
    assert BOXES["rare_feature"][0] == (2, 40)
    assert box_extent(boxes(design="rare_time").load("test").mask[0])[1:] == (8, 22, 6)
    assert box_extent(boxes(design="rare_feature").load("test").mask[0])[1:] == (2, 5, 40)


def test_boxes_are_deterministic_balanced_and_differ_between_seeds_and_splits():
    a, b, c = boxes().load("train", 0), boxes().load("train", 0), boxes().load("train", 1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x) and not torch.equal(a.x[:32], boxes().load("test", 0).x)
    assert a.x.shape == (64, *TimeSeriesBoxes.meta.input_shape) and a.x.dtype == torch.float32
    assert a.y.bincount().tolist() == [32, 32]


def test_autoregressive_noise_is_the_ar1_filter_of_the_gaussian_draws():
    ar = 0.9
    eps = np.random.default_rng(5).normal(0.0, 1.0, (2, 3, 50))
    drive = np.sqrt(1 - ar**2) * eps
    drive[..., 0] = eps[..., 0]  # starts at its stationary distribution
    expected = scipy.signal.lfilter([1.0], [1.0, -ar], drive, axis=-1)
    np.testing.assert_allclose(_noise(np.random.default_rng(5), "autoregressive", (2, 3, 50), ar), expected,
                               atol=1e-12)
    np.testing.assert_array_equal(_noise(np.random.default_rng(5), "gaussian", (2, 3, 50), ar), eps)


# -- aeon's bundled UCR/UEA sets -----------------------------------------------------------------------------

AEON_TASKS = [GunPoint, ItalyPowerDemand, ArrowHead, BasicMotions, JapaneseVowels]


@pytest.mark.parametrize("task_cls", AEON_TASKS, ids=lambda c: c.name)
def test_aeon_sets_match_aeons_reader_with_sorted_labels(task_cls):
    from aeon.datasets import load_classification

    for split in ("train", "test"):
        batch = task_cls().load(split)
        x, labels = load_classification(task_cls.dataset, split=split)
        classes = sorted(set(load_classification(task_cls.dataset, split="train")[1]))
        assert len(classes) == task_cls.meta.num_classes
        assert [classes[i] for i in batch.y.tolist()] == list(labels)
        assert batch.x.dtype == torch.float32 and batch.x.shape == (len(labels), *task_cls.meta.input_shape)
        assert batch.mask is None
        if not isinstance(x, list):
            assert torch.equal(batch.x, torch.from_numpy(x.astype(np.float32)))


def test_japanese_vowels_is_zero_padded_at_the_end():
    from aeon.datasets import load_classification

    x, _ = load_classification("JapaneseVowels", split="test")
    batch = JapaneseVowels().load("test")
    assert max(s.shape[1] for s in x) == 29 and min(s.shape[1] for s in x) < 29
    for row, series in zip(batch.x, x):
        t = series.shape[1]
        assert torch.equal(row[:, :t], torch.from_numpy(series.astype(np.float32)))
        assert (row[:, t:] == 0).all()


def test_fit_length_pads_and_truncates():
    out = fit_length([np.arange(6.0).reshape(2, 3), np.ones((2, 1))], 2)
    assert out.tolist() == [[[0, 1], [3, 4]], [[1, 0], [1, 0]]]


def test_aeon_sets_ignore_the_seed_and_are_deterministic():
    a, b = BasicMotions().load("train", 0), BasicMotions().load("train", 7)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    # sorted names: badminton, running, standing, walking; the file starts with ten standing, then running
    assert a.y[:11].tolist() == [2] * 10 + [1]


def test_missing_aeon_file_message(monkeypatch, tmp_path):
    monkeypatch.setattr(ucr, "aeon_data_dir", lambda: tmp_path)
    with pytest.raises(DataUnavailableError) as info:
        GunPoint().check_available()
    assert str(info.value) == (f"ucr_gunpoint: no {tmp_path}/GunPoint/GunPoint_TRAIN.ts; it ships with aeon: "
                               "pip install --force-reinstall 'aeon>=1.0'")
    monkeypatch.setattr(ucr, "aeon_data_dir", lambda: None)
    with pytest.raises(DataUnavailableError, match=r"^ucr_gunpoint: aeon, which bundles GunPoint, is not installed"):
        GunPoint().load("train")


# -- architectures ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", TS_ARCHS)
@pytest.mark.parametrize("task", [boxes(), JapaneseVowels()], ids=lambda t: t.name)
def test_time_series_models_forward_and_backward_on_the_tasks(arch, task):
    train = task.load("train")[:8]
    cls = ARCHITECTURES.get(arch)
    torch.manual_seed(0)
    model = cls(cls.make_config(), task.meta.input_shape, task.meta.num_classes, **model_inputs(task.meta, train))
    logits = model(train.x)
    assert logits.shape == (8, task.meta.num_classes)
    torch.nn.functional.cross_entropy(logits, train.y).backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in model.parameters())


def test_tcn_is_causal_and_pools_its_last_block():
    cls = ARCHITECTURES.get("ts_tcn")
    torch.manual_seed(0)
    model = cls(cls.make_config(), (3, 40), 2).eval()
    x = torch.randn(2, 3, 40)
    later = x.clone()
    later[:, :, 25:] += torch.randn(2, 3, 15)
    with torch.no_grad():
        a, b = model.last_block(model.blocks(x)), model.last_block(model.blocks(later))
        assert torch.equal(a[:, :, :25], b[:, :, :25]) and not torch.equal(a[:, :, 25:], b[:, :, 25:])
        torch.testing.assert_close(model(x), model.classifier(a.mean(2)))


def test_tcn_receptive_field_is_29_steps():
    cls = ARCHITECTURES.get("ts_tcn")
    model = cls(cls.make_config(), (1, 60), 2)
    x = torch.zeros(1, 1, 60, requires_grad=True)
    model.last_block(model.blocks(x))[0, :, 59].sum().backward()
    assert (x.grad[0, 0] != 0).nonzero()[:, 0].tolist() == list(range(31, 60))


def test_lstm_reads_the_final_hidden_state():
    cls = ARCHITECTURES.get("ts_lstm")
    torch.manual_seed(0)
    model = cls(cls.make_config(), (3, 20), 2, mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 4.0])
    x = torch.randn(4, 3, 20)
    out, _ = model.lstm(((x - torch.tensor([1.0, 2.0, 3.0])[:, None]) / torch.tensor([2.0, 2.0, 4.0])[:, None])
                        .transpose(1, 2))
    torch.testing.assert_close(model(x), model.classifier(out[:, -1]))


def test_transformer_relus_are_distinct_modules():
    model = ARCHITECTURES.get("ts_transformer")(ARCHITECTURES.get("ts_transformer").Config(), (3, 20), 2)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 2 and relus[0] is not relus[1] and not any(r.inplace for r in relus)
