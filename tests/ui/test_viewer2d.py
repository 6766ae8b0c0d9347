"""The 2D slice view: scrolling, window/level, readout, orientation, tools, overlays."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from ui_phantom import BODY_HU, CUBE, CUBE_HU, SHAPE, SPHERE_CENTER, SPHERE_HU, SPHERE_RADIUS
from workstation.core.overlays import LabelOverlay, ScalarOverlay
from workstation.core.volume import Volume
from workstation.ui.mpr import ViewerArea
from workstation.ui.viewer2d import SliceViewer
from workstation.compute.windowing import window_to_uint8


MIDDLE = int(round((SHAPE[0] - 1) / 2))


def _expected(hu: float, width: float, level: float) -> int:
    """Hand-written DICOM linear window to 8 bits."""
    y = ((hu - (level - 0.5)) / (width - 1) + 0.5) * 255
    return int(np.clip(np.rint(y), 0, 255))


@pytest.fixture
def view(area: ViewerArea) -> SliceViewer:
    return area.axial


def _pos(view: SliceViewer, zyx: tuple[int, int, int]) -> QPoint:
    assert view.plane is not None and view.volume is not None
    _, r, c = view.plane.from_index(zyx, view.volume.shape)
    return view.view_pos_of(r, c).toPoint()


def test_scroll_changes_slice_and_pixels(qtbot: QtBot, view: SliceViewer) -> None:
    assert view.index == MIDDLE
    before = view.rendered_gray().copy()
    view.setFocus()
    for _ in range(8):
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.index == MIDDLE - 8
    after = view.rendered_gray()
    assert not np.array_equal(before, after)  # the sphere cross-section shrank
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert view.index == MIDDLE + 2
    view.scroll_slices(1000)
    assert view.index == SHAPE[0] - 1


def test_wheel_scrolls(qtbot: QtBot, view: SliceViewer) -> None:
    from PySide6.QtGui import QWheelEvent

    start = view.index
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(event)
    assert view.index == start + 2


def test_window_presets_set_rendered_values(qtbot: QtBot, view: SliceViewer) -> None:
    sphere_rc = view.plane.from_index(SPHERE_CENTER, SHAPE)[1:]
    body_rc = view.plane.from_index((SPHERE_CENTER[0], 8, 70), SHAPE)[1:]
    r, c = (int(v) for v in sphere_rc)
    br, bc = (int(v) for v in body_rc)
    for key, (w, lv) in [(Qt.Key.Key_2, (350, 50)), (Qt.Key.Key_1, (1500, -600)), (Qt.Key.Key_3, (2000, 500))]:
        qtbot.keyClick(view, key)
        gray = view.rendered_gray()
        assert gray[r, c] == _expected(SPHERE_HU, w, lv)
        assert gray[br, bc] == _expected(BODY_HU, w, lv)
    # what reaches the screen is the same grey level (nearest-neighbour display)
    qtbot.keyClick(view, Qt.Key.Key_2)
    image = view.viewport().grab().toImage()
    shown = QColor(image.pixel(view.view_pos_of(r, c).toPoint())).red()
    assert abs(shown - _expected(SPHERE_HU, 350, 50)) <= 1


def test_right_drag_changes_window(qtbot: QtBot, view: SliceViewer) -> None:
    w0, l0 = view.state.width, view.state.level
    start = view.viewport().rect().center()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.RightButton, pos=start)
    qtbot.mouseMove(view.viewport(), start + QPoint(40, 20))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.RightButton, pos=start + QPoint(40, 20))
    assert view.state.width > w0 and view.state.level > l0
    np.testing.assert_array_equal(
        view.rendered_gray(), window_to_uint8(view.slice_values(), view.state.width, view.state.level)
    )


def test_readout_and_patient_coordinates(qtbot: QtBot, view: SliceViewer, ct: Volume) -> None:
    zyx = (view.index, 30, 41)
    with qtbot.waitSignal(view.readout_changed) as blocker:
        qtbot.mouseMove(view.viewport(), _pos(view, zyx))
    x, y, z = ct.index_to_patient(zyx)
    text = blocker.args[0]
    assert f"{int(ct.array[zyx])} HU" in text and f"[{x:.1f}, {y:.1f}, {z:.1f}] mm" in text


def test_patient_right_is_on_screen_left(view: SliceViewer) -> None:
    view.set_index(7)  # through the dense cube at low x (patient right)
    cols = np.nonzero(view.rendered_gray().max(axis=0) == 255)[0]
    assert cols.max() < view.rendered_gray().shape[1] / 3


def test_pick_mode_emits_clicked_voxel(qtbot: QtBot, view: SliceViewer) -> None:
    view.state.set_tool("pick")
    zyx = (view.index, 12, 50)
    with qtbot.waitSignal(view.context.voxel_clicked) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_pos(view, zyx))
    assert blocker.args[0] == zyx


def test_ellipse_roi_sets_context_roi_with_stats(qtbot: QtBot, view: SliceViewer) -> None:
    view.state.set_tool("roi_ellipse")
    z, cy, cx = SPHERE_CENTER
    view.set_index(z)
    a, b = _pos(view, (z, cy - 3, cx - 3)), _pos(view, (z, cy + 3, cx + 3))
    with qtbot.waitSignal(view.context.roi_changed) as blocker:
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(view.viewport(), b)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=b)
    roi = blocker.args[0]
    assert roi.slice_index == z and roi.mask.shape == SHAPE[1:]
    ys, xs = np.nonzero(roi.mask)
    assert abs(ys.mean() - cy) < 0.6 and abs(xs.mean() - cx) < 0.6
    assert np.all(view.volume.array[z][roi.mask] == SPHERE_HU)
    drawn = view.annotations.items[-1]
    assert drawn.kind == "ellipse" and drawn.value("Mean") == SPHERE_HU and drawn.value("Standard Deviation") == 0.0
    assert drawn.value("Area") == pytest.approx(roi.mask.sum() * 0.8 * 0.6)


def test_distance_tool_measures_mm(qtbot: QtBot, view: SliceViewer) -> None:
    view.state.set_tool("distance")
    a, b = _pos(view, (view.index, 10, 10)), _pos(view, (view.index, 40, 50))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view.viewport(), b)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=b)
    m = view.annotations.items[-1]
    # clicks land within half a screen pixel of the voxel centres
    assert m.value("Length") == pytest.approx(np.hypot(30 * 0.8, 40 * 0.6), abs=1.0)


def test_label_overlay_pixels_appear(qtbot: QtBot, view: SliceViewer) -> None:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    z, cy, cx = SPHERE_CENTER
    labels[z, cy - 2:cy + 3, cx - 2:cx + 3] = 1
    view.set_index(z)
    view.context.set_overlay("test", LabelOverlay(labels, {1: (255, 0, 0)}, opacity=1.0))
    rgba = view.rendered_overlay()
    r, c = (int(v) for v in view.plane.from_index((z, cy, cx), SHAPE)[1:])
    assert tuple(rgba[r, c]) == (255, 0, 0, 255) and rgba[..., 3].astype(bool).sum() == 25
    color = QColor(view.viewport().grab().toImage().pixel(_pos(view, (z, cy, cx))))
    assert (color.red(), color.green(), color.blue()) == (255, 0, 0)
    view.state.set_overlay_visible("test", False)
    assert view.rendered_overlay() is None


def test_scalar_overlay_shows_its_colour_bar(qtbot: QtBot, view: SliceViewer) -> None:
    """A parametric map brings its colour bar: the colour map's top colour at the top,
    its bottom colour at the bottom; hiding the map hides the bar."""
    from workstation.ui.colormaps import colormap_lut
    from workstation.ui.colour_bar import colour_bar_rect

    view.context.set_overlay("map", ScalarOverlay(np.full(SHAPE, np.nan), 0.0, 80.0, "jet", unit="ml/100g/min"))
    qtbot.wait(50)
    bar = colour_bar_rect(view.viewport().rect())
    image = view.viewport().grab().toImage()
    lut = colormap_lut("jet")
    for y, expected in ((bar.top() + 2, lut[-1]), (bar.bottom() - 2, lut[0])):
        color = QColor(image.pixel(bar.center().x(), y))
        assert np.abs(np.array([color.red(), color.green(), color.blue()]) - expected.astype(int)).max() <= 12
    view.state.set_overlay_visible("map", False)
    qtbot.wait(50)
    color = QColor(view.viewport().grab().toImage().pixel(bar.center().x(), bar.top() + 2))
    assert np.abs(np.array([color.red(), color.green(), color.blue()]) - lut[-1].astype(int)).max() > 12


def test_focus_request_jumps_to_slice(view: SliceViewer) -> None:
    view.context.focus((3, 10, 20))
    assert view.index == 3
    assert tuple(view.state.crosshair) == (3.0, 10.0, 20.0)


def test_mpr_coronal_shows_expected_shape_and_crosshair_links(
    qtbot: QtBot, area: ViewerArea, view: SliceViewer
) -> None:
    area.set_layout("mpr-1x3")
    coronal, sagittal = area.coronal, area.sagittal
    assert coronal.isVisible() and sagittal.isVisible()
    coronal.set_index(SPHERE_CENTER[1])
    gray = coronal.rendered_gray()
    assert gray.shape == (SHAPE[0], SHAPE[2])
    sphere = coronal.slice_values() == SPHERE_HU
    rows, cols = np.nonzero(sphere)
    # head at the top: z = 20 of 40 slices sits at row 40 - 1 - 20; the disc spans 2r + 1
    assert rows.mean() == pytest.approx(SHAPE[0] - 1 - SPHERE_CENTER[0], abs=0.01)
    assert rows.max() - rows.min() == 2 * SPHERE_RADIUS and cols.mean() == pytest.approx(SPHERE_CENTER[2])
    # the cube lies at low z (feet side), so it is low on the coronal screen
    coronal.set_index(15)
    cube_rows = np.nonzero((coronal.slice_values() == CUBE_HU).any(axis=1))[0]
    assert cube_rows.min() >= SHAPE[0] - CUBE[0].stop
    # clicking the axial view moves the coronal and sagittal slices
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_pos(view, (view.index, 25, 33)))
    assert coronal.index == 25 and sagittal.index == 33
