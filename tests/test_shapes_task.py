import numpy as np
import torch

from xaibench.tasks.images.shapes import SHAPES, Shapes, _shape_masks


def small():
    return Shapes(Shapes.parse_config({"n_train": 64, "n_test": 32}))


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = small().load("train", 0), small().load("train", 0), small().load("train", 1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.x, c.x)
    assert not torch.equal(small().load("test", 0).x[:32], a.x[:32])  # splits differ


def test_shapes_batch_layout():
    batch = small().load("train", 0)
    assert batch.x.shape == (64, *Shapes.meta.input_shape) and batch.mask.shape == (64, 32, 32)
    assert batch.x.dtype == torch.float32 and 0 <= batch.x.min() and batch.x.max() <= 1
    assert torch.bincount(batch.y, minlength=len(SHAPES)).tolist() == [16] * len(SHAPES)  # balanced
    assert torch.equal(batch.index, torch.arange(64))


def test_mask_is_exactly_the_shape_pixels():
    # The object is drawn at intensity >= 0.65 - noise; the background texture stays below about 0.55.
    batch = small().load("train", 0)
    shape_pixels = batch.x[:, 0][batch.mask.bool()]
    background = batch.x[:, 0][~batch.mask.bool()]
    assert shape_pixels.mean() > 0.75 and background.mean() < 0.35
    assert (batch.mask.sum((1, 2)) > 0).all()


def test_shape_geometry():
    masks = _shape_masks(np.array([15.0]), np.array([15.0]), np.array([6.0]))[:, 0]
    disk, square, triangle, cross = masks
    assert disk[15, 15] and disk[15, 21] and not disk[15, 22] and not disk[20, 20]  # radius 6
    assert square[19, 19] and not square[20, 15]  # half side 0.8 * 6 = 4.8
    assert triangle[9, 15] and not triangle[10, 12] and triangle[19, 12]  # apex up, wider below
    assert cross[15, 21] and cross[9, 15] and not cross[12, 12]
    assert len({m.tobytes() for m in masks}) == 4
