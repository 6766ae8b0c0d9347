"""Accessibility (WCAG 2.1 AA as the seed): a whole reading by keyboard alone, a name for every
control, text contrast of at least 4.5:1 in both themes, a high-contrast theme, text that follows
the system's font size."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible, QFont, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QDialog,
    QGraphicsView, QLineEdit, QTextEdit, QWidget,
)
from pytestqt.qtbot import QtBot

from ui_windows import activate
from workstation.compute.backend import set_backend
from workstation.ui.main_window import MainWindow
from workstation.ui.theme import THEMES, apply_theme, contrast_ratio, palette, style_sheet

M = Qt.KeyboardModifier


@pytest.fixture
def window(make_window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    yield make_window(settings=True, size=(1366, 768), active=True)
    set_backend(None)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setStyleSheet("")


def _key(qtbot: QtBot, key: Qt.Key, modifiers: Qt.KeyboardModifier = M.NoModifier, times: int = 1) -> None:
    """A key press to whatever has the keyboard focus, as the keyboard would send it."""
    for _ in range(times):
        target = QApplication.focusWidget() or QApplication.activeWindow()
        assert target is not None
        QTest.keyClick(target, key, modifiers)
    qtbot.wait(5)


def _closed(widget: QWidget) -> bool:
    import shiboken6

    return not shiboken6.isValid(widget) or not widget.isVisible()


def _new_window(qtbot: QtBot, kind: str) -> QWidget:
    """The window a key just opened, activated as a window manager would (Xvfb has none)."""
    qtbot.waitUntil(lambda: any(type(w).__name__ == kind and w.isVisible() for w in QApplication.topLevelWidgets()),
                    timeout=5000)
    opened = next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == kind and w.isVisible())
    activate(qtbot, opened)
    return opened


def test_a_whole_reading_by_keyboard_alone(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Open the demo, read it, measure, annotate, undo, save, look at the header, score the
    calcium: key events only (the test only waits for jobs and checks the outcome)."""
    with qtbot.waitSignal(window.loader.series_loaded, timeout=120000):
        _key(qtbot, Qt.Key.Key_D, M.ControlModifier)  # File > Open demo > Chest CT
    area = window.area
    assert area.protocol_name == "CT MPR 2x2"
    # Xvfb has no window manager: the 3D view's new GL window takes the X focus, which a
    # desktop hands back; give it back here (a window-system matter, not a user action)
    activate(qtbot, window)
    _key(qtbot, Qt.Key.Key_1, M.ControlModifier)  # View > Single 2D
    assert area.layout_name == "2d"
    while QApplication.focusWidget() is not area.axial:  # F6: to the image view
        _key(qtbot, Qt.Key.Key_F6)
    view = area.axial
    start = view.index
    _key(qtbot, Qt.Key.Key_PageDown)
    _key(qtbot, Qt.Key.Key_Up, times=3)
    assert view.index == start - 10 + 3
    _key(qtbot, Qt.Key.Key_1)  # lung window
    assert (area.state.width, area.state.level) == (1500.0, -600.0)
    _key(qtbot, Qt.Key.Key_D)  # distance tool
    assert area.state.tool == "distance"
    _key(qtbot, Qt.Key.Key_Return)  # first point at the keyboard pointer (the centre)
    p0 = view.pointer
    _key(qtbot, Qt.Key.Key_Right, M.ShiftModifier | M.ControlModifier, times=5)  # 50 pixels right
    _key(qtbot, Qt.Key.Key_Return)
    distance = window.annotations.items[-1]
    assert distance.kind == "distance" and view.pointer == (p0[0], p0[1] + 50)
    assert distance.value("Length") == pytest.approx(50 * view.pixel_mm()[1], rel=1e-6)
    _key(qtbot, Qt.Key.Key_A)  # angle: arm, vertex, arm
    _key(qtbot, Qt.Key.Key_Return)
    _key(qtbot, Qt.Key.Key_Down, M.ShiftModifier | M.ControlModifier, times=3)  # the vertex, 30 pixels below
    _key(qtbot, Qt.Key.Key_Return)
    _key(qtbot, Qt.Key.Key_Up, M.ShiftModifier | M.ControlModifier, times=3)  # the other arm: up and left
    _key(qtbot, Qt.Key.Key_Left, M.ShiftModifier | M.ControlModifier, times=3)
    _key(qtbot, Qt.Key.Key_Return)
    angle = window.annotations.items[-1]
    assert angle.kind == "angle" and angle.value("Angle") == pytest.approx(45.0, abs=0.1)  # square pixels
    _key(qtbot, Qt.Key.Key_X)  # text: the dialog is typed in too

    def type_note() -> None:
        dialog = QApplication.activeModalWidget()
        assert dialog is not None
        QTest.keyClicks(dialog.focusWidget(), "aortic calcium")
        QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)

    QTimer.singleShot(300, type_note)
    _key(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.annotations.items[-1].kind == "text", timeout=5000)
    assert window.annotations.items[-1].text == "aortic calcium"
    activate(qtbot, window)
    view.setFocus()  # (the dialog gave the focus back to the view)
    _key(qtbot, Qt.Key.Key_Z, M.ControlModifier)  # undo the text
    assert [a.kind for a in window.annotations.items] == ["distance", "angle"]
    _key(qtbot, Qt.Key.Key_Z, M.ControlModifier | M.ShiftModifier)  # redo
    assert [a.kind for a in window.annotations.items] == ["distance", "angle", "text"]
    _key(qtbot, Qt.Key.Key_I)  # invert
    assert area.state.invert
    _key(qtbot, Qt.Key.Key_C, M.ControlModifier | M.ShiftModifier)  # copy the measurements
    assert QApplication.clipboard().text().count("\n") == 4
    _key(qtbot, Qt.Key.Key_S, M.ControlModifier)  # save the annotations
    qtbot.waitUntil(lambda: window.store.saved_path is not None, timeout=20000)
    assert window.store.saved_path.parent == tmp_path / "annotations"
    _key(qtbot, Qt.Key.Key_T, M.ControlModifier)  # the DICOM tags of the image shown
    tags = _new_window(qtbot, "TagViewer")
    QTest.keyClicks(QApplication.focusWidget(), "PatientPosition")
    assert any(name == "PatientPosition" for _, name, _ in tags.visible_rows())
    _key(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _closed(tags), timeout=3000)
    activate(qtbot, window)
    _key(qtbot, Qt.Key.Key_1, M.ControlModifier | M.ShiftModifier)  # Analyses > the first: calcium scoring
    dock = window.analysis_docks.docks["calcium"]
    panel = window.analysis_docks.panel("calcium")
    assert dock.isVisible() and panel is not None
    for _ in range(60):  # Tab through the panel to its Score button
        if QApplication.focusWidget() is panel.run_button:
            break
        _key(qtbot, Qt.Key.Key_Tab if dock.isAncestorOf(QApplication.focusWidget() or window) else Qt.Key.Key_F6)
    assert QApplication.focusWidget() is panel.run_button
    _key(qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    assert panel.result.agatston_total == pytest.approx(226.38, abs=0.01)  # the demo's known score
    _key(qtbot, Qt.Key.Key_F1)  # every shortcut
    shortcuts = _new_window(qtbot, "ShortcutsDialog")
    _key(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _closed(shortcuts), timeout=3000)


CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider, QLineEdit, QAbstractItemView,
            QGraphicsView, QTextEdit)


def _unnamed(root: QWidget) -> list[str]:
    """Controls under ``root`` that assistive technology would announce without a name."""
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, CONTROLS) or widget.objectName().startswith("qt_"):
            continue
        if type(widget).__name__ in ("QScrollBar", "QHeaderView") or not widget.isVisibleTo(root.window()):
            # scroll bars and table headers belong to their view, which is named
            continue
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface is not None else ""
        if not name.strip():
            parent = type(widget.parent()).__name__ if widget.parent() is not None else ""
            missing.append(f"{type(widget).__name__} in {parent}")
    return missing


def test_every_control_has_an_accessible_name(qtbot: QtBot, window: MainWindow, ct) -> None:  # type: ignore[no-untyped-def]
    from workstation.core.annotations import Annotation
    from workstation.ui.help import ManualDialog, ShortcutsDialog, shortcut_rows
    from workstation.ui.settings_dialog import SettingsDialog
    from workstation.ui.tag_viewer import TagViewer
    from pydicom_files import PYDICOM_FILES

    window.context.set_loaded(None, None, ct)
    window.annotations.add(Annotation("2.25.9", "distance", ((0, 0, 0), (1, 0, 0)), values=(("Length", 1.0, "mm"),)))
    window.set_layout("mpr-2x2")
    from workstation.analyses import registry

    for name in registry.names():
        window.analysis_docks.show(name)
    for dock in window.analysis_docks.docks.values():
        dock.raise_()
    window.load_report.show()
    window.measurements.show()
    window.context.run_job("quick", lambda b, p: 1)
    window.context.jobs.wait(5000)
    qtbot.wait(50)
    dialogs: list[QDialog] = [SettingsDialog(window.settings, window), TagViewer(PYDICOM_FILES / "CT_small.dcm", window),
                              ShortcutsDialog(shortcut_rows(window.menuBar(), []), window), ManualDialog(window)]
    missing = _unnamed(window)
    for dialog in dialogs:
        dialog.show()
        for page in getattr(dialog, "pages", {}).values():  # every settings page, not just the first
            dialog.stack.setCurrentWidget(page)
            missing += _unnamed(page)
        missing += _unnamed(dialog)
        dialog.close()
    assert not missing, "\n".join(sorted(set(missing)))


def _palette_pairs(p: QPalette) -> dict[str, tuple[object, object]]:
    r = QPalette.ColorRole
    return {
        "window text": (p.color(r.WindowText), p.color(r.Window)),
        "text": (p.color(r.Text), p.color(r.Base)),
        "alternate rows": (p.color(r.Text), p.color(r.AlternateBase)),
        "buttons": (p.color(r.ButtonText), p.color(r.Button)),
        "selection": (p.color(r.HighlightedText), p.color(r.Highlight)),
        "tool tips": (p.color(r.ToolTipText), p.color(r.ToolTipBase)),
        "placeholders": (p.color(r.PlaceholderText), p.color(r.Base)),
        "links": (p.color(r.Link), p.color(r.Base)),
    }


@pytest.mark.parametrize("name", list(THEMES))
def test_text_contrast_in_both_themes(qtbot: QtBot, name: str) -> None:
    from workstation.ui.annotation_items import COLOUR, LABEL_BACK
    from workstation.ui.view_annotations import INFO_COLOR, ORIENTATION_COLOR

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    try:
        theme = apply_theme(app, name)
        shown = app.palette()  # what the application uses once the theme is applied
        for what, (fg, bg) in {**_palette_pairs(shown), **_palette_pairs(palette(theme))}.items():
            assert contrast_ratio(fg, bg) >= 4.5, (name, what, contrast_ratio(fg, bg))
        for what, (fg, bg) in theme.text_pairs().items():
            assert contrast_ratio(fg, bg) >= 4.5, (name, what)
        # text over images: corner text and orientation letters on black, labels on their box over white
        for colour in (INFO_COLOR, ORIENTATION_COLOR):
            assert contrast_ratio(colour, "#000000") >= 4.5
        alpha = LABEL_BACK.alphaF()
        worst = tuple(round(255 * (1 - alpha) + c * alpha) for c in LABEL_BACK.getRgb()[:3])
        assert contrast_ratio(COLOUR, "#%02x%02x%02x" % worst) >= 4.5
        assert "font" not in style_sheet(theme)  # no text size of our own: the system's
        # the few colours set by style sheets: job messages, warnings, the calcium risk badges
        from workstation.analyses.calcium.panel import RISK_COLORS, RISK_TEXT
        from workstation.analyses.segmentation.panel import WARNING_COLOUR
        from workstation.ui.job_dock import ERROR_COLOUR, NOTICE_COLOUR

        for colour in (ERROR_COLOUR, NOTICE_COLOUR, WARNING_COLOUR):
            assert contrast_ratio(colour, theme.window) >= 4.5, colour
        for category, background in RISK_COLORS.items():
            assert contrast_ratio(RISK_TEXT[category], background) >= 4.5, category
    finally:
        app.setPalette(before)
        app.setStyleSheet("")


def test_high_contrast_theme_from_the_keyboard(qtbot: QtBot, window: MainWindow) -> None:
    app = QApplication.instance()
    _key(qtbot, Qt.Key.Key_H, M.ControlModifier | M.AltModifier)  # View > Theme > High contrast
    p = app.palette()
    assert p.color(QPalette.ColorRole.Window).name() == "#000000" and p.color(QPalette.ColorRole.WindowText).name() == "#ffffff"
    assert contrast_ratio(p.color(QPalette.ColorRole.WindowText), p.color(QPalette.ColorRole.Window)) == pytest.approx(21.0)
    assert window.settings.get("view/theme") == "high-contrast" and window.menus.theme_actions["high-contrast"].isChecked()
    _key(qtbot, Qt.Key.Key_K, M.ControlModifier | M.AltModifier)  # back to the dark theme
    assert window.settings.get("view/theme") == "dark"


def test_text_size_follows_the_system_font(qtbot: QtBot, window: MainWindow, ct) -> None:  # type: ignore[no-untyped-def]
    from workstation.ui.annotation_items import LabelItem
    from workstation.ui.theme import scaled_font

    app = QApplication.instance()
    original = QFont(app.font())
    window.context.set_loaded(None, None, ct)
    try:
        sizes = []
        for points in (9.0, 18.0):
            font = QFont(original)
            font.setPointSizeF(points)
            app.setFont(font)
            assert scaled_font(1.0).pointSizeF() == pytest.approx(points)
            label = LabelItem("Distance 1: 12.3 mm")
            sizes.append(label.size())
        assert sizes[1][1] > 1.6 * sizes[0][1] and sizes[1][0] > 1.6 * sizes[0][0]
        # the view's corner text is drawn in the system font too: it grows on the screen
        heights = []
        for points in (9.0, 18.0):
            font = QFont(original)
            font.setPointSizeF(points)
            app.setFont(font)
            window.area.axial.viewport().update()
            qtbot.wait(30)
            image = window.area.axial.viewport().grab().toImage()
            rows = [y for y in range(min(60, image.height())) if any(
                image.pixelColor(x, y).lightness() > 150 for x in range(10, min(200, image.width())))]
            heights.append(max(rows) - min(rows) if rows else 0)
        assert heights[1] > 1.5 * heights[0] > 0
    finally:
        app.setFont(original)


def test_f6_visits_every_visible_pane_once_a_round(qtbot: QtBot, window: MainWindow) -> None:
    """Raising a dock reorders the window's children; the F6 round must not depend on that,
    and a tab behind another (which Qt keeps "visible", out of the window) is not a pane."""
    window.analysis_docks.show("calcium")
    window.measurements.show()
    qtbot.wait(50)
    activate(qtbot, window)
    canvas = window.area.active_canvas()
    canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is canvas, timeout=3000)
    round_ = [target for _, target in window.docks._panes()]
    assert len(round_) >= 4  # the view, the browser, the measurements, the right column (calcium before the report)
    tabbed = (window.browser, window.pacs.dock)  # one tab group: only the front one is a pane
    assert sum(any(dock.isAncestorOf(t) for t in round_) for dock in tabbed) == 1
    visited = []
    for _ in range(len(round_)):
        _key(qtbot, Qt.Key.Key_F6)
        visited.append(QApplication.focusWidget())
    assert visited[-1] is canvas  # back at the image after one round
    assert len(set(map(id, visited))) == len(round_)  # each pane once
    _key(qtbot, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is visited[-2]  # Shift+F6 goes back
