"""Why small_cnn's max pooling runs channels-last without a gradient: the speed of the two layouts, in one run.

Prints the no-grad time of NCHW max pooling (torch's kernel) over the channels-last round trip that
``xaibench.models.pooling.MaxPool2d`` does, for the small CNN's two pooling inputs, then the whole small CNN's
no-grad forward with either pooling, and the forward-backward (where MaxPool2d keeps the NCHW kernel), on this
machine's default threads. Values are identical (tests/test_pooling.py).
Run: python perf/maxpool_layout.py [--repeats 20]
"""
from __future__ import annotations

import argparse
import copy

import torch
import torch.nn.functional as F
from torch import nn

from timing import best_times
from xaibench.models.pooling import MaxPool2d
from xaibench.models.small_cnn import SmallCNN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    ours = SmallCNN(SmallCNN.Config(), (1, 32, 32), num_classes=10).eval()
    plain = copy.deepcopy(ours)
    for i, layer in enumerate(plain.features):
        if isinstance(layer, MaxPool2d):
            plain.features[i] = nn.MaxPool2d(layer.kernel_size)
    print("| work | NCHW s | ours s | NCHW / ours |\n|---|---:|---:|---:|")

    def row(name: str, nchw, mine) -> None:
        a, b = best_times(nchw, mine, repeats=args.repeats)
        print(f"| {name} | {a:.4f} | {b:.4f} | {a / b:.2f} |")

    with torch.no_grad():
        for shape in ((256, 16, 32, 32), (256, 32, 16, 16)):
            x = F.relu(torch.randn(shape))
            row(f"max pool {tuple(shape)}", lambda x=x: F.max_pool2d(x, 2), lambda x=x: MaxPool2d(2)(x))
        x = torch.rand(256, 1, 32, 32)
        row("small_cnn forward, 256 x 1 x 32 x 32", lambda: plain(x), lambda: ours(x))
    x, y = torch.rand(64, 1, 32, 32), torch.randint(0, 10, (64,))
    row("small_cnn forward-backward, 64", lambda: F.cross_entropy(plain(x), y).backward(),
        lambda: F.cross_entropy(ours(x), y).backward())


if __name__ == "__main__":
    main()
