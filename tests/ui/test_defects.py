"""Regression tests of the defects found reading the demos and pydicom's files as a new user."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from ui_phantom import SHAPE
from workstation.core.volume import Volume
from workstation.ui.errors import ErrorReporter
from workstation.ui.main_window import MainWindow
from workstation.ui.mpr import ViewerArea
from workstation.ui.theme import apply_theme, contrast_ratio, current_theme

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def window(make_window) -> MainWindow:  # type: ignore[no-untyped-def]
    return make_window(size=(1000, 700))


def test_a_smaller_second_study_opens_at_any_slice(qtbot: QtBot, area: ViewerArea, ct: Volume) -> None:
    """Opening a 5-slice study while slice 35 of 40 is shown: no IndexError, the new one is centred."""
    area.set_layout("mpr-1x3")
    area.axial.set_index(35)
    small = Volume(ct.array[::8].copy(), spacing=(20.0, 0.8, 0.6), modality="CT")
    area.context.set_loaded(None, None, small)  # pytest-qt fails the test on an exception in a slot
    assert area.axial.index == 2 and area.axial.rendered_gray().shape == SHAPE[1:]
    assert area.coronal.rendered_gray().shape == (5, SHAPE[2])
    np.testing.assert_array_equal(area.axial.slice_values(), small.array[2])


def test_one_crash_report_per_fault_not_per_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSTATION_LOG_DIR", str(tmp_path / "logs"))
    reporter = ErrorReporter(show_dialogs=False, crash_reports=True)

    def paint() -> None:
        raise IndexError("index 35 is out of bounds for axis 0 with size 5")

    for _ in range(50):  # a failing paint handler runs on every repaint
        try:
            paint()
        except IndexError:
            reporter.handle(*sys.exc_info())  # type: ignore[arg-type]
    try:
        raise ValueError("another fault")
    except ValueError:
        reporter.handle(*sys.exc_info())  # type: ignore[arg-type]
    assert reporter.count == 51 and len(list((tmp_path / "logs").glob("crash-*.txt"))) == 2
    assert sorted(reporter.repeats.values()) == [1, 50]


def test_unexpected_error_dialog_is_seen(qtbot: QtBot, window: MainWindow) -> None:
    reporter = ErrorReporter(show_dialogs=True, parent_window=window)
    reporter.install()
    try:
        window.toolbar.fit_action.triggered.connect(lambda: 1 / 0)
        window.toolbar.fit_action.trigger()
        qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible()
                                    for w in QApplication.topLevelWidgets()), timeout=3000)
        gc.collect()
        qtbot.wait(50)
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        assert len(boxes) == 1 and boxes[0].windowTitle() == "Unexpected error"
        assert "ZeroDivisionError" in boxes[0].text() and boxes[0].parent() is window
        boxes[0].close()
        qtbot.waitUntil(lambda: not reporter.boxes, timeout=2000)
    finally:
        reporter.uninstall()


def test_four_analysis_docks_fit_a_1366x768_screen(qtbot: QtBot, window: MainWindow) -> None:
    from workstation.analyses import registry

    names = [n for n in registry.names() if n in ("calcium", "perfusion", "mammo-cad", "segmentation")]
    assert len(names) == 4
    for name in names:
        assert window.analysis_docks.show(name) is not None
    qtbot.wait(50)
    hint = window.minimumSizeHint()
    assert hint.height() <= 768 and hint.width() <= 1366, hint
    window.resize(1366, 768)
    qtbot.wait(50)
    assert window.height() <= 768 and window.width() <= 1366
    inside = QRectF(window.rect())
    for name in names:  # each tab, brought forward, lies on the screen; its panel scrolls inside it
        dock = window.analysis_docks.docks[name]
        dock.raise_()
        qtbot.wait(20)
        assert inside.contains(QRectF(dock.geometry())), name
        scroll = dock.widget()
        panel = window.analysis_docks.panel(name)
        assert panel is not None and scroll.isAncestorOf(panel)
    # the docks are tabbed together with the report: one shows at a time, each reachable
    tabbed = set(window.tabifiedDockWidgets(window.analysis_docks.docks[names[0]]))
    assert tabbed == {window.analysis_docks.docks[n] for n in names[1:]} | {window.report_dock}
    before = window.minimumSizeHint().height()
    for name in names:
        window.analysis_docks.docks[name].close()
    qtbot.wait(50)
    assert window.minimumSizeHint().height() <= before


def test_dock_buttons_are_visible_and_analysis_panels_in_view_menu(qtbot: QtBot, window: MainWindow) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "dark")
    try:
        window.browser.show()
        qtbot.wait(50)
        button = window.browser.findChild(object, "qt_dockwidget_closebutton")
        assert button is not None and button.isVisible()
        image = button.grab().toImage()
        background = QColor(current_theme().title_bar)
        brightest = max(QColor(image.pixel(x, y)).lightness() for x in range(image.width())
                        for y in range(image.height()))
        assert contrast_ratio(QColor.fromHsl(0, 0, brightest), background) >= 3.0  # a visible glyph
        from workstation.analyses import registry

        panels = {a.objectName(): a for a in window.menus.panels_menu.actions()}
        for name in registry.names():
            toggle = panels[f"view_analysis_{name}"]
            toggle.trigger()
            assert window.analysis_docks.docks[name].isVisible() and toggle.isChecked()
            toggle.trigger()
            assert not window.analysis_docks.docks[name].isVisible() and not toggle.isChecked()
    finally:
        app.setStyleSheet("")


def test_dose_grid_below_one_gray_can_be_windowed(qtbot: QtBot, area: ViewerArea) -> None:
    """pydicom's rtdose.dcm (0.795-1.254 Gy) shows a range of greys, and narrows below 1 Gy."""
    from workstation.io.dicom import load

    dose = load(PYDICOM_FILES / "rtdose.dcm")
    area.context.set_loaded(None, None, dose)
    state = area.state
    assert state.function == "LINEAR_EXACT" and state.width < 1.0
    gray = area.axial.rendered_gray()
    assert gray is not None and gray.std() > 30 and (gray == 255).mean() < 0.5
    state.set_window(0.05, 1.0)
    assert state.width == pytest.approx(0.05)
    narrow = area.axial.rendered_gray()
    values = area.axial.slice_values()
    expected = np.clip(np.rint(((values - 1.0) / 0.05 + 0.5) * 255), 0, 255)
    np.testing.assert_array_equal(narrow, expected)


def _pos(view, zyx):  # type: ignore[no-untyped-def]
    _, r, c = view.plane.from_index(zyx, view.volume.shape)
    return view.view_pos_of(r, c).toPoint()


def test_readout_follows_the_slice_without_a_mouse_move(qtbot: QtBot, area: ViewerArea, ct: Volume) -> None:
    view = area.axial
    zyx = (view.index, 28, 37)
    qtbot.mouseMove(view.viewport(), _pos(view, zyx))
    qtbot.waitUntil(lambda: view.readout != "", timeout=2000)
    assert f"({zyx[2]}, {zyx[1]}, {zyx[0]})" in view.readout
    view.setFocus()
    with qtbot.waitSignal(view.readout_changed, timeout=2000) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Up)
    assert f"({zyx[2]}, {zyx[1]}, {zyx[0] + 1})" in blocker.args[0]
    qtbot.mouseMove(view.viewport(), QPoint(1, 1))  # the X pointer stays where a test leaves it


def test_a_single_click_with_an_roi_tool_makes_no_roi(qtbot: QtBot, area: ViewerArea) -> None:
    view = area.axial
    view.state.set_tool("roi_ellipse")
    point = _pos(view, (view.index, 30, 40))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert not view.annotations.items and area.context.roi is None  # the click starts an ROI, draws none
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point + QPoint(1, 1))
    assert not view.annotations.items and area.context.roi is None  # two clicks on one spot: still none
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point + QPoint(40, 30))
    assert len(view.annotations.items) == 1 and area.context.roi is not None  # a real box


def test_labels_are_readable_over_bone_and_never_overlap(qtbot: QtBot, area: ViewerArea, ct: Volume) -> None:
    view = area.axial
    view.set_index(7)  # through the dense cube: white under the default window
    view.state.set_tool("distance")
    for row in (12, 13):  # two distances a pixel apart: their labels would sit on each other
        a, b = _pos(view, (7, row, 9)), _pos(view, (7, row, 16))
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(view.viewport(), b)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=b)
    assert len(view.annotations.items) == 2
    qtbot.wait(50)
    rects = [QRect(view.mapFromScene(d.label.pos()), QSize(*(int(v) for v in d.label.size()))) for d in view._drawn]
    assert not rects[0].intersects(rects[1])
    image = view.viewport().grab().toImage()
    for rect in rects:
        inner = rect.adjusted(1, 1, -1, -1)
        colours = [QColor(image.pixel(x, y)) for x in range(inner.left(), inner.right())
                   for y in range(inner.top(), inner.bottom())]
        background = min(colours, key=lambda c: c.lightness())
        text = max(colours, key=lambda c: c.lightness())
        assert background.lightness() < 60 and contrast_ratio(text, background) >= 4.5


def test_dicomdir_default_series_shows_all_seven_images(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.loader.series_loaded, timeout=30000):
        window.open_paths([PYDICOM_FILES / "dicomdirtests" / "DICOMDIR"])
    assert window.context.series.n_frames == 7
    shown = [vp for vp in window.area.image_viewports if vp.isVisible()]
    assert len(shown) == 7 and all(vp.canvas.image is not None for vp in shown)
    uids = {vp.canvas.image.facts.sop_instance_uid for vp in shown}
    assert uids == window.context.series.instance_uids
    assert not any("kept 1 of 7" in reason for _, reason in window.load_report.rows())


def test_each_tab_group_shows_one_tab_bar(qtbot: QtBot, window: MainWindow) -> None:
    """A tab group whose docks are all hidden must not lend its tab bar to a later group
    (the studies / local database tabs once showed twice, one copy over the job list)."""
    from PySide6.QtWidgets import QDockWidget, QTabBar

    def shown_bars() -> list[tuple[str, ...]]:
        qtbot.wait(50)
        bars = [tuple(bar.tabText(i) for i in range(bar.count())) for bar in window.findChildren(QTabBar)
                if bar.isVisible() and bar.count() and bar.parent() is window]
        shown = {d.windowTitle() for d in window.findChildren(QDockWidget) if d.isVisible()}
        assert all(shown & set(tabs) for tabs in bars), bars  # no bar of a group whose docks are all hidden
        return bars

    window.resize(1366, 768)
    window.show()
    bars = shown_bars()
    assert not any(d.isVisible() for d in (window.load_report, window.measurements, window.gpu_dock))  # until needed
    assert bars.count(("Studies", "Local database")) == 1 and len(bars) == len(set(bars)), bars
    window.load_report.show()
    window.measurements.show()  # the bottom docks join as tabs when they appear
    assert window.load_report in window.tabifiedDockWidgets(window.measurements)
    window.load_report.hide()
    window.measurements.hide()
    window.analysis_docks.show("calcium")
    bars = shown_bars()
    assert len(bars) == len(set(bars)) and ("Load report", "Measurements") not in bars, bars
