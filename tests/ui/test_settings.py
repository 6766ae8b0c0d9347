"""Typed settings: wrong-type or invalid values are logged once, removed, and the default used."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workstation.core.volume import Volume
from workstation.ui import settings as settings_module
from workstation.ui.settings import SCHEMA, Key, Settings, register

BAD_CONF = """[window]
geometry=12345
state=12345

[compute]
device=banana

[view]
layout=7

[files]
recent=@ByteArray(abc)
last_folder=/data/studies
"""


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    settings_module._warned.clear()
    return QSettings(str(tmp_path / "Workstation.conf"), QSettings.Format.IniFormat)


def test_values_come_back_with_their_type(store: QSettings) -> None:
    s = Settings(store)
    assert s.get("compute/device") == "auto" and s.get("files/recent") == [] and s.get("window/geometry") is None
    s.set("compute/device", "cuda:1")
    s.set("files/recent", ["/a", "/b"])
    s.set("window/geometry", b"\x01\x02")
    s.sync()
    again = Settings(QSettings(store.fileName(), QSettings.Format.IniFormat))
    assert again.get("compute/device") == "cuda:1"
    assert again.get("files/recent") == ["/a", "/b"]
    assert again.get("window/geometry") == b"\x01\x02"
    again.set("files/recent", ["/only"])  # one item reads back as a plain string from the INI file
    again.sync()
    assert Settings(QSettings(store.fileName(), QSettings.Format.IniFormat)).get("files/recent") == ["/only"]


def test_bad_values_are_logged_once_removed_and_defaulted(store: QSettings, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    Path(store.fileName()).write_text(BAD_CONF)
    s = Settings(QSettings(store.fileName(), QSettings.Format.IniFormat))
    with caplog.at_level(logging.WARNING, logger="workstation.ui.settings"):
        for _ in range(3):
            assert s.get("window/geometry") is None and s.get("window/state") is None
            assert s.get("compute/device") == "auto" and s.get("view/layout") == "2d"
            assert s.get("files/recent") == []
        assert s.get("files/last_folder") == "/data/studies"  # a good value is kept
    warned = sorted(r.getMessage().split(" in ")[0] for r in caplog.records)
    assert warned == ["setting compute/device", "setting files/recent", "setting view/layout",
                      "setting window/geometry", "setting window/state"]
    assert "'12345' (str) where a Qt byte array (@ByteArray) belongs" in caplog.text
    s.sync()
    text = Path(store.fileName()).read_text()
    assert "12345" not in text and "banana" not in text and "last_folder=/data/studies" in text


def test_writing_a_wrong_type_is_refused(store: QSettings) -> None:
    s = Settings(store)
    with pytest.raises(TypeError, match="compute/device"):
        s.set("compute/device", "banana")
    with pytest.raises(TypeError, match="files/recent"):
        s.set("files/recent", "not a list")
    with pytest.raises(TypeError, match="window/geometry"):
        s.set("window/geometry", 12345)


def test_a_feature_registers_its_own_keys(store: QSettings) -> None:
    register(Key("test/port", int, 104, lambda v: 0 < v < 65536), Key("test/verify", bool, True),
             Key("test/timeout", float, 30.0))
    try:
        store.setValue("test/port", "11112")
        store.setValue("test/verify", "false")
        store.setValue("test/timeout", "abc")
        s = Settings(store)
        assert (s.get("test/port"), s.get("test/verify"), s.get("test/timeout")) == (11112, False, 30.0)
        store.setValue("test/port", "70000")
        assert s.get("test/port") == 104
        with pytest.raises(TypeError):
            register(Key("test/bad", dict, {}))
    finally:
        for name in ("test/port", "test/verify", "test/timeout"):
            SCHEMA.pop(name, None)


def test_a_geometry_qt_cannot_restore_is_dropped(qtbot: QtBot, store: QSettings,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow

    store.setValue("window/geometry", QByteArray(b"garbage of the right type"))
    store.setValue("window/state", QByteArray(b"more garbage"))
    with caplog.at_level(logging.WARNING, logger="workstation.ui.settings"):
        win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), store)
    qtbot.addWidget(win)
    assert "Qt cannot restore a window geometry" in caplog.text and "Qt cannot restore the docks" in caplog.text
    assert store.value("window/geometry") is None and store.value("window/state") is None
    win.close()


def test_app_starts_with_a_bad_settings_file(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             ct: Volume, capsys: pytest.CaptureFixture[str]) -> None:
    from workstation.app import main
    from workstation.compute.backend import set_backend
    from workstation.io.dicom_write import write_series

    settings_module._warned.clear()
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WORKSTATION_LOG_DIR", raising=False)
    monkeypatch.delenv("WORKSTATION_DEVICE", raising=False)
    # Qt reads XDG_CONFIG_HOME once per process: point it at the same folder for this test
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(config))
    conf = config / "Workstation" / "Workstation.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(BAD_CONF)
    folder = tmp_path / "series"
    write_series(Volume(ct.array[::8], spacing=(20.0, 0.8, 0.6), modality="CT"), folder, modality="CT")
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        assert main([str(folder), "--quit-after", "30"]) == 0
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
        set_backend(None)
    assert "startup: study loaded" in capsys.readouterr().out
    log = (tmp_path / "state" / "workstation" / "logs" / "workstation.log").read_text()
    for key in ("window/geometry", "window/state", "compute/device", "view/layout", "files/recent"):
        assert log.count(f"setting {key} in {conf}") == 1, key
    assert "Traceback" not in log
    text = conf.read_text()
    assert "banana" not in text and "=12345" not in text and "layout=2d" in text
