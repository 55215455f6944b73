import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests never load third-party plugins that happen to be installed.
os.environ.setdefault("XAIBENCH_NO_PLUGINS", "1")
# As `import xaibench` does (benchmark/__init__.py), before any test module imports torch: OpenMP threads sleep
# while they wait instead of spinning on a core that the other jobs of a shared machine need.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `xaibench` command in a subprocess."""
    return subprocess.run([sys.executable, "-m", "xaibench", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture
def write_suite(tmp_path):
    """Write a suite YAML into tmp_path and return its path."""

    def write(text: str, name: str = "suite.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# A small input shape per modality, for tests that build every registered architecture.
EXAMPLE_SHAPES = {"image": (1, 32, 32), "time_series": (3, 40), "text": (16,)}
EXAMPLE_VOCAB = 50


def example_model(arch_name: str, num_classes: int = 4, seed: int = 0):
    """Build a registered architecture on a small input of its modality: (model, x)."""
    import torch

    from xaibench.registries import ARCHITECTURES

    cls = ARCHITECTURES.get(arch_name)
    shape = EXAMPLE_SHAPES[cls.modality]
    torch.manual_seed(seed)
    if cls.modality == "text":
        model = cls(cls.make_config(), shape, num_classes, vocab_size=EXAMPLE_VOCAB)
        x = torch.randint(1, EXAMPLE_VOCAB, (6, *shape), generator=torch.Generator().manual_seed(seed))
        x[:, -3:] = 0  # padding at the end
    else:
        model = cls(cls.make_config(), shape, num_classes)
        x = torch.rand(6, *shape, generator=torch.Generator().manual_seed(seed))
    return model, x


@pytest.fixture
def deterministic():
    """Deterministic kernels and a fixed global seed for one test (explainer tests use it for every test)."""
    import torch

    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    yield
    torch.use_deterministic_algorithms(enabled)


def explain(cls: type, model, x, target, config: object = None, index=None):
    """One explainer call inside its ``with`` block."""
    with cls(model, config) as e:
        return e.explain(x, target, index=index)


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread avoids thread-pool stalls on a busy 2-core runner (10-100x)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def const_model(logits: list[float]):
    """A model whose logits ignore the input: p_c is the softmax of ``logits`` for every sample."""
    import torch
    from torch import nn

    class ConstModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.tensor(logits))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.logits.expand(len(x), -1)

    return ConstModel()
