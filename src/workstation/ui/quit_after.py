"""``workstation --quit-after SECONDS``: measure start-up, then leave (smoke tests, IT checks).

Prints the seconds from process start to the shown main window and to the loaded
study, closes the window and ends the event loop with 0; if either has not happened
within the limit it says which and ends with 1.  When the study cannot load (every job
has ended and one failed, e.g. the demo folder is not writable) it ends with 1 at once,
printing the job's message.
"""

from __future__ import annotations

import sys
import time
from typing import Optional

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

POLL_MS = 10


def process_start_time() -> float:
    """Wall-clock time at which this process started (the time of this call if unknown)."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:  # psutil missing or /proc unreadable
        return time.time()


class QuitAfter(QObject):
    """Watches ``window`` (and its ``context.volume``) and quits the application."""

    def __init__(self, window: QMainWindow, seconds: float) -> None:
        super().__init__(window)
        self.window = window
        self.start = process_start_time()
        self.shown_after: Optional[float] = None
        self.loaded_after: Optional[float] = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)
        self._poll.start()
        self._limit = QTimer(self)
        self._limit.setSingleShot(True)
        self._limit.timeout.connect(self._give_up)
        self._limit.start(int(seconds * 1000))

    def _check(self) -> None:
        handle = self.window.windowHandle()
        if self.shown_after is None and self.window.isVisible() and handle is not None and handle.isExposed():
            self.shown_after = time.time() - self.start
            print(f"startup: window shown {self.shown_after:.2f} s after process start", flush=True)
        if self.loaded_after is None and getattr(self.window, "context").volume is not None:  # noqa: B009 - a MainWindow
            self.loaded_after = time.time() - self.start
            print(f"startup: study loaded {self.loaded_after:.2f} s after process start", flush=True)
        if self.shown_after is not None and self.loaded_after is not None:
            self._finish(0)
        elif self.loaded_after is None:
            self._check_failed()

    def _check_failed(self) -> None:
        jobs = list(getattr(self.window, "context").jobs.jobs)  # noqa: B009 - a MainWindow
        failed = [job for job in jobs if job.error]
        if failed and all(job.finished for job in jobs):
            print(f"startup: the study cannot load: {failed[0].title} failed: {failed[0].error}",
                  file=sys.stderr, flush=True)
            self._finish(1)

    def _give_up(self) -> None:
        missing = [what for what, t in (("window shown", self.shown_after), ("study loaded", self.loaded_after))
                   if t is None]
        print(f"startup: not done within the limit: {', '.join(missing)}", file=sys.stderr, flush=True)
        self._finish(1)

    def _finish(self, code: int) -> None:
        self._poll.stop()
        self._limit.stop()
        self.window.close()
        QApplication.exit(code)
