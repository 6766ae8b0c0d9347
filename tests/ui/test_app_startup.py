"""Start-up of the application: --quit-after, the batch dispatch, and a 3D view without OpenGL."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume
from workstation.jobs.runner import JobRunner
from workstation.ui import mpr
from workstation.ui.main_window import MainWindow


def test_3d_view_without_opengl_is_a_message_not_a_crash(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ct: Volume
) -> None:
    monkeypatch.setattr(mpr, "opengl_problem", lambda: "the Qt platform 'offscreen' has no OpenGL")
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    win.context.set_loaded(None, None, ct)
    win.set_layout("mpr-2x2")
    label = win.area.viewer3d
    assert isinstance(label, QLabel) and "3D view unavailable" in label.text() and "offscreen" in label.text()
    assert win.area.axial.rendered_gray() is not None
    win.set_layout("3d")
    win.close()


def test_quit_after_reports_start_up_and_exits_zero(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ct: Volume, capsys: pytest.CaptureFixture[str]
) -> None:
    from workstation.app import main
    from workstation.compute.backend import set_backend
    from workstation.io.dicom_write import write_series

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WORKSTATION_LOG_DIR", raising=False)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    folder = tmp_path / "cli"
    write_series(Volume(ct.array[::8], spacing=(20.0, 0.8, 0.6), modality="CT"), folder, modality="CT")
    app = QApplication.instance()
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        assert main([str(folder), "--device", "cpu", "--layout", "2d", "--quit-after", "30"]) == 0
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
        set_backend(None)
    out = capsys.readouterr().out
    assert "startup: window shown" in out and "startup: study loaded" in out
    log = tmp_path / "state" / "workstation" / "logs" / "workstation.log"
    assert "compute backend: CPU" in log.read_text()
    assert not list(log.parent.glob("fatal-*")) and not list(log.parent.glob("crash-*"))


def test_batch_is_dispatched_from_the_one_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workstation.app import main

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WORKSTATION_LOG_DIR", raising=False)
    assert main(["batch", "list"]) == 0
    assert "calcium" in capsys.readouterr().out
    assert (tmp_path / "state" / "workstation" / "logs" / "batch.log").is_file()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.dcm").write_bytes(b"not DICOM")
    assert main(["batch", "run", "calcium", str(junk), "--out", str(tmp_path / "out")]) == 1
    assert "no DICOM studies found" in capsys.readouterr().err


def test_jobs_panel_names_the_unwritable_demo_folder(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from workstation.jobs.runner import JobState

    blocker = tmp_path / "a file"
    blocker.write_text("x")
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(blocker / "demo"))
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    win.open_demo()
    job = win.context.jobs.jobs[-1]
    qtbot.waitUntil(lambda: job.state is JobState.FAILED, timeout=10000)
    expected = (f"the demo folder {blocker}/demo/ is not writable ({blocker} is not a folder): "
                f"set WORKSTATION_DEMO_DIR (now {blocker}/demo) to a writable folder")
    qtbot.waitUntil(lambda: win.job_dock.row_for(job).message.text() == expected, timeout=5000)
    assert win.load_report.rows()[-1] == ("Prepare demo", expected)
    assert "Traceback" not in caplog.text
    win.close()


def test_status_bar_of_the_cpu_build_says_cpu_build(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.compute import backend
    from workstation.core import paths

    monkeypatch.setattr(paths, "build_info", lambda: {"flavor": "cpu"})
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    win = MainWindow(ViewerContext(JobRunner(backend=backend.select_backend("auto"))), None)
    qtbot.addWidget(win)
    assert win.device_label.text() == "CPU (NumPy) (CPU build)"
    win.close()
