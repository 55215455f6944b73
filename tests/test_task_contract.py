"""Every registered task whose data is available keeps the data conventions of its modality, through the plugin
self-check `xaibench.testing.check_task`; and the check names each broken convention."""
import dataclasses

import pytest
import torch

from conftest import REPO
from xaibench.batch import Batch
from xaibench.errors import DataUnavailableError
from xaibench.plugins import load_plugin_file
from xaibench.registries import TASKS
from xaibench.tasks.base import Task, TaskMeta
from xaibench.testing import CheckError, check_task

load_plugin_file(str(REPO / "examples" / "stripes_task.py"))  # the plugin example is checked like the rest


def small_params(cls: type) -> dict:
    """Small split sizes where the Config has them (enough samples to hold every class)."""
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    k = cls.meta.num_classes
    return {key: value for key, value in {"n_train": max(40, 2 * k), "n_test": max(20, k)}.items() if key in fields}


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_passes_its_check(name):
    cls = TASKS.get(name)
    report = check_task(cls, small_params(cls))
    if report.unavailable:
        pytest.skip(f"data unavailable: {report.unavailable}")
    assert report.task == name and report.sizes["train"] > 0 and report.sizes["test"] > 0


class Good(Task):
    """Four 4x4 images (a test fixture)."""

    name = "fixture"
    meta = TaskMeta(modality="image", input_shape=(1, 4, 4), num_classes=2, has_mask=True, source="synthetic")

    def load(self, split, seed=0):
        g = torch.Generator().manual_seed(seed)
        return Batch(torch.rand(4, 1, 4, 4, generator=g), torch.tensor([0, 1, 0, 1]), torch.ones(4, 4, 4))


def broken(load=None, **attrs):
    return type("Broken", (Good,), {"name": "broken", "__doc__": "A broken task (test fixture).",
                                   **({"load": load} if load else {}), **attrs})


@pytest.mark.parametrize("load, attrs, message", [
    (lambda self, split, seed=0: dataclasses.replace(Good.load(self, split, seed), x=torch.rand(4, 1, 4, 4) * 2),
     {}, r"train: images must be raw values in \[0, 1\]"),
    (lambda self, split, seed=0: Batch(torch.rand(4, 4, 4), torch.tensor([0, 1, 0, 1])), {},
     r"train: x is \(4, 4, 4\), expected \(N, \*meta\.input_shape\) = \(N, 1, 4, 4\)"),
    (lambda self, split, seed=0: dataclasses.replace(Good.load(self, split, seed), y=torch.tensor([0, 1, 2, 1])),
     {}, r"train: y must be int64 labels in \[0, 2\), got torch\.int64 in \[0, 2\]"),
    (lambda self, split, seed=0: dataclasses.replace(Good.load(self, split, seed), index=torch.zeros(4, dtype=torch.long)),
     {}, r"train: index must hold a distinct int64 dataset index per sample"),
    (lambda self, split, seed=0: dataclasses.replace(Good.load(self, split, seed), mask=torch.ones(4, 1, 4, 4)),
     {}, r"train: mask must be float32 \(4, 4, 4\) \(images: no channel axis\)"),
    (lambda self, split, seed=0: Batch(torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 0, 1]), torch.ones(4, 4, 4)), {},
     r"train: a second load with the same seed gives other data"),
    (None, {"meta": TaskMeta(modality="image", input_shape=(1, 4, 4), num_classes=2, has_mask=True, source="synthetic",
                             extras=("intensity",))},
     r"train: meta\.extras declares 'intensity', but batch\.meta\['intensity'\] is not a tensor"),
    (None, {"meta": TaskMeta(modality="audio", input_shape=(1, 4, 4), num_classes=1, has_mask=True, source="s")},
     r"meta\.modality='audio': choose from image, time_series, text; meta\.num_classes=1: an int >= 2"),
    (None, {"budget": {"epochs": 3}}, r"budget must be a xaibench\.Budget"),
    (Task.load, {}, r"override load\(split, seed\)"),
])
def test_check_names_what_is_wrong(load, attrs, message):
    with pytest.raises(CheckError, match=r"^task 'broken': .*" + message):
        check_task(broken(load, **attrs))


def test_missing_data_is_reported_not_failed():
    def absent(self):
        raise DataUnavailableError("looked in /nowhere; apt-get install -y dataset-absent")

    assert check_task(broken(check_available=absent)).unavailable == "looked in /nowhere; apt-get install -y dataset-absent"

    def multiline(self):
        raise DataUnavailableError("looked in /nowhere\nand elsewhere")

    with pytest.raises(CheckError, match="the DataUnavailableError message must be one line"):
        check_task(broken(check_available=multiline))
