"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` or a user directory; derived silhouette masks."""
from __future__ import annotations

from xaibench.budget import Budget
from xaibench.registries import TASKS
from xaibench.tasks.base import TaskMeta
from xaibench.tasks.images.idx import IdxTask

FASHION_MNIST_CITATION = ("Xiao, Rasul, Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine "
                          "Learning Algorithms. arXiv:1708.07747, 2017")


@TASKS.register
class FashionMNIST(IdxTask):
    """Fashion-MNIST: 28x28 grey clothing images, 10 classes; mask = derived object silhouette.

    Files come from ``params.root`` or, by default, the Debian package ``dataset-fashion-mnist``.

    >>> FashionMNIST.meta.input_shape, FashionMNIST.meta.mask_kind
    ((1, 28, 28), 'derived')
    >>> FashionMNIST({"root": "absent"}).check_available()
    Traceback (most recent call last):
    ...
    xaibench.errors.DataUnavailableError: Fashion-MNIST not found: no train-images-idx3-ubyte[.gz], ...
    """

    name = "fashion_mnist"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, 28, 28), num_classes=10, has_mask=True,
                    source="Fashion-MNIST (Debian package dataset-fashion-mnist)", citation=FASHION_MNIST_CITATION,
                    mask_kind="derived")
    budget = Budget(epochs=12, batch_size=128, lr=2e-3)  # 0.887 test accuracy with small_cnn (docs/ERM_ACCURACY.md)
    dataset = "Fashion-MNIST"
    default_root = "/usr/share/datasets/fashion-mnist"
    subdirs = ("FashionMNIST/raw",)  # torchvision's layout
    how = ("install it with 'apt-get install dataset-fashion-mnist' or set params.root to a directory holding "
           "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
