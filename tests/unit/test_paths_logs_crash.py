"""User folders (XDG), rotating logs, redaction and crash reports: no Qt, fast."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from workstation.core import crash, paths
from workstation.core.logs import setup_logging, shutdown_logging
from workstation.core.redact import clear_sensitive, redact, register_sensitive

PATIENT = "DOE^JANE^Q"


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "WORKSTATION_LOG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield tmp_path / "home"
    shutdown_logging()
    crash.uninstall()
    clear_sensitive()


def test_paths_default_to_home(user_home: Path) -> None:
    assert paths.settings_file() == user_home / ".config" / "Workstation" / "Workstation.conf"
    assert paths.cache_dir() == user_home / ".cache" / "workstation"
    assert paths.data_dir() == user_home / ".local" / "share" / "workstation"
    assert paths.log_dir() == user_home / ".local" / "state" / "workstation" / "logs"


def test_paths_honour_xdg_variables(user_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{var}_HOME", str(tmp_path / var.lower()))
    assert paths.settings_file() == tmp_path / "config" / "Workstation" / "Workstation.conf"
    assert paths.data_dir() == tmp_path / "data" / "workstation"
    assert paths.cache_dir() == tmp_path / "cache" / "workstation"
    assert paths.log_dir() == tmp_path / "state" / "workstation" / "logs"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored, as the specification asks
    assert paths.cache_dir() == user_home / ".cache" / "workstation"
    monkeypatch.setenv("WORKSTATION_LOG_DIR", str(tmp_path / "it-logs"))
    assert paths.log_dir() == tmp_path / "it-logs"


def test_demo_folder_follows_the_cache_folder(user_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.demo.cache import demo_dir

    monkeypatch.delenv("WORKSTATION_DEMO_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert demo_dir("chest_ct") == tmp_path / "c" / "workstation" / "demo" / "chest_ct"


def test_log_file_rotates(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    path = setup_logging("unit", folder=folder, max_bytes=2000, backups=2, console_level=logging.CRITICAL)
    assert path == folder / "unit.log"
    log = logging.getLogger("workstation.test")
    for i in range(200):
        log.info("line %d of the rotation test", i)
    shutdown_logging()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["unit.log", "unit.log.1", "unit.log.2"]
    assert all(p.stat().st_size <= 2000 for p in folder.iterdir())
    assert "line 199" in (folder / "unit.log").read_text()


def test_log_lines_carry_no_patient_data(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    setup_logging("unit", folder=folder, console_level=logging.CRITICAL)
    register_sensitive(["SMITH^JOHN", "PID-778899"])
    log = logging.getLogger("workstation.test")
    log.warning("could not read /data/studies/SMITH_JOHN/IM0001.dcm for patient %s", "PID-778899")
    log.warning("name %s in a message", PATIENT)
    try:
        raise ValueError("Smith John has a broken file")
    except ValueError:
        log.exception("failed")
    shutdown_logging()
    text = (folder / "unit.log").read_text()
    for secret in ("SMITH", "Smith", "JOHN", "PID-778899", "DOE", "JANE", "/data/studies"):
        assert secret not in text
    assert "<path#" in text and "<redacted>" in text and "<name>" in text and "ValueError" in text


def test_redact_keeps_application_paths_and_urls() -> None:
    own = str(Path(paths.__file__))
    assert redact(f'File "{own}", line 3') == f'File "{own}", line 3'
    assert redact("see https://example.org/a/b") == "see https://example.org/a/b"
    assert redact("open /home/u/DOE_JANE/x.dcm") .startswith("open <path#")


def _raise_with_patient() -> None:
    patient = PATIENT  # a local in the failing frame, as a careless message would hold
    raise RuntimeError(f"cannot score study of {patient} in /data/{patient}/series1")


def test_crash_report_has_traceback_and_no_patient_name(user_home: Path, tmp_path: Path) -> None:
    crash.set_context(device="CPU (NumPy)")
    try:
        _raise_with_patient()
    except RuntimeError:
        path = crash.write_report(*sys.exc_info(), where="unit test", folder=tmp_path)  # type: ignore[arg-type]
    assert path is not None and path.parent == tmp_path and path.name.startswith("crash-")
    text = path.read_text()
    for expected in ("crash report", "time:", "version: ", "platform:", "device: CPU (NumPy)", "where: unit test",
                     "Traceback (most recent call last)", "_raise_with_patient", "RuntimeError"):
        assert expected in text
    assert "DOE" not in text and "JANE" not in text and "/data/" not in text
    assert str(path) in crash.tell_user(path)


def test_uncaught_exceptions_write_reports(user_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crash.install("unit")
    try:
        sys.excepthook(ZeroDivisionError, ZeroDivisionError("boom"), None)
        worker = threading.Thread(target=lambda: 1 / 0, name="worker-x")
        worker.start()
        worker.join()
    finally:
        crash.uninstall()
    reports = sorted(paths.log_dir().glob("crash-*.txt"))
    assert len(reports) == 2
    assert any("where: thread worker-x" in r.read_text() for r in reports)
    assert "a crash report was saved to" in capsys.readouterr().err
    assert not list(paths.log_dir().glob("fatal-*.txt"))  # a clean exit leaves no fatal-error file


def test_fatal_error_file_of_a_dead_session_becomes_a_report(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    dead = 2**22 + 12345  # above the default pid_max: no such process
    (folder / f"fatal-{dead}.txt").write_text("Workstation fatal error report\nFatal Python error: Segmentation fault\n")
    (folder / f"fatal-{dead + 1}.txt").write_text("Workstation fatal error report\n")  # killed: nothing to report
    reports = crash.collect_fatal_reports(folder)
    assert [r.name.endswith(f"-{dead}-fatal.txt") for r in reports] == [True]
    assert sorted(p.name for p in folder.iterdir()) == [reports[0].name]


def test_hard_crash_leaves_a_fatal_report(user_home: Path, tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "HOME": str(user_home), "WORKSTATION_LOG_DIR": str(tmp_path / "logs")}
    code = "from workstation.core import crash; crash.install('unit'); import faulthandler; faulthandler._sigsegv()"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert proc.returncode != 0
    reports = crash.collect_fatal_reports(tmp_path / "logs")
    assert len(reports) == 1 and "Segmentation fault" in reports[0].read_text()
