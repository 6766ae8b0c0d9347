"""Run work off the GUI thread with progress, cancel, errors and GPU->CPU fallback.

``JobRunner.submit`` takes a function ``fn(backend, progress) -> result``.  It runs on
a ``QThreadPool`` worker; ``progress(fraction, message)`` is forwarded to the GUI and
raises :class:`~workstation.core.progress.Cancelled` once the user cancels.  Partial
results the work publishes (:func:`~workstation.core.progress.publish`) arrive as
``Job.partial_ready``.  A GPU error reruns ``fn`` on the CPU (the user is told once per
job).  Results and errors arrive as Qt signals in the GUI thread.  With a
:class:`~workstation.jobs.app_queue.QueueService` every job is also a row of the
persistent queue, and the service works queued batch jobs while none of these runs.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workstation.compute.backend import Backend, get_backend, run_with_cpu_fallback
from workstation.core.paths import FolderNotWritable
from workstation.core.progress import Cancelled, Partial, ProgressFn, ProgressSink
from workstation.core.redact import redact
from workstation.jobs.app_queue import QueueService
from workstation.jobs.queue import JobQueue

log = logging.getLogger(__name__)

JobFn = Callable[[Backend, ProgressFn], Any]
#: Seconds between progress writes to the queue row.
ROW_PROGRESS_S = 0.5


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(QObject):
    """One unit of background work and its observable state."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    fell_back = Signal(str)
    state_changed = Signal(object)
    partial_ready = Signal(object)  # a Partial, from the worker thread

    def __init__(self, title: str, fn: JobFn, backend: Backend, service: Optional[QueueService] = None) -> None:
        super().__init__()
        self.service = service
        self.row: Optional[int] = service.add(redact(title), backend.label) if service is not None else None
        self._row_written = 0.0
        self.title = title
        self.fn = fn
        self.backend = backend
        self.used_backend: Optional[Backend] = None
        self.state = JobState.QUEUED
        self.fraction = 0.0
        self.message = ""
        self.error = ""
        self.result: Any = None
        self.notices: list[str] = []
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)

    def _set_state(self, state: JobState) -> None:
        self.state = state
        if self.service is not None and self.row is not None and self.finished:
            used = self.used_backend.label if self.used_backend is not None else ""
            self.service.finish(self.row, state.value, message=redact(" ".join(self.notices)),
                                error=redact(self.error), device=used)
        self.state_changed.emit(state)

    def _progress(self, fraction: float, message: str) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.fraction, self.message = fraction, message
        self.progressed.emit(fraction, message)
        now = time.monotonic()
        if self.service is not None and self.row is not None and now - self._row_written >= ROW_PROGRESS_S:
            self._row_written = now
            self.service.progress(self.row, fraction, redact(message))

    def _partial(self, partial: Partial) -> None:
        self.partial_ready.emit(partial)

    def _notify_fallback(self, message: str) -> None:
        self.notices.append(message)
        self.fell_back.emit(message)

    def execute(self) -> None:
        """Run in the worker thread; emits exactly one of succeeded/failed/cancelled."""
        self._set_state(JobState.RUNNING)
        try:
            if self._cancel.is_set():
                raise Cancelled()
            sink = ProgressSink(self._progress, self._partial)
            result, used = run_with_cpu_fallback(
                lambda b: self.fn(b, sink), self.backend, notify=self._notify_fallback
            )
        except Cancelled:
            self._set_state(JobState.CANCELLED)
            self.cancelled.emit()
            return
        except Exception as exc:  # shown to the user; the application keeps running
            self.error = f"{type(exc).__name__}: {exc}"
            # the title may name a folder (and so a patient): log where the job's code is instead
            where = getattr(self.fn, "__qualname__", type(self.fn).__name__)
            if isinstance(exc, FolderNotWritable):  # the user's set-up, not a fault: its message says all
                self.error = str(exc)
                log.warning("job %s failed: %s", where, self.error)
            else:
                log.error("job %s failed: %s\n%s", where, self.error, traceback.format_exc())
            self._set_state(JobState.FAILED)
            self.failed.emit(self.error)
            return
        self.result, self.used_backend = result, used
        self.fraction = 1.0
        self._set_state(JobState.DONE)
        self.succeeded.emit(result)


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job.execute()


class JobRunner(QObject):
    """Submits jobs to a thread pool and keeps the list the job dock shows.

    ``queue``: the persistent queue these jobs are rows of (and whose batch jobs this
    process works while none of its own runs, with ``work_queue``); ``None`` keeps
    nothing (tests, or a data folder that cannot be written).
    """

    job_added = Signal(object)

    def __init__(self, backend: Optional[Backend] = None, max_threads: int = 2, *, queue: Optional[JobQueue] = None,
                 work_queue: bool = False) -> None:
        super().__init__()
        self._backend = backend
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.jobs: list[Job] = []
        self.service: Optional[QueueService] = None
        if queue is not None:
            self.service = QueueService(queue, work=work_queue, busy=self.busy, on_cancel=self._cancel_rows).start()

    @property
    def queue(self) -> Optional[JobQueue]:
        """The persistent queue (``None`` when jobs are not kept)."""
        return self.service.queue if self.service is not None else None

    def busy(self) -> bool:
        """Whether any of this process's own jobs is still to finish."""
        return any(not job.finished for job in list(self.jobs))

    def _cancel_rows(self, rows: set[int]) -> None:
        for job in list(self.jobs):
            if job.row in rows:
                job.cancel()

    @property
    def backend(self) -> Backend:
        return self._backend if self._backend is not None else get_backend()

    def set_backend(self, backend: Backend) -> None:
        self._backend = backend

    def submit(
        self,
        title: str,
        fn: JobFn,
        on_done: Optional[Callable[[Any], None]] = None,
        on_error: Optional[Callable[[str], None]] = None,
        on_partial: Optional[Callable[[Partial], None]] = None,
    ) -> Job:
        """Queue ``fn``; ``on_done(result)`` / ``on_error(message)`` / ``on_partial(partial)``
        run in the GUI thread."""
        job = Job(title, fn, self.backend, self.service)
        if on_done is not None:
            job.succeeded.connect(on_done)
        if on_error is not None:
            job.failed.connect(on_error)
        if on_partial is not None:
            job.partial_ready.connect(on_partial)
        self.jobs.append(job)
        self.job_added.emit(job)
        self.pool.start(_Runnable(job))
        return job

    def cancel_all(self) -> None:
        for job in self.jobs:
            if not job.finished:
                job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until all jobs finish (tests and shutdown only)."""
        return bool(self.pool.waitForDone(timeout_ms))

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel and wait for this process's jobs, stop working the queue (a batch job
        running is given back to it)."""
        self.cancel_all()
        self.wait(timeout_ms)
        if self.service is not None:
            self.service.stop(timeout_ms / 1000.0)
            self.service = None
