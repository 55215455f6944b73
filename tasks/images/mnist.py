"""MNIST from IDX files in a user directory; derived silhouette masks like Fashion-MNIST."""
from __future__ import annotations

from xaibench.budget import Budget
from xaibench.registries import TASKS
from xaibench.tasks.base import TaskMeta
from xaibench.tasks.images.idx import IdxTask


@TASKS.register
class MNIST(IdxTask):
    """MNIST: 28x28 grey handwritten digits, 10 classes, from params.root; mask = derived stroke silhouette.

    >>> MNIST.meta.num_classes, MNIST.meta.mask_kind
    (10, 'derived')
    >>> MNIST().check_available()
    Traceback (most recent call last):
    ...
    xaibench.errors.DataUnavailableError: MNIST not found: no params.root given; ...
    """

    name = "mnist"
    version = "1"
    meta = TaskMeta(modality="image", input_shape=(1, 28, 28), num_classes=10, has_mask=True,
                    source="MNIST (IDX files under params.root)",
                    citation="LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document "
                             "recognition. Proc. IEEE 86(11), 1998",
                    mask_kind="derived")
    budget = Budget(epochs=2, batch_size=128, lr=2e-3)
    dataset = "MNIST"
    subdirs = ("MNIST/raw",)  # torchvision's layout
    how = ("set params.root to a directory holding the MNIST files {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] "
           "(as distributed by LeCun et al.)")
