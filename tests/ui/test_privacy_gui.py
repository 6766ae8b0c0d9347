"""The desktop application's log and streams carry no patient identity (see :mod:`privacy_case`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from privacy_case import leaks, read_all, write_hostile_study
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot


def test_opening_a_hostile_study_logs_no_identity(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from workstation.app import main
    from workstation.compute.backend import set_backend

    study = write_hostile_study(tmp_path / "data")
    logs = tmp_path / "logs"
    monkeypatch.setenv("WORKSTATION_LOG_DIR", str(logs))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    app = QApplication.instance()
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        assert main([str(study), "--device", "cpu", "--layout", "2d", "--quit-after", "60"]) == 0
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
        set_backend(None)
    streams = capfd.readouterr()
    log_text = read_all(logs)
    assert "<path#" in log_text  # pydicom's warning naming the cut file's full path was logged, redacted
    for where, text in (("stdout", streams.out), ("stderr", streams.err), ("logs and reports", log_text)):
        assert not leaks(text), (where, leaks(text), text)
