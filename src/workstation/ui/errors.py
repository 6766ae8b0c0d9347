"""Uncaught exceptions in Qt slots: log them and show a non-modal dialog, never exit."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("workstation.errors")

ExceptHook = Callable[[type[BaseException], BaseException, Optional[TracebackType]], None]


class ErrorReporter(QObject):
    """Installs a ``sys.excepthook`` that logs the traceback and shows it in a dialog.

    The dialog is shown through a queued signal so a failure in any thread reaches the
    GUI thread safely.  ``show_dialogs=False`` only logs (tests, headless runs).
    """

    error = Signal(str, str)  # summary, details

    def __init__(self, show_dialogs: bool = True) -> None:
        super().__init__()
        self.show_dialogs = show_dialogs
        self.count = 0
        self.last: Optional[str] = None
        self._previous: Optional[ExceptHook] = None
        self.error.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.handle

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook = self._previous
            self._previous = None

    def handle(self, kind: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(kind, exc, tb))
        summary = f"{kind.__name__}: {exc}"
        log.error("unhandled error: %s\n%s", summary, details)
        self.count += 1
        self.last = summary
        self.error.emit(summary, details)

    def _show(self, summary: str, details: str) -> None:
        if not self.show_dialogs or QApplication.instance() is None:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", summary)
        box.setInformativeText("The application keeps running; the details are in the log.")
        box.setDetailedText(details)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
