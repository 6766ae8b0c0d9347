"""Hanging protocols in the main window: mammography 2x2 with CAD marks, CT MPR, a prior beside the
current study with linked scrolling, protocols of the user's own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from workstation.core.volume import Volume
from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, write_mammo
from workstation.io.dicom_write import write_series
from workstation.ui.main_window import MainWindow

PATIENT = {"PatientID": "HP-0042", "PatientName": "Qhxv^Wzrk"}


@pytest.fixture
def window(make_window) -> MainWindow:  # type: ignore[no-untyped-def]
    return make_window(size=(1300, 900))


def _open(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.loader.series_loaded, timeout=60000):
        window.open_paths([folder])
    qtbot.wait(80)


def _ct(ct: Volume, folder: Path, date: str, shift_mm: float = 0.0) -> Path:
    origin = (ct.origin[0], ct.origin[1], ct.origin[2] + shift_mm)
    moved = Volume(ct.array, spacing=ct.spacing, origin=origin, modality="CT")
    write_series(moved, folder, modality="CT", tags={**PATIENT, "StudyDate": date, "BodyPartExamined": "CHEST"})
    return folder


def _cell(window: MainWindow, widget) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    grid = window.area._grid
    row, col, _, _ = grid.getItemPosition(grid.indexOf(widget))
    return row, col


def _marked(image, x: int, top: int, mass: bool) -> bool:  # type: ignore[no-untyped-def]
    """Whether the mark's colour is in the few rows around a box's top edge at column ``x``."""
    band = [QColor(image.pixel(x, y)) for y in range(top - 3, top + 4)]
    if mass:
        return any(c.red() > 180 and c.red() > 3 * c.green() for c in band)
    return any(c.green() > 160 and c.green() > 2 * c.red() for c in band)


def test_mammography_screening_2x2_with_cad_marks(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    write_mammo(tmp_path / "mg", DEMO_SEED, findings=DEMO_FINDINGS)
    _open(qtbot, window, tmp_path / "mg")
    assert window.area.protocol_name == "Mammography screening"
    shown = {vp.canvas.image.facts.view_key: vp for vp in window.area.image_viewports if vp.isVisible()}
    assert {key: _cell(window, vp) for key, vp in shown.items()} == {
        "R-CC": (0, 0), "L-CC": (0, 1), "R-MLO": (1, 0), "L-MLO": (1, 1)}
    for key, vp in shown.items():  # chest walls meet in the middle of the grid
        canvas = vp.canvas
        scene = canvas.sceneRect()
        left, right = canvas.mapFromScene(scene.topLeft()).x(), canvas.mapFromScene(scene.topRight()).x()
        if key.startswith("R"):
            assert right == pytest.approx(canvas.viewport().width(), abs=2), key
        else:
            assert left == pytest.approx(0, abs=2), key
    # run the CAD: its marks appear on the images of the main view
    dock = window.analysis_docks.show("mammo-cad")
    panel = window.analysis_docks.panel("mammo-cad")
    assert dock is not None and panel is not None
    with qtbot.waitSignal(panel.result_ready, timeout=60000) as blocker:
        panel.start()
    result = blocker.args[0]
    assert result.findings
    qtbot.wait(80)
    for f in result.findings:
        canvas = shown[f.view].canvas
        x0, y0, x1, y1 = f.box_px
        corners = canvas.display_to_viewport(canvas.image_to_display(np.array([[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y1 - 0.5]])))
        top = int(round(min(corners[:, 1])))
        xs = range(int(round(min(corners[:, 0]))) + 3, int(round(max(corners[:, 0]))) - 3)
        image = canvas.viewport().grab().toImage()
        hits = sum(_marked(image, x, top, f.kind == "mass") for x in xs)
        assert hits > 0.8 * len(xs), (f.view, f.kind)
    # a view without marks of its own shows none
    marked = {f.view for f in result.findings}
    for key in set(shown) - marked:
        assert not window.context.overlays["mammo-cad"].for_instance(shown[key].canvas.image.facts.sop_instance_uid)


def test_ct_opens_in_the_mpr_2x2(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    _open(qtbot, window, _ct(ct, tmp_path / "ct", "20240105"))
    assert window.area.protocol_name == "CT MPR 2x2" and window.area.layout_name == "mpr-2x2"
    area = window.area
    assert [_cell(window, w) for w in (area.axial, area.viewer3d, area.coronal, area.sagittal)] == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
    assert window.layout_actions["mpr-2x2"].isChecked()


def test_prior_beside_current_scrolls_with_it(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    """The prior (2023, positioned 10 mm lower on the table) hangs beside the current study and
    follows it by patient position; after synchronising, by anatomy."""
    prior = _ct(ct, tmp_path / "prior", "20230105", shift_mm=-10.0)
    current = _ct(ct, tmp_path / "current", "20240105")
    _open(qtbot, window, prior)
    _open(qtbot, window, current)
    area = window.area
    assert area.protocol_name == "CT with prior"
    assert area.prior.view.isVisible() and _cell(window, area.prior.view) == (0, 1)
    assert area.prior.context.study.study_date.year == 2023 and window.context.study.study_date.year == 2024
    assert "Prior 2023" in area.prior.view.corner_notes().top_right
    assert "Current 2024" in area.axial.corner_notes().top_right
    dz = ct.spacing[0]
    for index in (10, 25, 33):
        area.axial.set_index(index)
        now, then = area.prior.patient_z()
        assert abs(now - then) <= dz / 2  # the same table position
        assert area.prior.view.index == index + round(10.0 / dz)
    area.prior.linked = False  # line up the anatomy by hand (View > Image > Link the prior's scrolling)...
    area.prior.view.set_index(area.prior.view.index - round(10.0 / dz))
    area.prior.synchronise()  # ...link the slices shown (Ctrl+L)
    assert area.prior.linked
    area.axial.set_index(20)
    assert area.prior.view.index == 20  # ...and both move together by anatomy
    area.prior.view.scroll_slices(3)
    assert area.axial.index == 23
    area.prior.linked = False
    area.axial.set_index(5)
    assert area.prior.view.index == 23


def test_a_saved_layout_becomes_the_users_protocol(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                   ct: Volume) -> None:
    folder = _ct(ct, tmp_path / "ct", "20240105")
    _open(qtbot, window, folder)
    window.set_layout("mpr-1x3")
    path = window.menus.save_protocol("My chest CT")
    assert path is not None and path.parent == tmp_path / "protocols"
    data = json.loads(path.read_text())
    assert data["modalities"] == ["CT"] and data["body_parts"] == ["CHEST"] and data["columns"] == 3
    assert "My chest CT  (yours)" in [a.text() for a in window.menus.protocol_actions]
    window.set_layout("2d")
    with qtbot.waitSignal(window.loader.series_loaded, timeout=30000):
        window.loader.reload()  # the best match for the study is now the user's protocol
    assert window.area.protocol_name == "My chest CT" and window.area.layout_name == "mpr-1x3"
    # choosing a protocol by hand from the menu
    single = next(a for a in window.menus.protocol_actions if a.text() == "Single 2D")
    with qtbot.waitSignal(window.loader.series_loaded, timeout=30000):
        single.trigger()
    assert window.area.layout_name == "2d"
