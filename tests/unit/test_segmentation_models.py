"""Models offered by the segmentation panel: built-in ones survive faults of the user's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnx")

from ml_onnx_helpers import conv_model, entry_dict, write_manifest  # noqa: E402

from workstation.analyses.segmentation.models import available_models  # noqa: E402
from workstation.ml.registry import ENV_VAR, sha256_file  # noqa: E402

TILE = (4, 8, 8)
TASK = "segmentation-3d"


@pytest.fixture(autouse=True)
def no_env_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def names(listing) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {c.entry.name: c.models_dir for c in listing.choices}


def test_no_folder_lists_builtin_only() -> None:
    listing = available_models(None, TASK)
    assert names(listing) == {"chest-organs": None} and listing.problems == () and listing.user_dir is None


def test_valid_user_model_replaces_builtin_of_same_name(tmp_path: Path) -> None:
    model = conv_model(tmp_path / "mine.onnx", TILE, classes=3)
    write_manifest(tmp_path, [entry_dict("chest-organs", "mine.onnx", sha256_file(model), TILE, {1: "a", 2: "b"})])
    listing = available_models(str(tmp_path), TASK)
    assert names(listing) == {"chest-organs": str(tmp_path)} and not listing.problems


def test_faulty_user_model_keeps_builtin_and_says_so(tmp_path: Path) -> None:
    write_manifest(tmp_path, [entry_dict("chest-organs", "gone.onnx", "a" * 64, TILE, {1: "a"})])
    listing = available_models(str(tmp_path), TASK)
    assert names(listing) == {"chest-organs": None}
    (problem,) = listing.problems
    assert "'chest-organs'" in problem and "missing" in problem and "built-in one is used" in problem


def test_other_tasks_are_not_checked(tmp_path: Path) -> None:
    item = entry_dict("detector", "gone.onnx", "a" * 64, TILE, {1: "a"}, task="detection-2d")
    write_manifest(tmp_path, [item])
    assert available_models(str(tmp_path), TASK).problems == ()


def test_bad_item_refuses_the_folder_but_not_builtin(tmp_path: Path) -> None:
    model = conv_model(tmp_path / "ok.onnx", TILE, classes=2)
    good = entry_dict("ok", "ok.onnx", sha256_file(model), TILE, {1: "a"})
    bad = entry_dict("bad-sha", "ok.onnx", "xyz", TILE, {1: "a"})
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 1, "models": [good, bad]}))
    listing = available_models(str(tmp_path), TASK)
    assert names(listing) == {"chest-organs": None}
    assert any("'bad-sha'" in p and "sha256" in p for p in listing.problems)
    assert any("until these are fixed" in p for p in listing.problems)


def test_environment_variable_wins_over_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env"))
    listing = available_models(str(tmp_path / "setting"), TASK)
    assert listing.user_dir == tmp_path / "env" and "does not exist" in listing.problems[0]
