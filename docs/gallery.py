"""A PNG grid of every explainer that runs on a SmallCNN briefly trained on the shapes task.

Rows are test samples (input, then one map per explainer, pooled with `sum,abs` and min-max scaled);
columns are the explainers. About a minute on a laptop CPU.
Run: python docs/gallery.py [--out gallery.png] [--samples 4] [--epochs 6]
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from xaibench.budget import Budget  # noqa: E402
from xaibench.methods.base import TrainingContext  # noqa: E402
from xaibench.methods.erm import ERM  # noqa: E402
from xaibench.metrics.functional.maps import minmax, pool  # noqa: E402
from xaibench.models.small_cnn import SmallCNN  # noqa: E402
from xaibench.registries import EXPLAINERS  # noqa: E402
from xaibench.tasks.images.shapes import SHAPES, Shapes  # noqa: E402


def train(epochs: int) -> tuple[SmallCNN, torch.Tensor, torch.Tensor]:
    """A SmallCNN trained with ERM on 2000 shapes; returns (model, test inputs, test labels)."""
    task = Shapes({"n_train": 2000, "n_test": 200})
    data, test = task.load("train"), task.load("test")
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), Shapes.meta.input_shape, Shapes.meta.num_classes)
    method = ERM()
    method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(0))
    method.fit(model, data, Budget(epochs=epochs, batch_size=64, lr=2e-3))
    return model.eval(), test.x, test.y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gallery.png")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)  # the shapes task budget
    args = parser.parse_args()

    model, x, y = train(args.epochs)
    x, y = x[:args.samples], y[:args.samples]
    with torch.no_grad():
        target = model(x).argmax(1)
    index = torch.arange(len(x))
    maps = {}
    for name in EXPLAINERS.names():
        cls = EXPLAINERS.get(name)
        if cls.supports(SmallCNN) is None and "flint" not in cls.requires:  # FLINT needs a FLINT-trained model
            with cls(model) as explainer:
                maps[name] = minmax(pool(explainer.explain(x, target, index=index)))
    print(f"accuracy on the shown samples: {(target == y).float().mean():.2f}")

    cols = 1 + len(maps)
    fig, axes = plt.subplots(len(x), cols, figsize=(1.6 * cols, 1.7 * len(x)), squeeze=False)
    for i in range(len(x)):
        panels = [("input", x[i, 0])] + [(name, m[i]) for name, m in maps.items()]
        for j, (title, image) in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(image.numpy(), cmap="gray" if j == 0 else "inferno", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=7)
        axes[i, 0].set_ylabel(f"{SHAPES[y[i]]} → {SHAPES[target[i]]}", fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
