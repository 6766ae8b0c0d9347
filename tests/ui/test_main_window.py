"""The main window: loading, layouts, job dock, analysis panels, errors, settings."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDockWidget, QLabel, QWidget
from pytestqt.qtbot import QtBot

from ui_phantom import SHAPE, needs_gl
from workstation.analyses import registry
from workstation.analyses.base import Analysis
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import Backend, cpu_backend
from workstation.core.progress import ProgressFn
from workstation.core.volume import Volume
from workstation.jobs.runner import JobRunner, JobState
from workstation.ui.errors import ErrorReporter
from workstation.ui.main_window import MainWindow


@pytest.fixture
def window(make_window: Any) -> MainWindow:
    return make_window(settings=True, size=(1000, 700))  # type: ignore[no-any-return]


def test_loads_volume_and_shows_device(window: MainWindow, ct: Volume) -> None:
    window.context.set_loaded(None, None, ct)
    assert window.area.axial.rendered_gray().shape == SHAPE[1:]
    assert window.device_label.text().startswith("CPU (NumPy)")
    window.set_layout("mpr-1x3")
    assert window.layout_actions["mpr-1x3"].isChecked()
    assert window.area.coronal.rendered_gray().shape == (SHAPE[0], SHAPE[2])


def test_job_dock_lists_job_and_cancel_works(qtbot: QtBot, window: MainWindow) -> None:
    started = threading.Event()

    def wait_for_cancel(backend: Backend, progress: ProgressFn) -> None:
        started.set()
        for i in range(500):
            progress(i / 500, f"step {i}")
            threading.Event().wait(0.01)

    job = window.context.run_job("Long work", wait_for_cancel)
    row = window.job_dock.row_for(job)
    assert row.title.text() == "Long work"
    assert started.wait(5)
    qtbot.waitUntil(lambda: row.bar.value() > 0, timeout=5000)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        row.cancel_button.click()
    qtbot.waitUntil(lambda: row.state_label.text() == "cancelled", timeout=2000)
    assert job.state is JobState.CANCELLED and not row.cancel_button.isEnabled()


def test_failed_job_shows_error(qtbot: QtBot, window: MainWindow) -> None:
    def broken(backend: Backend, progress: ProgressFn) -> None:
        raise ValueError("bad input in slice 3")

    job = window.context.run_job("Broken", broken)
    qtbot.waitUntil(lambda: job.state is JobState.FAILED, timeout=5000)
    row = window.job_dock.row_for(job)
    qtbot.waitUntil(lambda: "bad input in slice 3" in row.message.text(), timeout=2000)
    assert row.state_label.text() == "failed"


class FakePanel(QWidget):
    def __init__(self, context: ViewerContext) -> None:
        super().__init__()
        self.context = context
        QLabel("fake analysis panel", self)


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("fake_ws_analysis")
    module.ANALYSIS = Analysis(  # type: ignore[attr-defined]
        name="fake", title="Fake analysis", params_type=dict, run=lambda *a: None,
        prepare=lambda *a: None, panel=f"{__name__}:FakePanel",
    )
    broken = types.ModuleType("fake_ws_broken")
    broken.ANALYSIS = Analysis(  # type: ignore[attr-defined]
        name="broken", title="Broken analysis", params_type=dict, run=lambda *a: None,
        prepare=lambda *a: None, panel="no_such_module_xyz:Panel",
    )
    monkeypatch.setitem(sys.modules, "fake_ws_analysis", module)
    monkeypatch.setitem(sys.modules, "fake_ws_broken", broken)
    monkeypatch.setattr(registry, "ANALYSES", {"fake": "fake_ws_analysis", "broken": "fake_ws_broken",
                                               "missing": "no_such_package_xyz"})


def test_panels_from_registry(qtbot: QtBot, fake_registry: None, tmp_path: Path) -> None:
    errors: list[tuple[str, str]] = []
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    win.analysis_docks.report_error = lambda title, text: errors.append((title, text))
    texts = [a.text() for a in win.analyses_menu.actions()]
    assert texts == ["Fake analysis", "Broken analysis", "missing (unavailable)"]
    win.show()
    win.analysis_docks.actions["fake"].trigger()
    dock = win.analysis_docks.docks["fake"]
    panel = win.analysis_docks.panel("fake")
    assert isinstance(dock, QDockWidget) and isinstance(panel, FakePanel)
    assert panel.context is win.context and dock.isVisible()
    win.analysis_docks.actions["broken"].trigger()
    assert "broken" not in win.analysis_docks.docks
    assert errors and "no_such_module_xyz" in errors[-1][1]
    assert win.analysis_docks.actions["broken"].text() == "Broken analysis (unavailable)"
    win.analysis_docks.actions["missing"].trigger()
    assert "no_such_package_xyz" in errors[-1][1]
    win.close()


def test_exception_in_slot_is_reported_not_fatal(qtbot: QtBot, window: MainWindow, ct: Volume) -> None:
    reporter = ErrorReporter(show_dialogs=False)
    reporter.install()
    try:
        window.toolbar.fit_action.triggered.connect(lambda: 1 / 0)
        window.toolbar.fit_action.trigger()
        qtbot.waitUntil(lambda: reporter.count == 1, timeout=2000)
    finally:
        reporter.uninstall()
    assert "ZeroDivisionError" in (reporter.last or "")
    window.context.set_loaded(None, None, ct)  # still alive and working
    assert window.area.axial.rendered_gray() is not None


def test_settings_persist_layout_and_recent(qtbot: QtBot, tmp_path: Path) -> None:
    path = str(tmp_path / "s.ini")
    settings = QSettings(path, QSettings.Format.IniFormat)
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), settings)
    qtbot.addWidget(win)
    win.set_layout("mpr-1x3")
    win._remember([tmp_path])
    win.close()
    again = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.area.layout_name == "mpr-1x3" and again.recent_folders() == [str(tmp_path)]
    assert [a.text() for a in again.recent_menu.actions()] == [str(tmp_path)]
    again.close()


@needs_gl
def test_mpr_with_3d_layout(qtbot: QtBot, window: MainWindow, ct: Volume) -> None:
    window.context.set_loaded(None, None, ct)
    window.set_layout("mpr-2x2")
    viewer3d = window.area.viewer3d
    assert viewer3d.isVisible() and window.area.sagittal.isVisible()
    img = viewer3d.render_image()
    assert int(img[..., :3].max()) >= 250


def test_open_folder_scans_and_loads(qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume) -> None:
    dicom = pytest.importorskip("workstation.io.dicom")
    from workstation.io.dicom_write import write_series

    folder = tmp_path / "series"
    small = Volume(ct.array[::4], spacing=(10.0, 0.8, 0.6), origin=ct.origin, modality="CT")
    write_series(small, folder, modality="CT")
    (folder / "junk.dcm").write_bytes(b"not a dicom file")
    with qtbot.waitSignal(window.loader.series_loaded, timeout=20000):
        window.open_paths([folder])
    vol = window.context.volume
    assert vol is not None and vol.shape == small.shape
    np.testing.assert_array_equal(vol.array, small.array)
    assert window.browser.tree.topLevelItemCount() == 1
    rows = window.load_report.rows()
    assert any("junk.dcm" in where for where, _ in rows)
    uid = window.context.series.uid
    qtbot.waitUntil(lambda: window.browser.has_thumbnail(uid), timeout=10000)
    assert dicom is not None
    # activating the series in the browser loads it again (a new volume object)
    window.context.set_loaded(None, None, None)
    with qtbot.waitSignal(window.loader.series_loaded, timeout=20000):
        window.browser.tree.itemActivated.emit(window.browser.series_item(uid), 0)
    assert window.context.volume is not None and window.context.series.uid == uid


def test_a_slice_that_cannot_be_decoded_is_named_in_the_load_report(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, ct: Volume
) -> None:
    """The rest of the series loads; the file left out is a row of the load report."""
    import struct

    import pydicom
    from pydicom.uid import RLELossless

    from workstation.io.dicom_write import write_series

    small = Volume(ct.array[::6, ::4, ::4], spacing=(15.0, 3.2, 2.4), origin=ct.origin, modality="CT")
    paths = write_series(small, tmp_path / "series", modality="CT")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless, generate_instance_uid=False)
        ds.save_as(path, enforce_file_format=True)
    data = bytearray(paths[1].read_bytes())
    items = data.index(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff") + 12  # encapsulated pixel data
    fragment = items + 8 + struct.unpack("<I", data[items + 4: items + 8])[0] + 8  # after the offset table
    data[fragment + 4: fragment + 8] = struct.pack("<I", 0xFFFFFF)  # first RLE segment past the end
    paths[1].write_bytes(bytes(data))
    with qtbot.waitSignal(window.loader.series_loaded, timeout=20000):
        window.open_paths([tmp_path / "series"])
    assert window.context.volume is not None and window.context.volume.shape[0] == small.shape[0] - 1
    rows = dict(window.load_report.rows())
    assert rows[str(paths[1])].startswith("cannot decode pixel data (RLE Lossless)")


def test_preset_combo_follows_window(window: MainWindow, ct: Volume) -> None:
    window.context.set_loaded(None, None, ct)
    combo = window.toolbar.preset_combo
    assert "Mediastinum" in combo.currentText()  # the CT default
    combo.activated.emit(1)
    assert (window.area.state.width, window.area.state.level) == (1500.0, -600.0)
    window.area.state.set_window(123.0, 4.0)
    assert combo.currentIndex() == 0


def test_main_opens_paths_from_command_line(qtbot: QtBot, tmp_path: Path, ct: Volume) -> None:
    pytest.importorskip("workstation.io.dicom")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from workstation.app import main
    from workstation.compute.backend import set_backend
    from workstation.io.dicom_write import write_series

    folder = tmp_path / "cli"
    write_series(Volume(ct.array[::8], spacing=(20.0, 0.8, 0.6), modality="CT"), folder, modality="CT")
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    seen: dict[str, object] = {}

    def check() -> None:
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if wins and wins[0].context.volume is not None:
            seen["shape"] = wins[0].context.volume.shape
            seen["layout"] = wins[0].area.layout_name
            seen["device"] = wins[0].device_label.text()
            wins[0].close()
            QApplication.exit(0)
        elif "stop" not in seen:
            QTimer.singleShot(50, check)

    app = QApplication.instance()
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)  # a pending quit would end the next test's event loop
    QTimer.singleShot(50, check)
    safety = QTimer()
    safety.setSingleShot(True)
    safety.timeout.connect(lambda: (seen.setdefault("stop", True), QApplication.exit(1)))
    safety.start(20000)
    try:
        assert main([str(folder), "--device", "cpu", "--layout", "mpr-1x3"]) == 0
    finally:
        safety.stop()
        app.setQuitOnLastWindowClosed(quit_on_close)
        seen.setdefault("stop", True)
        set_backend(None)
    assert seen.get("shape") == (5, SHAPE[1], SHAPE[2]) and seen["layout"] == "mpr-1x3"
    assert str(seen["device"]).startswith("CPU")
    stored = QSettings("Workstation", "Workstation")
    assert stored.value("compute/device") == "cpu" and stored.value("view/layout") == "mpr-1x3"


def test_parse_args_rejects_unknown_device() -> None:
    from workstation.app import parse_args

    assert parse_args(["a", "b", "--device", "cuda:1"]).paths == ["a", "b"]
    with pytest.raises(SystemExit):
        parse_args(["--device", "tpu"])


def test_every_control_has_a_shortcut_or_accessible_name(window: MainWindow, ct: Volume) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QGraphicsView,
        QProgressBar,
        QToolButton,
        QTreeWidget,
    )

    window.context.set_loaded(None, None, ct)
    window.context.run_job("quick", lambda b, p: 1)
    window.context.jobs.wait(5000)
    missing = []
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QGraphicsView, QProgressBar, QTreeWidget)
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, kinds) or widget.accessibleName():
            continue
        action = widget.defaultAction() if isinstance(widget, QToolButton) else None
        if action is not None and not action.shortcut().isEmpty():
            continue
        if widget.objectName().startswith("qt_") or type(widget.parent()).__name__ == "QDockWidget":
            continue  # Qt's own overflow and dock title buttons
        missing.append(f"{type(widget).__name__}({getattr(widget, 'text', lambda: '')()})")
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            if action.isSeparator() or action.menu() is not None or not action.isEnabled():
                continue
            if action.shortcut().isEmpty() and action.parent() is not window.recent_menu:
                missing.append(f"menu {action.text()}")
    assert not missing, missing


def test_device_menu_switches_backend_and_persists(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.compute.backend import set_backend

    monkeypatch.delenv("WORKSTATION_DEVICE", raising=False)
    try:
        window.device_actions["cuda"].trigger()  # no CUDA here: falls back, says why
        assert not window.context.jobs.backend.is_gpu or window.context.jobs.backend.label.startswith("cuda")
        assert window.settings.get("compute/device") == "cuda"
        if not window.context.jobs.backend.is_gpu:
            assert "GPU unavailable" in window.device_label.text()
        window.device_actions["cpu"].trigger()
        assert window.device_label.text() == "CPU (NumPy)"
    finally:
        set_backend(None)


def test_standalone_slice_viewer_centres_itself(qtbot: QtBot, ct: Volume) -> None:
    from workstation.ui.viewer2d import SliceViewer

    context = ViewerContext()
    viewer = SliceViewer(context, axis=2)
    qtbot.addWidget(viewer)
    context.set_loaded(None, None, ct)
    assert viewer.index == int(round((SHAPE[2] - 1) / 2))
    assert viewer.rendered_gray().shape == (SHAPE[0], SHAPE[1])


def test_cpu_fallback_is_noticed_once(qtbot: QtBot) -> None:
    from workstation.compute.backend import GpuError
    from workstation.ui.job_dock import JobDock

    runner = JobRunner(backend=cpu_backend())
    dock = JobDock(runner)
    qtbot.addWidget(dock)
    notices: list[str] = []
    dock.gpu_fallback.connect(notices.append)
    calls: list[int] = []

    def flaky(backend: Backend, progress: ProgressFn) -> int:
        calls.append(1)
        if len(calls) % 2 == 1:
            raise GpuError("simulated out of memory")
        return 7

    jobs = [runner.submit(f"flaky {i}", flaky) for i in range(1)]
    qtbot.waitUntil(lambda: all(j.finished for j in jobs), timeout=5000)
    second = runner.submit("flaky again", flaky)
    qtbot.waitUntil(lambda: second.finished, timeout=5000)
    qtbot.waitUntil(lambda: "rerun on the CPU" in dock.row_for(second).message.text(), timeout=2000)
    assert second.result == 7 and len(notices) == 1 and "simulated out of memory" in notices[0]
