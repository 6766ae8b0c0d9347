"""Uncaught exceptions in Qt slots: log them, write a crash report, show a non-modal dialog, never exit.

The same fault raised again and again (a paint handler failing on every repaint) is
one fault: it gets one crash report and one dialog, and the log counts the repeats.
The dialog belongs to the application's active window and is kept referenced until it
is closed, so it is seen.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from workstation.core.crash import write_report

log = logging.getLogger("workstation.errors")

ExceptHook = Callable[[type[BaseException], BaseException, Optional[TracebackType]], None]


def fault_signature(kind: type[BaseException], tb: Optional[TracebackType]) -> str:
    """What identifies one fault: the exception type and the code line that raised it."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return f"{kind.__module__}.{kind.__qualname__}@{where}"


class ErrorReporter(QObject):
    """Installs a ``sys.excepthook`` that logs the traceback and shows it in a dialog.

    The dialog is shown through a queued signal so a failure in any thread reaches the
    GUI thread safely.  ``show_dialogs=False`` only logs (tests, headless runs).
    With ``crash_reports=True`` each distinct fault also gets a report file
    (:func:`workstation.core.crash.write_report`) whose path the dialog names.
    ``parent_window`` (default: the active window) owns the dialogs.
    """

    error = Signal(str, str)  # summary, details

    def __init__(self, show_dialogs: bool = True, crash_reports: bool = False,
                 parent_window: Optional[QWidget] = None) -> None:
        super().__init__()
        self.show_dialogs = show_dialogs
        self.crash_reports = crash_reports
        self.parent_window = parent_window
        self.last_report: Optional[Path] = None
        self.count = 0
        self.last: Optional[str] = None
        self.repeats: dict[str, int] = {}
        self.boxes: list[QMessageBox] = []
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
        summary = f"{kind.__name__}: {exc}"
        self.count += 1
        self.last = summary
        signature = fault_signature(kind, tb)
        seen = self.repeats.get(signature, 0)
        self.repeats[signature] = seen + 1
        if seen:
            if seen in (1, 10, 100, 1000):  # the log says it keeps happening, not every time
                log.error("unhandled error again (%d times so far): %s", seen + 1, summary)
            return
        details = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unhandled error: %s\n%s", summary, details)
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
        parent = self.parent_window or QApplication.activeWindow()
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", summary, parent=parent)
        box.setObjectName("unexpected_error")
        box.setInformativeText(note)
        box.setDetailedText(trace)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.boxes.append(box)  # a dialog nobody references is collected before it is seen
        box.finished.connect(lambda _=0, b=box: self._forget(b))
        box.show()
        box.raise_()

    def _forget(self, box: QMessageBox) -> None:
        if box in self.boxes:
            self.boxes.remove(box)
