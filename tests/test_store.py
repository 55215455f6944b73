import json
import os

import pytest
import torch

from xaibench.store import ResultStore, write_atomic


def test_put_get_roundtrip(tmp_path):
    store = ResultStore(tmp_path)
    store.put("records", {"a": 1}, {"value": float("nan"), "values": [1.0]})
    rec = store.get("records", {"a": 1})
    assert rec["key"] == {"a": 1} and rec["values"] == [1.0] and rec["value"] != rec["value"]
    assert [r["key"] for r in store.records()] == [{"a": 1}]
    store.put_tensors("models", {"a": 1}, {"w": torch.arange(6.0).view(2, 3)})
    assert torch.equal(store.get_tensors("models", {"a": 1})["w"], torch.arange(6.0).view(2, 3))
    assert store.get_tensors("models", {"a": 2}) is None


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_atomic(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["r.json"]  # no temp file left


def test_key_order_does_not_matter(tmp_path):
    store = ResultStore(tmp_path)
    store.put("records", {"a": 1, "b": {"c": 2, "d": 3}}, {"v": 1})
    assert store.has("records", {"b": {"d": 3, "c": 2}, "a": 1})
    assert json.loads(next((tmp_path / "records").glob("*.json")).read_text())["v"] == 1
