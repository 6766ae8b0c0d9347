"""Per-user folders that cannot be written: which one, and which variable moves it."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from workstation.core import paths
from workstation.core.logs import setup_logging, shutdown_logging

VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "WORKSTATION_LOG_DIR",
             "WORKSTATION_DEMO_DIR")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    yield tmp_path / "home"
    shutdown_logging()


def unprivileged(command: list[str]) -> list[str]:
    """``command`` without the power to write where permissions forbid it (root bypasses them)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux)")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


def test_writable_and_creatable_folders_have_no_problem(home: Path) -> None:
    assert paths.folder_problems() == []
    assert paths.folder_problem(home / "not" / "yet") is None
    assert not (home / "not").exists()  # checking creates nothing


def test_a_file_in_the_way_is_named_with_the_variable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = home / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    problems = paths.folder_problems()
    assert problems == [
        f"the cache folder {blocker}/workstation/ is not writable ({blocker} is not a folder): "
        f"set XDG_CACHE_HOME (now {blocker}) to a writable folder",
        f"the demo folder {blocker}/workstation/demo/ is not writable ({blocker} is not a folder): "
        f"set WORKSTATION_DEMO_DIR or XDG_CACHE_HOME (now {blocker}) to a writable folder",
    ]
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(home / "demo"))  # moving the demo alone fixes that one
    assert [p.split(" folder ")[0] for p in paths.folder_problems()] == ["the cache"]


def test_explain_unwritable_turns_the_os_error_into_the_message(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "file").write_text("x")
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(home / "file" / "demo"))
    with pytest.raises(paths.FolderNotWritable, match="set WORKSTATION_DEMO_DIR .now .*. to a writable folder"):
        with paths.explain_unwritable("demo"):
            (home / "file" / "demo").mkdir(parents=True)
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(home / "demo"))
    with pytest.raises(FileNotFoundError):  # the folder is fine: the error is not about it
        with paths.explain_unwritable("demo"):
            open(home / "missing" / "x")


def test_log_warning_names_the_log_folder(home: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    (home / "file").write_text("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "file"))
    with caplog.at_level(logging.WARNING, logger="workstation"):
        assert setup_logging("workstation") is None
    message = " ".join(r.getMessage() for r in caplog.records)
    assert f"the log folder {home}/file/workstation/logs/ is not writable" in message
    assert "set WORKSTATION_LOG_DIR or XDG_STATE_HOME" in message and "logging to stderr only" in message


def test_read_only_home_is_reported_for_every_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    home.chmod(0o555)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    code = "from workstation.core import paths; print('\\n'.join(paths.folder_problems()))"
    result = subprocess.run(unprivileged([sys.executable, "-c", code]), capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" folder ")[0] for line in lines] == [
        "the settings", "the data", "the cache", "the log", "the demo"]
    assert all(f"(no permission to write in {home})" in line for line in lines)
    assert lines[3].endswith("set WORKSTATION_LOG_DIR or XDG_STATE_HOME to a writable folder")
    assert not any(home.iterdir())


def test_read_only_home_gives_clear_messages_and_no_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "TMPDIR": str(tmp_path)}
    gui = subprocess.run(unprivileged([sys.executable, "-m", "workstation", "--quit-after", "60"]),
                         capture_output=True, text=True, env=env, timeout=120)
    assert gui.returncode == 1, gui.stderr
    assert "Traceback" not in gui.stderr
    assert (f"startup: the study cannot load: Prepare demo failed: the demo folder {home}/.cache/workstation/demo/ "
            f"is not writable (no permission to write in {home}): set WORKSTATION_DEMO_DIR or XDG_CACHE_HOME "
            "to a writable folder") in gui.stderr
    assert "cannot write the log file: the log folder" in gui.stderr and "XDG_STATE_HOME" in gui.stderr
    check = subprocess.run(unprivileged([sys.executable, "-m", "workstation", "--self-check"]),
                           capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 1 and "Traceback" not in check.stderr
    line = next(x for x in check.stdout.splitlines() if x.startswith("FAIL user folders"))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "WORKSTATION_LOG_DIR or XDG_STATE_HOME",
                     "WORKSTATION_DEMO_DIR or XDG_CACHE_HOME"):
        assert f"set {variable}" in line
    assert "self-check FAILED (1 of" in check.stdout
    assert list(home.iterdir()) == []
