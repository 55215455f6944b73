import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests never load third-party plugins that happen to be installed.
os.environ.setdefault("XAIBENCH_NO_PLUGINS", "1")
# Before any test module imports torch: `import xaibench` chooses OpenMP's wait policy (xaibench.openmp_wait).
import xaibench  # noqa: E402,F401


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


@pytest.fixture
def deterministic():
    """Deterministic kernels and a fixed global seed for one test (explainer tests use it for every test)."""
    import torch

    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    yield
    torch.use_deterministic_algorithms(enabled)


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread avoids thread-pool stalls on a busy 2-core runner (10-100x)."""
    from xaibench.testing import one_thread

    with one_thread():
        yield
