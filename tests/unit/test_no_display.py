"""Without a display the desktop application says so and exits 2, before Qt could abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workstation import app


@pytest.mark.parametrize(
    "env, missing",
    [
        ({}, True),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, False),
        ({"QT_QPA_PLATFORM": "wayland;offscreen"}, False),
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, False),
        ({"DISPLAY": ":0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ],
)
def test_display_missing(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], missing: bool) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(sys, "platform", "linux")
    assert app.display_missing() is missing


def test_the_program_says_no_display_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    result = subprocess.run([sys.executable, "-m", "workstation", "--quit-after", "30"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("workstation: no display found: run with a desktop session, or use `workstation batch` "
                             "for headless work\n")
    version = subprocess.run([sys.executable, "-m", "workstation", "--version"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert version.returncode == 0  # what needs no window still works
