"""Uncaught exceptions in Qt slots: log them, write a crash report, show a non-modal dialog, never exit."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from workstation.core.crash import write_report

log = logging.getLogger("workstation.errors")

ExceptHook = Callable[[type[BaseException], BaseException, Optional[TracebackType]], None]


class ErrorReporter(QObject):
    """Installs a ``sys.excepthook`` that logs the traceback and shows it in a dialog.

    The dialog is shown through a queued signal so a failure in any thread reaches the
    GUI thread safely.  ``show_dialogs=False`` only logs (tests, headless runs).
    With ``crash_reports=True`` each error also gets a report file
    (:func:`workstation.core.crash.write_report`) whose path the dialog names.
    """

    error = Signal(str, str)  # summary, details

    def __init__(self, show_dialogs: bool = True, crash_reports: bool = False) -> None:
        super().__init__()
        self.show_dialogs = show_dialogs
        self.crash_reports = crash_reports
        self.last_report: Optional[Path] = None
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
        note = "The application keeps running; the details are in the log."
        if self.crash_reports:
            self.last_report = write_report(kind, exc, tb, where="Qt event handler")
            note = (f"The application keeps running. A crash report was saved to {self.last_report}."
                    if self.last_report else "The application keeps running; no crash report could be written.")
        self.error.emit(summary, note + "\n\n" + details)

    def _show(self, summary: str, details: str) -> None:
        if not self.show_dialogs or QApplication.instance() is None:
            return
        note, _, trace = details.partition("\n\n")
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", summary)
        box.setInformativeText(note)
        box.setDetailedText(trace)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
