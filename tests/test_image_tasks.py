"""Image tasks: real-format loaders on small files written here, synthetic tasks against their closed forms."""
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from xaibench.errors import ConfigError, DataUnavailableError
from xaibench.tasks.images.cifar import CIFAR10, CIFAR100, CIFAR100Coarse, read_cifar_bin
from xaibench.tasks.images.decoy_fashion_mnist import DecoyFashionMNIST
from xaibench.tasks.images.digits import Digits
from xaibench.tasks.images.fashion_mnist import FashionMNIST
from xaibench.tasks.images.idx import IDX_FILES, read_idx
from xaibench.tasks.images.intensity import Intensity
from xaibench.tasks.images.mnist import MNIST
from xaibench.tasks.images.polarity import ShapesPolarity
from xaibench.tasks.sampling import balanced_subset, split_rng
from xaibench.tasks.images.shapes import Shapes
from xaibench.tasks.images.silhouette import silhouette
from xaibench.tasks.images.textured_fashion_mnist import TexturedFashionMNIST
from xaibench.tasks.images.textures import checkers, gratings

APT_FMNIST = Path("/usr/share/datasets/fashion-mnist")


# ---- writers of the real formats, straight from their specifications ----

def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    """IDX: bytes 0 0 0x08 ndim, then the sizes as big-endian uint32, then the uint8 data."""
    data = struct.pack(">4B", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def ring_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """28x28 uint8 images: a square ring (value 50 + 20 * label) with a hole of 0s, plus one faint pixel (value 5)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((len(labels), 28, 28), np.uint8)
    for i, label in enumerate(labels):
        top, left = rng.integers(2, 14, 2)
        images[i, top:top + 10, left:left + 10] = 50 + 20 * label
        images[i, top + 3:top + 7, left + 3:left + 7] = 0
        images[i, 0, 27] = 5  # below the mask threshold 0.05 * 255
    return images


def ring_masks(images: np.ndarray) -> np.ndarray:
    """The silhouettes of `ring_images`: the full 10x10 squares (the hole is filled, the faint pixel is not)."""
    masks = np.zeros(images.shape, np.float32)
    for i, image in enumerate(images):
        rows, cols = np.nonzero(image > 12)
        masks[i, rows.min():rows.max() + 1, cols.min():cols.max() + 1] = 1
    return masks


def write_idx_dataset(root: Path, n_train: int = 30, n_test: int = 20, gz: bool = True) -> dict:
    """The four IDX files of a 10-class dataset of ring images; returns the arrays written."""
    arrays = {}
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        labels = np.arange(n) % 10
        images = ring_images(labels, seed)
        write_idx(root / IDX_FILES[split][0], images, gz)
        write_idx(root / IDX_FILES[split][1], labels, gz)
        arrays[split] = (images, labels)
    return arrays


def cifar_records(n: int, label_bytes: int, seed: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """n CIFAR records: label bytes, then the red, green and blue 32x32 planes in row-major order."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 20 if label_bytes == 2 else 10, (n, label_bytes), dtype=np.uint8)
    if label_bytes == 2:
        labels[:, 1] = rng.integers(0, 100, n)
    data = b"".join(bytes(labels[i].tolist()) + images[i, 0].tobytes() + images[i, 1].tobytes()
                    + images[i, 2].tobytes() for i in range(n))
    return images, labels, data


def assert_one_line_naming(err: Exception, *parts: str) -> None:
    message = str(err)
    assert "\n" not in message
    for part in parts:
        assert part in message, (part, message)


# ---- IDX ----

@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_values_and_shape(tmp_path, gz):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4) * 7 % 256
    write_idx(tmp_path / "a-idx3-ubyte", array, gz)
    read = read_idx(tmp_path / ("a-idx3-ubyte" + (".gz" if gz else "")))
    assert read.dtype == np.uint8 and read.shape == (2, 3, 4)
    np.testing.assert_array_equal(read, array)


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataUnavailableError) as err:
        read_idx(tmp_path / "bad")
    assert_one_line_naming(err.value, str(tmp_path / "bad"), "not an IDX file")
    (tmp_path / "short").write_bytes(struct.pack(">4BI", 0, 0, 0x08, 1, 5) + b"\x00\x01")
    with pytest.raises(DataUnavailableError) as err:
        read_idx(tmp_path / "short")
    assert_one_line_naming(err.value, str(tmp_path / "short"), "truncated")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_loads_idx_files_with_filled_silhouettes(tmp_path, gz):
    arrays = write_idx_dataset(tmp_path, gz=gz)
    for split in ("train", "test"):
        images, labels = arrays[split]
        batch = MNIST({"root": str(tmp_path)}).load(split, seed=3)
        assert batch.x.shape == (len(labels), 1, 28, 28) and batch.x.dtype == torch.float32
        torch.testing.assert_close(batch.x[:, 0], torch.from_numpy(images.astype(np.float32) / 255), rtol=0, atol=0)
        assert batch.y.tolist() == labels.tolist() and batch.index.tolist() == list(range(len(labels)))
        assert torch.equal(batch.mask, torch.from_numpy(ring_masks(images)))


def test_fashion_mnist_subsets_are_balanced_and_index_the_files(tmp_path):
    root = tmp_path / "FashionMNIST" / "raw"  # torchvision's layout inside root is found too
    images, labels = write_idx_dataset(root, n_train=60)["train"]
    task = FashionMNIST({"root": str(tmp_path), "n_train": 20})
    batch = task.load("train", seed=5)
    assert torch.bincount(batch.y, minlength=10).tolist() == [2] * 10
    index = batch.index.numpy()
    assert np.all(np.diff(index) > 0)
    assert torch.equal(batch.x[:, 0], torch.from_numpy(images[index].astype(np.float32) / 255))
    assert batch.y.tolist() == labels[index].tolist()
    assert torch.equal(task.load("train", seed=5).x, batch.x)
    assert not torch.equal(task.load("train", seed=6).index, batch.index)
    with pytest.raises(ConfigError, match=r"n_train=61 is not in 1\.\.60"):
        FashionMNIST({"root": str(tmp_path), "n_train": 61}).load("train", 0)


def test_missing_idx_file_message(tmp_path):
    write_idx_dataset(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataUnavailableError) as err:
        MNIST({"root": str(tmp_path)}).check_available()
    assert_one_line_naming(err.value, "MNIST", str(tmp_path), "t10k-labels-idx1-ubyte[.gz]", "params.root")
    assert "train-images" not in str(err.value).split(";")[0]  # only the missing file is named
    with pytest.raises(DataUnavailableError) as err:
        MNIST().check_available()
    assert_one_line_naming(err.value, "no params.root given", "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
    with pytest.raises(DataUnavailableError) as err:
        FashionMNIST({"root": str(tmp_path / "none")}).load("train", 0)
    assert_one_line_naming(err.value, str(tmp_path / "none"), "apt-get install dataset-fashion-mnist")


@pytest.mark.skipif(not (APT_FMNIST / "t10k-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package():
    FashionMNIST().check_available()
    with gzip.open(APT_FMNIST / "t10k-images-idx3-ubyte.gz") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(APT_FMNIST / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    assert raw.shape == (10000, 28, 28)
    batch = FashionMNIST({"n_test": 50}).load("test", seed=0)
    index = batch.index.numpy()
    assert torch.equal(batch.x[:, 0], torch.from_numpy(raw[index].astype(np.float32) / 255))
    assert batch.y.tolist() == labels[index].tolist()
    assert torch.bincount(batch.y, minlength=10).tolist() == [5] * 10
    expected = silhouette(raw[index].astype(np.float32) / 255, 0.05)
    assert torch.equal(batch.mask, torch.from_numpy(expected).float())


# ---- CIFAR ----

def test_cifar10_binary_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    parts = []
    for i, name in enumerate([*(f"data_batch_{k}.bin" for k in range(1, 6)), "test_batch.bin"]):
        images, labels, data = cifar_records(3, 1, seed=i)
        (folder / name).write_bytes(data)
        parts.append((images, labels))
    train = CIFAR10({"root": str(tmp_path)}).load("train", 0)
    images = np.concatenate([p[0] for p in parts[:5]])
    assert train.x.shape == (15, 3, 32, 32) and train.mask is None
    assert torch.equal(train.x, torch.from_numpy(images.astype(np.float32) / 255))
    assert train.y.tolist() == np.concatenate([p[1][:, 0] for p in parts[:5]]).tolist()
    test = CIFAR10({"root": str(folder)}).load("test", 0)  # root may be the folder itself
    assert torch.equal(test.x, torch.from_numpy(parts[5][0].astype(np.float32) / 255))
    assert test.y.tolist() == parts[5][1][:, 0].tolist()


def test_cifar100_fine_and_coarse_labels(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    images, labels, data = cifar_records(4, 2, seed=0)
    (folder / "train.bin").write_bytes(data)
    (folder / "test.bin").write_bytes(cifar_records(2, 2, seed=1)[2])
    fine = CIFAR100({"root": str(tmp_path)}).load("train", 0)
    coarse = CIFAR100Coarse({"root": str(tmp_path)}).load("train", 0)
    assert fine.y.tolist() == labels[:, 1].tolist() and coarse.y.tolist() == labels[:, 0].tolist()
    assert torch.equal(fine.x, torch.from_numpy(images.astype(np.float32) / 255)) and torch.equal(fine.x, coarse.x)
    assert (CIFAR100.meta.num_classes, CIFAR100Coarse.meta.num_classes) == (100, 20)


def test_cifar_missing_and_malformed_files(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        CIFAR10({"root": str(tmp_path)}).check_available()
    assert_one_line_naming(err.value, str(tmp_path / "cifar-10-batches-bin"), "data_batch_1.bin[.gz]",
                           "test_batch.bin[.gz]", "cifar-10-binary.tar.gz")
    with pytest.raises(DataUnavailableError) as err:
        CIFAR100().check_available()
    assert_one_line_naming(err.value, "CIFAR-100", "no params.root given", "cifar-100-binary/")
    (tmp_path / "odd.bin").write_bytes(bytes(3074))
    with pytest.raises(DataUnavailableError) as err:
        read_cifar_bin(tmp_path / "odd.bin", 1)
    assert_one_line_naming(err.value, str(tmp_path / "odd.bin"), "3073-byte")


# ---- digits ----

def test_digits_split_values_and_balance():
    from sklearn.datasets import load_digits

    digits = load_digits()
    task = Digits({"n_test": 200})
    train, test = task.load("train", 4), task.load("test", 4)
    assert sorted([*train.index.tolist(), *test.index.tolist()]) == list(range(1797))
    assert torch.bincount(test.y).tolist() == [20] * 10
    for batch in (train, test):
        index = batch.index.numpy()
        assert torch.equal(batch.x[:, 0], torch.from_numpy(digits.images[index].astype(np.float32) / 16))
        assert batch.y.tolist() == digits.target[index].tolist()
    assert torch.equal(task.load("test", 4).index, test.index)
    assert not torch.equal(task.load("test", 5).index, test.index)
    with pytest.raises(ConfigError, match=r"params\.n_test: 1797 is out of range \(must be >= 1 and <= 1796\)"):
        Digits.parse_config({"n_test": 1797})


# ---- sampling and silhouettes ----

def test_balanced_subset_deals_classes_in_rounds():
    labels = np.array([0] * 10 + [1] * 2 + [2] * 5)
    index = balanced_subset(labels, 8, np.random.default_rng(0))
    assert np.bincount(labels[index]).tolist() == [3, 2, 3]  # class 1 runs out after two rounds
    assert len(set(index.tolist())) == 8 and np.all(np.diff(index) > 0)
    index = balanced_subset(labels, 7, np.random.default_rng(1))
    assert sorted(np.bincount(labels[index]).tolist()) == [2, 2, 3]
    assert balanced_subset(labels, None, np.random.default_rng(0)).tolist() == list(range(17))


def test_silhouette_fills_enclosed_holes_only():
    image = np.zeros((2, 7, 7), np.float32)
    image[0, 1:6, 1:6] = 0.5
    image[0, 3, 3] = 0.0  # enclosed: filled
    image[1, 1:6, 1:6] = 0.5
    image[1, 3, 3:] = 0.0  # a channel to the border: stays background
    masks = silhouette(image, 0.05)
    expected0 = np.zeros((7, 7), bool)
    expected0[1:6, 1:6] = True
    expected1 = expected0.copy()
    expected1[3, 3:6] = False
    assert np.array_equal(masks[0], expected0) and np.array_equal(masks[1], expected1)


# ---- synthetic tasks ----

def test_polarity_pair_is_the_same_scene_inverted():
    params = {"n_train": 40, "n_test": 16}
    bright = ShapesPolarity({**params, "polarity": "bright"}).load("train", 2)
    dark = ShapesPolarity({**params, "polarity": "dark"}).load("train", 2)
    shapes = Shapes(params).load("train", 2)
    assert torch.equal(dark.x, 1 - bright.x) and torch.equal(bright.x, shapes.x)
    assert torch.equal(dark.mask, bright.mask) and torch.equal(dark.y, bright.y)


def test_intensity_is_the_object_pixel_value_on_black():
    batch = Intensity({"n_train": 60}).load("train", 1)
    x, mask, intensity = batch.x[:, 0], batch.mask.bool(), batch.meta["intensity"]
    assert torch.bincount(batch.y).tolist() == [30, 30]
    expected = mask.float() * intensity[:, None, None]
    assert torch.equal(x, expected)
    present = batch.y == 1
    assert (mask[present].sum((1, 2)) > 0).all() and mask[~present].sum() == 0
    assert (intensity[~present] == 0).all() and (intensity[present] >= 0.1).all()
    assert len(set(intensity[present].tolist())) == 30  # one draw per object


def test_decoy_patch_encodes_the_class_in_training_only(tmp_path):
    arrays = write_idx_dataset(tmp_path, n_train=40, n_test=40)
    params = {"root": str(tmp_path), "patch_size": 4}
    plain = FashionMNIST({"root": str(tmp_path)})
    for split in ("train", "test"):
        batch = DecoyFashionMNIST(params).load(split, 0)
        clean = plain.load(split, 0)
        patch = batch.meta["decoy_mask"].bool()
        code = batch.meta["decoy_code"]
        for i in range(len(batch)):
            rows, cols = torch.nonzero(patch[i], as_tuple=True)
            assert len(rows) == 16 and rows.min().item() in (0, 24) and cols.min().item() in (0, 24)
            assert rows.max() - rows.min() == 3 and cols.max() - cols.min() == 3
        value = torch.tensor((255 - 25 * code.numpy()) / 255, dtype=torch.float32)
        assert torch.equal(batch.x[:, 0][patch], value.repeat_interleave(16))
        assert torch.equal(batch.x[:, 0][~patch], clean.x[:, 0][~patch])
        assert torch.equal(batch.mask, clean.mask * ~patch)
        assert torch.equal(batch.y, torch.from_numpy(arrays[split][1]))
        if split == "train":
            assert torch.equal(code, batch.y)
        else:
            assert (code != batch.y).sum() > 0  # the code is drawn independently of the class
            assert torch.equal(code, DecoyFashionMNIST(params).load(split, 0).meta["decoy_code"])
    corners = batch.meta["decoy_mask"][:, [0, 0, 27, 27], [0, 27, 0, 27]]
    assert torch.equal(corners.sum(1), torch.ones(40)) and (corners.sum(0) > 0).all()  # every corner is used


@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_textured_backgrounds_shift_family_between_splits(tmp_path, gain):
    write_idx_dataset(tmp_path, n_train=20, n_test=20)
    task = TexturedFashionMNIST({"root": str(tmp_path), "texture_gain": gain})
    plain = FashionMNIST({"root": str(tmp_path)})
    for split, texture in (("train", gratings), ("test", checkers)):
        batch, clean = task.load(split, 3), plain.load(split, 3)
        inside = batch.mask.bool()
        assert torch.equal(batch.mask, clean.mask) and torch.equal(batch.y, clean.y)
        assert torch.equal(batch.x[:, 0][inside], clean.x[:, 0][inside])
        drawn = texture(split_rng(3, split, stream=1), 20, 28)
        background = np.clip(gain * drawn, 0, 1).astype(np.float32)
        assert torch.equal(batch.x[:, 0][~inside], torch.from_numpy(background)[~inside])


def test_checkers_are_two_levels_on_square_cells():
    rng = np.random.default_rng(0)
    noisy = checkers(np.random.default_rng(0), 3, 24)
    cell = rng.integers(2, 7, 3)
    oy, ox = rng.integers(0, 6, 3), rng.integers(0, 6, 3)
    low, high = rng.uniform(0.0, 0.2, 3), rng.uniform(0.25, 0.45, 3)
    noise = rng.normal(0, 0.05, (3, 24, 24))
    g = np.arange(24)
    for i in range(3):
        parity = ((g[:, None] + oy[i]) // cell[i] + (g[None, :] + ox[i]) // cell[i]) % 2
        np.testing.assert_allclose(noisy[i], np.where(parity == 1, high[i], low[i]) + noise[i], rtol=0, atol=1e-12)
