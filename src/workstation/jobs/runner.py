"""Run work off the GUI thread with progress, cancel, errors and GPU->CPU fallback.

``JobRunner.submit`` takes a function ``fn(backend, progress) -> result``.  It runs on
a ``QThreadPool`` worker; ``progress(fraction, message)`` is forwarded to the GUI and
raises :class:`~workstation.core.progress.Cancelled` once the user cancels.  A GPU
error reruns ``fn`` on the CPU (the user is told once per job).  Results and errors
arrive as Qt signals in the GUI thread.
"""

from __future__ import annotations

import enum
import logging
import threading
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workstation.compute.backend import Backend, get_backend, run_with_cpu_fallback
from workstation.core.paths import FolderNotWritable
from workstation.core.progress import Cancelled, ProgressFn

log = logging.getLogger(__name__)

JobFn = Callable[[Backend, ProgressFn], Any]


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

    def __init__(self, title: str, fn: JobFn, backend: Backend) -> None:
        super().__init__()
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
        self.state_changed.emit(state)

    def _progress(self, fraction: float, message: str) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.fraction, self.message = fraction, message
        self.progressed.emit(fraction, message)

    def _notify_fallback(self, message: str) -> None:
        self.notices.append(message)
        self.fell_back.emit(message)

    def execute(self) -> None:
        """Run in the worker thread; emits exactly one of succeeded/failed/cancelled."""
        self._set_state(JobState.RUNNING)
        try:
            if self._cancel.is_set():
                raise Cancelled()
            result, used = run_with_cpu_fallback(
                lambda b: self.fn(b, self._progress), self.backend, notify=self._notify_fallback
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
    """Submits jobs to a thread pool and keeps the list the job dock shows."""

    job_added = Signal(object)

    def __init__(self, backend: Optional[Backend] = None, max_threads: int = 2) -> None:
        super().__init__()
        self._backend = backend
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.jobs: list[Job] = []

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
    ) -> Job:
        """Queue ``fn``; ``on_done(result)`` / ``on_error(message)`` run in the GUI thread."""
        job = Job(title, fn, self.backend)
        if on_done is not None:
            job.succeeded.connect(on_done)
        if on_error is not None:
            job.failed.connect(on_error)
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
