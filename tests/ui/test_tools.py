"""Tools readers reach for: invert, their own window presets, the DICOM tag viewer, drag and drop,
File > Open demo, the settings dialog, Help."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ui_windows import activate
from pydicom_files import PYDICOM_FILES
from ui_phantom import BODY_HU
from workstation.compute.backend import set_backend
from workstation.core.volume import Volume
from workstation.ui.main_window import MainWindow
from workstation.ui.settings import Settings


@pytest.fixture
def window(make_window) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield make_window(settings=True)
    from workstation.ui.window_presets import set_user_presets

    set_user_presets([])
    set_backend(None)


def test_invert_turns_every_grey_level_round(qtbot: QtBot, window: MainWindow, ct: Volume) -> None:
    window.context.set_loaded(None, None, ct)
    view = window.area.axial
    before = view.rendered_gray().copy()
    activate(qtbot, window)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_I)
    assert window.area.state.invert
    np.testing.assert_array_equal(view.rendered_gray(), 255 - before)
    shown = view.viewport().grab().toImage()
    r, c = 30, 40
    pos = view.view_pos_of(r, c).toPoint()
    assert abs(shown.pixelColor(pos).red() - (255 - int(before[r, c]))) <= 1
    assert "inverted" in view.corner_notes().bottom_left


def test_user_window_presets_from_the_settings_dialog(qtbot: QtBot, window: MainWindow, ct: Volume) -> None:
    from workstation.compute.windowing import WindowPreset

    dialog = window.menus.open_settings()
    qtbot.addWidget(dialog)
    page = dialog.pages["presets"]
    page.add_row(WindowPreset("Liver", 150.0, 60.0))
    page.add_row(WindowPreset("Lung narrow", 1000.0, -700.0))
    assert dialog.apply()
    assert window.settings.get("view/window_presets") == ["Liver|150|60", "Lung narrow|1000|-700"]
    assert any("5  Liver" in window.toolbar.preset_combo.itemText(i) for i in range(window.toolbar.preset_combo.count()))
    window.context.set_loaded(None, None, ct)
    view = window.area.axial
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_5)
    assert (window.area.state.width, window.area.state.level) == (150.0, 60.0)
    y = np.clip(np.rint(((BODY_HU - 59.5) / 149 + 0.5) * 255), 0, 255)
    assert view.rendered_gray()[30, 10] == y
    qtbot.keyClick(view, Qt.Key.Key_6)
    assert window.area.state.level == -700.0
    # a malformed row is refused with its reason, nothing stored
    page.table.item(0, 1).setText("wide")
    assert not dialog.apply() and "wide" in dialog.problem.text()
    assert window.settings.get("view/window_presets") == ["Liver|150|60", "Lung narrow|1000|-700"]
    dialog.close()


def test_tag_viewer_searches_the_header(qtbot: QtBot, window: MainWindow) -> None:
    from workstation.ui.tag_viewer import TagViewer

    path = PYDICOM_FILES / "examples_ybr_color.dcm"
    viewer = TagViewer(path)
    qtbot.addWidget(viewer)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    rows = viewer.visible_rows()
    assert ("(0028,0004)", "PhotometricInterpretation", "YBR_FULL_422") in rows
    assert any(tag == "(7FE0,0010)" and value.startswith("<O") for tag, _, value in rows)  # pixels not read
    assert viewer.apply_filter("frame time") >= 1
    shown = viewer.visible_rows()
    assert ("(0018,1063)", "FrameTime", str(ds.FrameTime)) in shown
    total = len(rows)
    assert len(shown) < total / 5  # the rest is hidden
    assert viewer.apply_filter("no such attribute anywhere") == 0 and viewer.visible_rows() == []
    viewer.search.setText("PhysicalDeltaX")  # inside a sequence: the sequence stays shown around it
    nested = viewer.visible_rows()
    assert [name for _, name, _ in nested] == ["SequenceOfUltrasoundRegions", "Item 1", "PhysicalDeltaX"]
    viewer.close()


def test_tag_viewer_opens_on_the_shown_image(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shutil.copy(PYDICOM_FILES / "CT_small.dcm", tmp_path / "ct.dcm")
    with qtbot.waitSignal(window.loader.series_loaded, timeout=30000):
        window.open_paths([tmp_path / "ct.dcm"])
    viewer = window.menus.show_tags()
    qtbot.addWidget(viewer)
    assert viewer.path == tmp_path / "ct.dcm" and "CT_small" not in viewer.windowTitle()
    viewer.close()


def test_drop_a_folder_to_open_it(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    folder = tmp_path / "dropped"
    shutil.copytree(PYDICOM_FILES / "dicomdirtests" / "98892001" / "CT5N", folder)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.loader.series_loaded, timeout=30000):
        window.dropEvent(drop)
    assert drop.isAccepted() and window.context.volume.shape == (5, 16, 16)
    assert window.recent_folders()[0] == str(folder)


def test_open_demo_perfusion_and_mammography(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    titles = [a.text() for a in window.menus.menus["File"].actions() if a.menu() is not None]
    assert "Open &demo" in titles
    menu = next(a.menu() for a in window.menus.menus["File"].actions() if a.text() == "Open &demo")
    entries = {a.text().replace("&", ""): a for a in menu.actions()}
    assert set(entries) == {"Chest CT (coronary calcium)", "Perfusion CT (dynamic series)", "Mammography (four views)",
                            "RT plan (CT, structures, dose)", "Coronary CT angiogram", "Cardiac cine MR (short axis)"}
    with qtbot.waitSignal(window.loader.series_loaded, timeout=120000):
        entries["Perfusion CT (dynamic series)"].trigger()
    series = window.area.state.time_series
    assert series is not None and window.area.time_bar.isVisible() and len(series.volumes) > 10
    with qtbot.waitSignal(window.loader.series_loaded, timeout=120000):
        entries["Mammography (four views)"].trigger()
    assert window.area.protocol_name == "Mammography screening" and window.area.state.time_series is None


def test_settings_dialog_device_theme_and_pacs_page(qtbot: QtBot, window: MainWindow) -> None:
    from workstation.ui import settings_dialog
    from workstation.ui.settings_dialog import PAGES, SettingsPage, register_page

    dialog = window.menus.open_settings()
    qtbot.addWidget(dialog)
    assert [dialog.list.item(i).text() for i in range(dialog.list.count())] == [
        "Compute device", "Models folder", "Cache", "PACS nodes", "Appearance", "Window presets"]
    from workstation.ui.pacs_page import PacsPage

    assert isinstance(dialog.pages["pacs"], PacsPage)  # the window's PACS module filled the page
    dialog.pages["device"].combo.setCurrentText("tpu")
    assert not dialog.apply() and "compute/device" in dialog.problem.text()
    assert window.settings.get("compute/device") == "auto"
    dialog.pages["device"].combo.setCurrentText("cpu")
    appearance = dialog.pages["appearance"]
    appearance.theme.setCurrentIndex(appearance.theme.findData("high-contrast"))
    app = QApplication.instance()
    try:
        assert dialog.apply()
        assert window.settings.get("compute/device") == "cpu" and window.device_label.text().startswith("CPU")
        assert window.settings.get("view/theme") == "high-contrast" and "#ffff00" in app.styleSheet()
    finally:
        app.setStyleSheet("")
    dialog.close()

    class PacsNodes(SettingsPage):
        title = "PACS nodes"

    saved = dict(PAGES)
    try:
        register_page("pacs", "PACS nodes", PacsNodes)  # what the PACS module does at import
        again = window.menus.open_settings()
        qtbot.addWidget(again)
        assert isinstance(again.pages["pacs"], PacsNodes) and list(again.pages).index("pacs") == 3
        again.close()
    finally:
        settings_dialog.PAGES.clear()
        settings_dialog.PAGES.update(saved)


def test_cache_page_removes_only_the_demo_studies(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.demo.cache import MARKER
    from workstation.ui.settings_dialog import CachePage

    root = tmp_path / "demo"
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(root))
    (root / "chest_ct").mkdir(parents=True)
    (root / "chest_ct" / MARKER).write_text("ok\n")
    (root / "chest_ct" / "IM1.dcm").write_bytes(b"x" * 1000)
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep")
    page = CachePage()
    qtbot.addWidget(page)
    page.refresh()
    assert str(root) in page.demo.text()
    assert page.clear_demos() == 1
    assert not (root / "chest_ct").exists() and (root / "mine" / "notes.txt").exists()


def test_help_lists_every_shortcut_and_shows_the_manual(qtbot: QtBot, window: MainWindow) -> None:
    from workstation.ui.canvas_keys import KEYS

    dialog = window.menus.show_shortcuts()
    qtbot.addWidget(dialog)
    rows = {dialog.table.item(r, 1).text(): dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert rows["Tools > DICOM tags..."] == "Ctrl+T" and rows["Edit > Undo"] == "Ctrl+Z"
    assert rows["File > Open demo > Mammography (four views)"] == "Ctrl+Alt+M"
    assert rows["Angle"] == "A" and rows["View > Focus the next pane"] == "F6"
    for keys, what in KEYS:
        assert rows[f"In an image view: {what}"] == keys
    # every menu entry with a key is listed
    listed = 0
    for top in window.menuBar().actions():
        for action in top.menu().actions():
            if not action.shortcut().isEmpty() and action.menu() is None:
                listed += 1
    assert listed >= 30 and len(rows) >= listed
    dialog.close()
    manual = window.menus.show_manual()
    qtbot.addWidget(manual)
    text = manual.browser.toPlainText()
    for topic in ("Hanging protocols", "Annotations", "Keyboard", "cine", "true size"):
        assert topic.lower() in text.lower(), topic
    manual.close()


def test_settings_dialog_keeps_typed_values(qtbot: QtBot, tmp_path: Path) -> None:
    from workstation.ui.settings_dialog import SettingsDialog

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings = Settings(store)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.pages["models"].folder.setText(str(tmp_path / "models"))
    assert dialog.apply()
    assert settings.get("models/folder") == str(tmp_path / "models")
    dialog.close()
