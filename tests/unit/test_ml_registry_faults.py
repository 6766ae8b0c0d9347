"""A faulty user models folder never costs the built-in models; labels must fit the network."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from ml_onnx_helpers import conv_model, entry_dict, write_manifest  # noqa: E402

from workstation.ml import ModelError, get_model, list_models, load_manifest, sha256_file, verify  # noqa: E402
from workstation.ml.registry import ENV_VAR, builtin_models_dir, read_catalogue  # noqa: E402

TILE = (4, 8, 8)
BUILTIN = "chest-organs"


def _good_item(folder: Path, name: str = "tiny", classes: int = 3) -> dict:
    path = conv_model(folder / f"{name}.onnx", TILE, classes=classes)
    return entry_dict(name, path.name, sha256_file(path), TILE, {k: f"c{k}" for k in range(1, classes)})


@pytest.fixture(autouse=True)
def _no_user_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_truncated_user_manifest_leaves_the_builtin_models(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_manifest(tmp_path, [_good_item(tmp_path)])
    text = (tmp_path / "manifest.json").read_text()
    (tmp_path / "manifest.json").write_text(text[: len(text) // 2])
    with caplog.at_level(logging.WARNING, logger="workstation.ml"):
        names = {e.name for e in list_models(user_dir=tmp_path)}
        entry = get_model(BUILTIN, user_dir=tmp_path)
    assert {BUILTIN, "mammo-cad-detector"} <= names and "tiny" not in names
    assert entry.file.parent == builtin_models_dir().resolve()
    warned = [r.getMessage() for r in caplog.records]
    assert any(str(tmp_path / "manifest.json") in m and "not a readable JSON manifest" in m for m in warned), warned


def test_one_bad_item_costs_only_that_model(tmp_path: Path) -> None:
    bad = {"name": "broken", "file": "x.onnx", "version": "1", "sha256": "0" * 64, "task": "segmentation-3d",
           "input": {"spacing": [1, 1, 1], "tile": [8, 8], "normalization": {"type": "zscore"}}}
    write_manifest(tmp_path, [bad, _good_item(tmp_path), "not an object"])
    catalogue = read_catalogue(tmp_path)
    assert set(catalogue.user) == {"tiny"}
    assert len(catalogue.problems) == 2
    assert "'broken'" in catalogue.problems[0] and "spacing has 3 values but input.tile has 2" in catalogue.problems[0]
    assert "must be an object" in catalogue.problems[1]
    verify(get_model("tiny", user_dir=tmp_path))
    assert get_model(BUILTIN, user_dir=tmp_path).file.parent == builtin_models_dir().resolve()


@pytest.mark.parametrize("fault", ["missing file", "changed file", "wrong network"])
def test_faulty_user_model_with_a_builtin_name_falls_back(tmp_path: Path, fault: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    (builtin,) = [e for e in load_manifest(builtin_models_dir()) if e.name == BUILTIN]
    item = json.loads((builtin_models_dir() / "manifest.json").read_text())["models"]
    (raw,) = [m for m in item if m["name"] == BUILTIN]
    shutil.copy(builtin.file, tmp_path / builtin.file.name)
    if fault == "missing file":
        (tmp_path / builtin.file.name).unlink()
    elif fault == "changed file":
        (tmp_path / builtin.file.name).write_bytes(builtin.file.read_bytes() + b"\0")
    else:
        conv_model(tmp_path / builtin.file.name, (32, 64, 64), classes=3)  # 5 labels in the entry
        raw = {**raw, "sha256": sha256_file(tmp_path / builtin.file.name)}
    write_manifest(tmp_path, [raw])
    with caplog.at_level(logging.WARNING, logger="workstation.ml"):
        entry = get_model(BUILTIN, user_dir=tmp_path)
    assert entry.file == builtin.file
    assert any(f"the built-in model '{BUILTIN}' is used instead" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("declared_outputs", [False, True])
def test_labels_not_matching_the_output_channels_are_rejected(tmp_path: Path, declared_outputs: bool) -> None:
    """Two labels for a six-channel network passed silently when the outputs were declared."""
    path = conv_model(tmp_path / "six.onnx", TILE, classes=6)
    extra = {"outputs": [{"name": "logits", "shape": [None, 6, *TILE]}]} if declared_outputs else {}
    write_manifest(tmp_path, [entry_dict("six", path.name, sha256_file(path), TILE, {1: "a", 2: "b"}, **extra)])
    (entry,) = load_manifest(tmp_path)
    with pytest.raises(ModelError) as info:
        verify(entry)
    assert str(info.value) == (
        f"model 'six' in {tmp_path / 'manifest.json'}: the network's output 'logits' has 6 channels "
        "(background and 5 classes) but the manifest names 2 label(s) [1, 2]; it must name labels 1 to 5")


def test_channels_read_by_running_a_network_with_a_symbolic_output(tmp_path: Path) -> None:
    import onnx

    path = conv_model(tmp_path / "sym.onnx", TILE, classes=4)
    model = onnx.load(str(path))
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "C"
    onnx.save(model, str(path))
    write_manifest(tmp_path, [entry_dict("sym", path.name, sha256_file(path), TILE, {1: "a", 2: "b"})])
    (entry,) = load_manifest(tmp_path)
    with pytest.raises(ModelError, match=r"'logits' has 4 channels"):
        verify(entry)


def test_mammo_detector_builds_despite_a_broken_user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.analyses.mammo_cad.detect import Detector
    from workstation.compute.backend import select_backend

    (tmp_path / "manifest.json").write_text('{"models": [{"name": ')
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    detector = Detector(select_backend("cpu"))
    assert detector.entry.file.parent == builtin_models_dir().resolve()
