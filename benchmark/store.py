"""The result store: one JSON record per cell, weights and attributions as safetensors.

Every file is written to a temporary name and renamed into place, so a run killed at any moment
leaves only complete files; a rerun finds finished cells by their key and skips them.

    results/
      records/<key hash>.json         one per (training cell, explainer, metric)
      training/<key hash>.json        one per training cell: time, memory, versions
      models/<key hash>.safetensors   trained weights
      attributions/<key hash>.safetensors
      retrained/<key hash>.json       one per ROAR/KAR retrained model (weights in models/)
      failures/<key hash>.json        cells that raised, with their traceback
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaibench.component import stable_hash

if TYPE_CHECKING:  # torch only for tensors: reading records (xaibench.results) stays light
    import torch


def key_hash(key: dict[str, Any]) -> str:
    return stable_hash(key, length=20)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """A directory of results keyed by everything that can change them.

    >>> import tempfile
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> store.put("records", {"k": 1}, {"value": 0.5})
    >>> store.get("records", {"k": 1})["value"], store.has("records", {"k": 2})
    (0.5, False)
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def _path(self, kind: str, key: dict[str, Any], suffix: str = ".json") -> Path:
        return self.root / kind / f"{key_hash(key)}{suffix}"

    def has(self, kind: str, key: dict[str, Any]) -> bool:
        return self._path(kind, key).exists()

    def put(self, kind: str, key: dict[str, Any], record: dict[str, Any]) -> None:
        text = json.dumps({"key": key, **record}, indent=1, sort_keys=True, allow_nan=True)
        write_atomic(self._path(kind, key), text.encode())

    def get(self, kind: str, key: dict[str, Any]) -> dict[str, Any] | None:
        path = self._path(kind, key)
        return json.loads(path.read_text()) if path.exists() else None

    def delete(self, kind: str, key: dict[str, Any]) -> None:
        self._path(kind, key).unlink(missing_ok=True)

    def records(self, kind: str = "records") -> Iterator[dict[str, Any]]:
        for path in sorted((self.root / kind).glob("*.json")):
            yield json.loads(path.read_text())

    def put_tensors(self, kind: str, key: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save

        data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        write_atomic(self._path(kind, key, ".safetensors"), data)

    def get_tensors(self, kind: str, key: dict[str, Any]) -> dict[str, torch.Tensor] | None:
        from safetensors.torch import load

        path = self._path(kind, key, ".safetensors")
        return load(path.read_bytes()) if path.exists() else None
