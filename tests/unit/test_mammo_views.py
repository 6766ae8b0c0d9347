"""Laterality and view from headers, chest-wall side, hanging order and mirroring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from workstation.analyses.base import InputError
from workstation.analyses.mammo_cad.loader import load_exam
from workstation.analyses.mammo_cad.preprocess import chest_wall_on_left
from workstation.analyses.mammo_cad.views import (
    HANGING_ORDER, ViewError, chest_wall_left_from_header, display_flip, grid_position, hanging,
    laterality_of, view_position_of,
)
from workstation.compute.backend import cpu_backend
from workstation.demo.mammo import write_mammo

SMALL = (384, 312)


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    return item


def test_header_fallbacks() -> None:
    ds = Dataset()
    ds.Laterality = "L"
    ds.ViewCodeSequence = [_code("399368009", "medio-lateral oblique")]
    assert (laterality_of(ds), view_position_of(ds)) == ("L", "MLO")
    ds.ImageLaterality = "R"
    ds.ViewPosition = "CC"
    assert (laterality_of(ds), view_position_of(ds)) == ("R", "CC")
    old = Dataset()
    old.ViewCodeSequence = [_code("XYZ", "cranio-caudal")]
    assert view_position_of(old) == "CC"
    with pytest.raises(ViewError, match="ImageLaterality"):
        laterality_of(Dataset())
    with pytest.raises(ViewError, match="ViewPosition"):
        view_position_of(Dataset())


def test_chest_wall_from_patient_orientation() -> None:
    ds = Dataset()
    assert chest_wall_left_from_header(ds) is None
    ds.PatientOrientation = ["A", "R"]
    assert chest_wall_left_from_header(ds) is True
    ds.PatientOrientation = ["P", "F"]
    assert chest_wall_left_from_header(ds) is False


def test_hanging_grid_and_missing_views() -> None:
    assert hanging(["L-MLO", "R-CC", "L-XCCL"]) == ["R-CC", None, None, "L-MLO"]
    assert [grid_position(k) for k in HANGING_ORDER] == [(0, 0), (0, 1), (1, 0), (1, 1)]


def _hung_edges(image: np.ndarray, flip: bool) -> tuple[float, float]:
    shown = image[:, ::-1] if flip else image
    breast = shown > 400
    return float(breast[:, :8].mean()), float(breast[:, -8:].mean())


@pytest.mark.parametrize("convention", ["standard", "left"])
def test_hanging_mirrors_so_chest_walls_face(tmp_path: Path, convention: str) -> None:
    write_mammo(tmp_path, 5, shape=SMALL, chest_wall=convention)  # type: ignore[arg-type]
    exam = load_exam([tmp_path])
    assert [im.key for im in exam.images] == list(HANGING_ORDER)
    for im in exam.images:
        assert im.chest_wall_left is (im.laterality == "L" or convention == "left")
        flip = display_flip(im.laterality, bool(im.chest_wall_left))
        # mirroring happens exactly when the stored image has the chest wall on the outside
        assert flip is (convention == "left" and im.laterality == "R")
        left, right = _hung_edges(im.pixels, flip)
        # right breast in the left column: chest wall at its right edge (toward the middle)
        assert (right > left) if im.laterality == "R" else (left > right)
        # the pixel-based fallback agrees with the header
        assert chest_wall_on_left(im.pixels, cpu_backend()) is im.chest_wall_left


def test_missing_views_and_no_mammograms(tmp_path: Path) -> None:
    truth = write_mammo(tmp_path / "a", 2, shape=SMALL)
    truth.files["L-CC"].unlink()
    exam = load_exam([tmp_path / "a"])
    assert [im.key for im in exam.images] == ["R-CC", "R-MLO", "L-MLO"]
    assert any("missing views: L-CC" in w for w in exam.warnings)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "note.txt").write_text("not dicom")
    with pytest.raises(InputError, match="no mammogram"):
        load_exam([tmp_path / "b"])


def test_for_processing_only_is_accepted(tmp_path: Path) -> None:
    write_mammo(tmp_path, 4, shape=SMALL, for_processing=True, for_presentation=False)
    exam = load_exam([tmp_path])
    assert all(im.for_processing for im in exam.images) and len(exam.images) == 4
    assert any("log-inverse" in w for w in exam.warnings)
    im = exam.get("R-CC")
    assert im is not None and im.pixels.max() == pytest.approx(4095, rel=1e-3)
