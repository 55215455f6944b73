"""The shortcut and shift gaps (METRICS.md §9) against closed forms on the real task renderings of small IDX files,
and their requirements: the suite validation rejects them on tasks that do not pose their question."""
import numpy as np
import pytest
import torch
from torch import nn

from test_image_tasks import write_idx_dataset
from xaibench.config import load_suite
from xaibench.errors import ConfigError
from xaibench.metrics.predictive import Accuracy, ShiftGap, ShortcutGap
from xaibench.tasks.images.decoy_fashion_mnist import DecoyFashionMNIST
from xaibench.tasks.images.textured_fashion_mnist import TexturedFashionMNIST
from xaibench.tasks.images.textures import checkers, gratings
from xaibench.tasks.sampling import split_rng

CODES = torch.tensor([(255 - 25 * k) / 255 for k in range(10)])  # Ross et al.'s patch value per class


class PatchReader(nn.Module):
    """A model that uses only the shortcut: the brightest of the four corner pixels (the rings of
    `write_idx_dataset` never reach a corner, its faint pixel is 5/255), decoded as the nearest class code."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))  # a device to read

    def forward(self, x):
        p = x[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]].amax(1)
        return -(p[:, None] - CODES[None, :]) ** 2 + self.dummy


class CornerThreshold(nn.Module):
    """A model that uses only the background: class 0 if the top-left pixel is above ``t``, else class 1."""

    def __init__(self, t: float):
        super().__init__()
        self.t = nn.Parameter(torch.tensor(t))

    def forward(self, x):
        p = x[:, 0, 0, 0]
        return torch.stack([p, self.t.expand_as(p), torch.full_like(p, -1.0)], 1)


def evaluate(metric, model, batch):
    return metric(model.eval(), batch, None, torch.zeros_like(batch.y))


def test_shortcut_gap_of_a_pure_shortcut_model_is_the_share_of_wrong_codes(tmp_path):
    write_idx_dataset(tmp_path, n_train=20, n_test=60)
    test = DecoyFashionMNIST({"root": str(tmp_path)}).load("test", 0)
    code = test.meta["decoy_code"]
    values = evaluate(ShortcutGap(), PatchReader(), test)
    # coded by y the model is always right; coded at random it is right exactly where the code equals y
    expected = 1.0 - (code == test.y).double()
    assert torch.equal(values, expected)
    assert 0 < (code == test.y).sum() < 60  # both kinds of sample occur
    accuracy = Accuracy()(PatchReader(), test, None, PatchReader()(test.x).argmax(1))
    assert values.mean().item() == pytest.approx(1.0 - accuracy.mean().item(), abs=0)


def test_shortcut_gap_reference_is_the_label_coded_rendering(tmp_path):
    """The re-rendered images equal the test images with the patch painted (255 - 25 y) / 255, by hand."""
    write_idx_dataset(tmp_path, n_train=20, n_test=30)
    test = DecoyFashionMNIST({"root": str(tmp_path)}).load("test", 0)
    patch = test.meta["decoy_mask"].bool()
    by_hand = test.x[:, 0].clone()
    for i in range(len(test)):
        by_hand[i][patch[i]] = torch.tensor((255 - 25 * test.y[i].item()) / 255, dtype=torch.float32)
    assert torch.equal(ShortcutGap().reference(test), by_hand[:, None])


def test_shortcut_gap_is_zero_for_a_model_blind_to_the_corners(tmp_path):
    write_idx_dataset(tmp_path, n_train=20, n_test=40)
    test = DecoyFashionMNIST({"root": str(tmp_path)}).load("test", 0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    with torch.no_grad():
        weight = model[1].weight.view(10, 28, 28)
        for rows in (slice(0, 4), slice(24, 28)):
            for cols in (slice(0, 4), slice(24, 28)):
                weight[:, rows, cols] = 0
    assert torch.equal(evaluate(ShortcutGap(), model, test), torch.zeros(40, dtype=torch.float64))


@pytest.mark.parametrize("t", [0.1, 0.2, 0.3])
def test_shift_gap_of_a_background_reader_by_hand(tmp_path, t):
    """Per sample: 1[model right on the gratings background] - 1[right on the checkers one], both drawn by hand
    from the texture functions and the split's random stream."""
    arrays = write_idx_dataset(tmp_path, n_train=20, n_test=50)
    test = TexturedFashionMNIST({"root": str(tmp_path)}).load("test", 2)
    y = torch.from_numpy(arrays["test"][1])
    corner = {name: np.clip(texture(split_rng(2, "test", stream=1), 50, 28), 0, 1).astype(np.float32)[:, 0, 0]
              for name, texture in (("gratings", gratings), ("checkers", checkers))}
    right = {name: torch.from_numpy(np.where(c > t, 0, 1)) == y for name, c in corner.items()}
    expected = right["gratings"].double() - right["checkers"].double()
    values = evaluate(ShiftGap(), CornerThreshold(t), test)
    assert torch.equal(values, expected)
    assert values.abs().sum() > 0  # the two families do move this model


def test_shift_gap_reference_is_the_in_distribution_test_set(tmp_path):
    """Re-rendered on the training family, the test images are exactly the task's test split with
    test_texture = train_texture: the difference is paired, the same objects and draws on both families."""
    write_idx_dataset(tmp_path, n_train=20, n_test=30)
    shifted = TexturedFashionMNIST({"root": str(tmp_path)}).load("test", 1)
    unshifted = TexturedFashionMNIST({"root": str(tmp_path), "test_texture": "gratings"}).load("test", 1)
    assert torch.equal(ShiftGap().reference(shifted), unshifted.x)
    assert not torch.equal(shifted.x, unshifted.x)
    assert torch.equal(evaluate(ShiftGap(), CornerThreshold(0.2), unshifted), torch.zeros(30, dtype=torch.float64))


@pytest.mark.parametrize("metric, task, lacking", [
    ("shortcut_gap", "fashion_mnist", "decoy_mask"),
    ("shortcut_gap", "textured_fashion_mnist", "decoy_mask"),
    ("shift_gap", "decoy_fashion_mnist", "train_background"),
    ("shift_gap", "shapes", "train_background"),
])
def test_gaps_are_rejected_on_tasks_without_their_question(write_suite, metric, task, lacking):
    path = write_suite(f"name: t\ntasks: [{task}]\narchitectures: [small_cnn]\nmethods: [erm]\n"
                       f"explainers: [saliency]\nmetrics: [accuracy, {metric}]\n")
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    assert str(info.value) == (f"{path}: metrics[1]: metric '{metric}' requires per-sample {lacking}, "
                               f"which task '{task}' does not provide")


def test_gaps_resolve_on_their_tasks(write_suite):
    path = write_suite("name: t\narchitectures: [small_cnn]\nmethods: [erm]\nexplainers: [saliency]\nparts:\n"
                       "  - {tasks: [decoy_fashion_mnist], metrics: [accuracy, shortcut_gap]}\n"
                       "  - {tasks: [textured_fashion_mnist], metrics: [accuracy, shift_gap]}\n")
    suite = load_suite(str(path))
    assert [[m.name for m in p.metrics] for p in suite.parts] == [["accuracy", "shortcut_gap"], ["accuracy", "shift_gap"]]
