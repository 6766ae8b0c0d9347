"""Qt test setup: an X server (pytest-xvfb) for VisPy, a synthetic CT, leak checks."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from ui_phantom import synthetic_ct

from workstation.core.volume import Volume


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Pick the Qt platform once pytest-xvfb has started Xvfb (and set DISPLAY).

    VisPy needs a real GL platform (xcb); plain widgets also run offscreen without X.
    """
    os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else "offscreen"


@pytest.fixture
def ct() -> Volume:
    return synthetic_ct()


@pytest.fixture(autouse=True)
def no_leaked_windows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a Qt test that leaves a visible top-level window behind."""
    yield
    if "qtbot" not in request.fixturenames:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    app.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in leaked:
        w.close()
    assert not leaked, f"test left visible windows: {[type(w).__name__ for w in leaked]}"


def activate(qtbot: object, window: object) -> None:
    """Make ``window`` the active window (window shortcuts act only there); Xvfb without a
    window manager activates asynchronously, so wait until it has."""
    from PySide6.QtWidgets import QApplication

    window.raise_()  # type: ignore[attr-defined]
    window.activateWindow()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)  # type: ignore[attr-defined]
