"""Window helpers for the Qt tests."""

from __future__ import annotations


def activate(qtbot: object, window: object) -> None:
    """Make ``window`` the active window (window shortcuts act only there); Xvfb without a
    window manager activates asynchronously, so wait until it has."""
    from PySide6.QtWidgets import QApplication

    window.raise_()  # type: ignore[attr-defined]
    window.activateWindow()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)  # type: ignore[attr-defined]

