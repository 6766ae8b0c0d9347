"""Model registry: manifests, user folder, checksum and tensor checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from ml_onnx_helpers import conv_model, entry_dict, write_manifest  # noqa: E402

from workstation.ml import ModelError, get_model, list_models, load_manifest, sha256_file, verify  # noqa: E402
from workstation.ml.registry import ENV_VAR, builtin_models_dir  # noqa: E402

TILE = (4, 8, 8)


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    path = conv_model(tmp_path / "tiny.onnx", TILE, classes=3)
    write_manifest(tmp_path, [entry_dict("tiny", "tiny.onnx", sha256_file(path), TILE, {1: "a", 2: "b"})])
    return tmp_path


def test_manifest_entry_fields(model_dir: Path) -> None:
    (entry,) = load_manifest(model_dir)
    assert entry.name == "tiny" and entry.task == "segmentation-3d"
    assert entry.file == (model_dir / "tiny.onnx").resolve()
    assert entry.input.tile == TILE and entry.input.spacing == (2.0, 2.0, 2.0)
    assert entry.input.normalization.lo == -1000.0
    assert dict(entry.labels) == {1: "a", 2: "b"} and entry.n_classes == 3
    assert entry.intended_use == "Not for clinical use"
    verify(entry)  # a good model passes


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 5000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_tampered_model_rejected(model_dir: Path) -> None:
    (entry,) = load_manifest(model_dir)
    raw = bytearray((model_dir / "tiny.onnx").read_bytes())
    raw[-5] ^= 0xFF
    (model_dir / "tiny.onnx").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=r"'tiny'.*checksum mismatch"):
        verify(entry)


def test_missing_file_message(model_dir: Path) -> None:
    (entry,) = load_manifest(model_dir)
    (model_dir / "tiny.onnx").unlink()
    with pytest.raises(ModelError, match=r"'tiny'.*tiny\.onnx is missing"):
        verify(entry)


@pytest.mark.parametrize("name, model_kwargs, message", [
    ("wrong-tile", {"tile": (4, 8, 16)}, r"'wrong-tile': input 'image' has shape"),
    ("u8", {"elem": "UINT8"}, r"'u8': input 'image' has type tensor\(uint8\)"),
    ("k", {"classes": 2}, r"'k' in .*manifest\.json: the network's output 'logits' has 2 channels"),
    ("n", {"in_name": "x"}, r"no input called 'image'"),
])
def test_model_not_matching_its_entry_is_rejected(tmp_path: Path, name: str, model_kwargs: dict,
                                                  message: str) -> None:
    """Input shape, input type, output classes and input name are each checked against the entry."""
    kwargs = {"tile": TILE, "classes": 3, **model_kwargs}
    path = conv_model(tmp_path / "m.onnx", kwargs.pop("tile"), **kwargs)
    write_manifest(tmp_path, [entry_dict(name, "m.onnx", sha256_file(path), TILE, {1: "a", 2: "b"})])
    (entry,) = load_manifest(tmp_path)
    with pytest.raises(ModelError, match=message):
        verify(entry)


def test_bad_manifest_names_file(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="manifest.json"):
        load_manifest(tmp_path)
    write_manifest(tmp_path, [{"name": "x", "file": "x.onnx", "version": "1", "sha256": "0" * 64,
                               "task": "segmentation-3d", "input": {"spacing": [1, 1, 1], "tile": [8, 8],
                               "normalization": {"type": "zscore"}}}])
    with pytest.raises(ModelError, match=r"'x'.*spacing has 3 values but input.tile has 2"):
        load_manifest(tmp_path)


def test_user_folder_from_env_overrides_builtin(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(model_dir))
    names = [e.name for e in list_models()]
    assert "tiny" in names
    assert get_model("tiny").file.parent == model_dir.resolve()
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        get_model("nope")


def test_user_folder_from_setting(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert "tiny" not in [e.name for e in list_models()]
    assert "tiny" in [e.name for e in list_models(user_dir=model_dir)]
    assert "tiny" not in [e.name for e in list_models(user_dir=model_dir, task="detection-2d")]


def test_builtin_manifest_is_valid_and_verified() -> None:
    folder = builtin_models_dir()
    assert (folder / "manifest.json").is_file(), folder
    entries = load_manifest(folder)
    assert entries
    data = json.loads((folder / "manifest.json").read_text())
    for entry in entries:
        verify(entry)
        assert entry.intended_use.startswith("Not for clinical use")
        assert entry.file.stat().st_size < 5 * 2**20
    assert len(data["models"]) == len(entries)
