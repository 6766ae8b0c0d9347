"""The desktop application's part of the job queue (no Qt: the Qt runner drives it).

The application's own jobs (interactive work on the open study: loading, analyses in
their panels) run in its process, where the volume is resident, and each is a row of
the same queue (:meth:`QueueService.add`, origin ``app``, :data:`~.queue.INTERACTIVE`
priority), so the job dock and ``workstation-batch queue list`` show them and
``queue cancel`` reaches them.  A heartbeat thread keeps their leases; after a crash
the next start marks them interrupted (their window is gone, so they are not re-run).

While the application is open it also works queued batch and routed jobs in one
thread of its own (:class:`~.dispatch.Dispatcher`), pausing while the user's jobs
run, so interactive work goes first.  A database that cannot be written (a full disk,
a read-only data folder) is logged and leaves the application working without it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Callable, Optional

from workstation.jobs.dispatch import Dispatcher, InlineExecutor
from workstation.jobs.queue import HEARTBEAT_S, JobQueue, new_owner

log = logging.getLogger(__name__)


class QueueService:
    """Rows and leases of the application's jobs, and its queue worker (see the module docstring).

    ``on_cancel(ids)`` is called (from the heartbeat thread) with the rows whose cancel
    was asked for elsewhere; ``busy()`` says whether the user's own jobs are running.
    """

    def __init__(self, queue: JobQueue, *, work: bool = True, workers: int = 1,
                 busy: Optional[Callable[[], bool]] = None,
                 on_cancel: Optional[Callable[[set[int]], None]] = None,
                 on_note: Optional[Callable[[str], None]] = None) -> None:
        self.queue = queue
        self.owner = new_owner()
        self.on_cancel = on_cancel
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.dispatcher: Optional[Dispatcher] = None
        if work:
            self.dispatcher = Dispatcher(queue, InlineExecutor(workers), origins=["batch", "routed"],
                                         paused=busy, on_note=on_note)

    def _guard(self, what: str, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except (sqlite3.Error, OSError) as exc:
            log.warning("job queue: could not %s: %s", what, exc)
            return None

    def start(self) -> "QueueService":
        self._guard("recover jobs of an earlier session", self.queue.recover)
        self._threads = [threading.Thread(target=self._heartbeat, name="queue-heartbeat", daemon=True)]
        if self.dispatcher is not None:
            dispatcher = self.dispatcher
            self._threads.append(threading.Thread(target=lambda: self._guard(
                "work the queue", lambda: dispatcher.run(follow=True)), name="queue-dispatcher", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            cancels = self._guard("renew leases", lambda: self.queue.heartbeat(self.owner))
            if isinstance(cancels, set) and cancels and self.on_cancel is not None:
                self.on_cancel(cancels)

    def add(self, title: str, device: str) -> Optional[int]:
        """A row for a job of the application (running from now); ``None`` if the queue failed."""
        row = self._guard("add a job", lambda: self.queue.add_running(title, self.owner, device=device))
        return row if isinstance(row, int) else None

    def progress(self, row: int, fraction: float, message: str) -> None:
        self._guard("record progress", lambda: self.queue.set_progress(row, fraction, message, owner=self.owner))

    def finish(self, row: int, state: str, *, message: str = "", error: str = "", device: str = "") -> None:
        self._guard("record the end of a job", lambda: self.queue.finish(
            row, self.owner, state, message=message, error=error, used_device=device))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop working the queue (a batch job running is given back) and the heartbeat."""
        self._stop.set()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        for t in self._threads:
            t.join(timeout=timeout_s)
        if self.dispatcher is not None:
            self.dispatcher.executor.close()
