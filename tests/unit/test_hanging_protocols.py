"""Hanging protocols: chosen from modality, body part, how the series reads and the prior; users' own as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workstation.ui.hanging_protocols import (
    BUILT_IN, HangingProtocol, StudyFacts, ViewportSpec, all_protocols, choose, load_user_protocols,
    save_user_protocol,
)


def _name(facts: StudyFacts, user: list[HangingProtocol] | None = None) -> str:
    return choose(facts, all_protocols(user or [])).name


def test_built_in_choice_by_modality_kind_and_prior() -> None:
    assert _name(StudyFacts("MG", "BREAST", "images", n_images=4)) == "Mammography screening"
    assert _name(StudyFacts("CT", "CHEST", "volume")) == "CT MPR 2x2"
    assert _name(StudyFacts("CT", "CHEST", "volume", has_prior=True)) == "CT with prior"
    assert _name(StudyFacts("MR", "HEAD", "volume", has_prior=True)) == "Volume with prior"
    assert _name(StudyFacts("MR", "HEAD", "volume")) == "Single 2D"
    assert _name(StudyFacts("CT", "HEAD", "dynamic")) == "Single 2D"  # a perfusion series: 2D with time
    assert _name(StudyFacts("US", "", "images", n_images=1)) == "Images"
    assert _name(StudyFacts("CR", "CHEST", "images", n_images=2)) == "Images"


def test_mammography_hangs_right_and_left_facing_cc_over_mlo() -> None:
    mg = next(p for p in BUILT_IN if p.name == "Mammography screening")
    assert (mg.rows, mg.columns) == (2, 2)
    assert [(v.laterality, v.view) for v in mg.viewports] == [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]


def test_image_grid_grows_with_the_number_of_images() -> None:
    images = next(p for p in BUILT_IN if p.name == "Images")
    assert images.grid_for(1)[:2] == (1, 1) and images.grid_for(2)[:2] == (1, 2)
    assert images.grid_for(4)[:2] == (2, 2) and images.grid_for(7)[:2] == (3, 3)
    assert [v.index for v in images.grid_for(3)[2]] == [0, 1, 2]


def test_user_protocols_round_trip_and_win(tmp_path: Path) -> None:
    mine = HangingProtocol("My chest CT", 1, 3, tuple(ViewportSpec("plane", plane=p) for p in
                                                   ("axial", "coronal", "sagittal")),
                           modalities=("CT",), body_parts=("CHEST",), kinds=("volume",), priority=30, user=True)
    path = save_user_protocol(mine, tmp_path)
    assert path.parent == tmp_path and json.loads(path.read_text())["name"] == "My chest CT"
    loaded, problems = load_user_protocols(tmp_path)
    assert problems == [] and loaded == [mine] and loaded[0].user
    assert _name(StudyFacts("CT", "CHEST", "volume"), loaded) == "My chest CT"  # ties go to the user's
    assert _name(StudyFacts("CT", "ABDOMEN", "volume"), loaded) == "CT MPR 2x2"  # body part must match
    # a user protocol named like a built-in one replaces it
    same = HangingProtocol("CT MPR 2x2", 1, 1, (ViewportSpec("3d"),), modalities=("CT",), priority=30, user=True)
    assert [p.viewports for p in all_protocols([same]) if p.name == "CT MPR 2x2"] == [same.viewports]


def test_bad_protocol_files_are_named_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "extra.json").write_text(json.dumps({"name": "x", "rows": 1, "columns": 1, "viewports": [],
                                                     "colour": "red"}))
    (tmp_path / "grid.json").write_text(json.dumps({"name": "big", "rows": 9, "columns": 1,
                                                    "viewports": [{"kind": "3d"}]}))
    (tmp_path / "kind.json").write_text(json.dumps({"name": "k", "rows": 1, "columns": 1,
                                                    "viewports": [{"kind": "hologram"}]}))
    good = HangingProtocol("Good", 1, 1, (ViewportSpec("plane"),), user=True)
    save_user_protocol(good, tmp_path)
    loaded, problems = load_user_protocols(tmp_path)
    assert loaded == [good]
    reasons = dict(p.split(": ", 1) for p in problems)
    assert set(reasons) == {"broken.json", "extra.json", "grid.json", "kind.json"}
    assert "colour" in reasons["extra.json"] and "9x1" in reasons["grid.json"] and "hologram" in reasons["kind.json"]


def test_protocol_checks_its_own_shape() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        HangingProtocol("x", 1, 1, (ViewportSpec("plane"), ViewportSpec("3d")))
    with pytest.raises(ValueError, match="laterality"):
        ViewportSpec("image", laterality="X")
