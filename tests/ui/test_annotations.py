"""Annotations: angle, Cobb angle, arrow and text beside distances and ROIs; undo and redo;
saved per study as a measurement report in the user's data folder and shown again; copied as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_validation import assert_valid_dicom
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ui_windows import activate
from ui_phantom import SPACING
from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series
from workstation.ui.annotation_store import report_path
from workstation.ui.main_window import MainWindow
from workstation.ui.viewer2d import SliceViewer


@pytest.fixture
def window(make_window) -> MainWindow:  # type: ignore[no-untyped-def]
    win = make_window(active=True)  # window shortcuts (Ctrl+Z ...) act in the active window
    win.set_layout("2d")
    return win


def _open(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    window.layout_override = "2d" if folder.name != "CR1" else None  # the slice view alone for volumes
    with qtbot.waitSignal(window.loader.series_loaded, timeout=60000):
        window.open_paths([folder])
    qtbot.wait(50)


def _click(qtbot: QtBot, view: SliceViewer, r: float, c: float) -> None:
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.view_pos_of(r, c).toPoint())


def _series(ct: Volume, folder: Path) -> Path:
    write_series(ct, folder, modality="CT", tags={"PatientID": "ANN-1", "PatientName": "Qanx^Wzyk"})
    return folder


def test_angle_cobb_arrow_and_text(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _open(qtbot, window, _series(ct, tmp_path / "ct"))
    view = window.area.axial
    rh, cw = view.pixel_mm()  # 0.8 x 0.6 mm: the angles are measured in mm, not in pixels
    assert (rh, cw) == (SPACING[1], SPACING[2])
    view.state.set_tool("angle")
    for r, c in ((10, 40), (30, 40), (30, 70)):  # a right angle at (30, 40) in mm as well
        _click(qtbot, view, r, c)
    angle = window.annotations.items[-1]
    assert angle.kind == "angle" and angle.value("Angle") == pytest.approx(90.0, abs=0.5)
    view.state.set_tool("cobb")
    for r, c in ((10, 10), (10, 30), (20, 10), (30, 30)):  # line 2 rises 10 rows over 20 columns
        _click(qtbot, view, r, c)
    cobb = window.annotations.items[-1]
    expected = np.degrees(np.arctan2(10 * rh, 20 * cw))
    assert cobb.kind == "cobb" and cobb.value("Cobb angle") == pytest.approx(expected, abs=0.5)
    monkeypatch.setattr(view, "ask_text", lambda kind: "calcified nodule" if kind == "arrow" else "See prior")
    view.state.set_tool("arrow")
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.view_pos_of(40, 40).toPoint())
    qtbot.mouseMove(view.viewport(), view.view_pos_of(50, 55).toPoint())
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.view_pos_of(50, 55).toPoint())
    arrow = window.annotations.items[-1]
    assert arrow.kind == "arrow" and arrow.text == "calcified nodule"
    view.state.set_tool("text")
    _click(qtbot, view, 55, 10)
    note = window.annotations.items[-1]
    assert note.kind == "text" and note.text == "See prior"
    labels = [d.label.text for d in view._drawn]
    assert labels == [a.summary() for a in window.annotations.items]
    assert "calcified nodule" in labels[2] and labels[3] == "Text 1: See prior"
    # the annotations belong to their slice
    view.scroll_slices(1)
    assert view.drawn_annotations() == []
    view.scroll_slices(-1)
    assert len(view.drawn_annotations()) == 4


def test_undo_redo_from_the_keyboard(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    _open(qtbot, window, _series(ct, tmp_path / "ct"))
    view = window.area.axial
    view.state.set_tool("distance")
    for (r0, c0), (r1, c1) in (((10, 10), (10, 40)), ((20, 10), (40, 10))):
        _click(qtbot, view, r0, c0)
        _click(qtbot, view, r1, c1)
    lengths = [a.value("Length") for a in window.annotations.items]
    assert lengths == pytest.approx([30 * SPACING[2], 20 * SPACING[1]], abs=0.7)
    activate(qtbot, window)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [a.label for a in window.annotations.items] == ["Distance 1"] and len(view.drawn_annotations()) == 1
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [a.label for a in window.annotations.items] == ["Distance 1", "Distance 2"]
    qtbot.keyClick(view, Qt.Key.Key_Delete)  # the last one on this slice
    qtbot.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # redo: nothing to redo
    assert len(window.annotations.items) == 1
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.annotations.items) == 2


def test_saved_for_the_study_and_shown_again(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    study_folder = _series(ct, tmp_path / "ct")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in study_folder.iterdir())
    _open(qtbot, window, study_folder)
    study_uid = window.context.study.uid
    view = window.area.axial
    view.state.set_tool("distance")
    _click(qtbot, view, 10, 10)
    _click(qtbot, view, 40, 50)
    view.state.set_tool("roi_rectangle")
    _click(qtbot, view, 26, 36)
    _click(qtbot, view, 38, 44)
    drawn = list(window.annotations.items)
    window.store.save_now()
    qtbot.waitUntil(lambda: window.store.saved_path is not None, timeout=20000)
    path = report_path(study_uid, tmp_path / "annotations")
    assert window.store.saved_path == path and path.is_file()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in study_folder.iterdir()) == before  # source untouched
    assert_valid_dicom([path])
    sr = pydicom.dcmread(path)
    assert sr.StudyInstanceUID == study_uid and sr.Modality == "SR"
    # another study, then the first again: its annotations come back from the report
    _open(qtbot, window, _series(Volume(ct.array[::2], spacing=(5.0, 0.8, 0.6), modality="CT"), tmp_path / "other"))
    assert window.annotations.items == []
    _open(qtbot, window, study_folder)
    qtbot.waitUntil(lambda: len(window.annotations.items) == 2, timeout=20000)
    back = window.annotations.items
    assert [a.label for a in back] == [a.label for a in drawn] and [a.uid for a in back] == [a.uid for a in drawn]
    assert back[0].value("Length") == pytest.approx(drawn[0].value("Length"))
    assert back[1].value("Mean") == pytest.approx(drawn[1].value("Mean"))
    assert len(window.area.axial.drawn_annotations()) == 2  # drawn on their slice again
    # clearing every annotation removes the saved report
    window.annotations.clear()
    window.store.save_now()
    assert not path.exists()


def test_measurements_table_copies_as_text(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    _open(qtbot, window, _series(ct, tmp_path / "ct"))
    view = window.area.axial
    view.state.set_tool("distance")
    _click(qtbot, view, 10, 10)
    _click(qtbot, view, 10, 60)
    dock = window.measurements
    assert dock.isVisible() and dock.table.rowCount() == 1
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    text = QApplication.clipboard().text()
    lines = text.strip().split("\n")
    assert lines[0].split("\t") == ["Label", "Kind", "Measurements", "Where"]
    label, kind, values, _where = lines[1].split("\t")
    name, number, unit = values.split(" ")
    assert (label, kind, name, unit) == ("Distance 1", "Distance", "Length", "mm")
    assert float(number) == pytest.approx(50 * SPACING[2], abs=0.05)
    dock.table.selectRow(0)
    dock.delete_button.click()
    assert dock.table.rowCount() == 0


def test_projection_image_annotations_keep_image_pixels(qtbot: QtBot, window: MainWindow) -> None:
    from pydicom_files import PYDICOM_FILES

    _open(qtbot, window, PYDICOM_FILES / "dicomdirtests" / "77654033" / "CR1")
    shown = [vp for vp in window.area.image_viewports if vp.isVisible()]
    assert len(shown) == 1
    canvas = shown[0].canvas
    canvas.state.set_tool("distance")
    for r, c in ((2, 2), (2, 12)):
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.view_pos_of(r, c).toPoint())
    a = window.annotations.items[-1]
    assert a.space == "image" and a.sop_instance_uid == canvas.image.facts.sop_instance_uid
    np.testing.assert_allclose([p[:2] for p in a.points], [(2, 2), (12, 2)], atol=0.05)  # (column, row) stored
    assert a.value("Length") == pytest.approx(10 * 0.1, abs=0.02)
