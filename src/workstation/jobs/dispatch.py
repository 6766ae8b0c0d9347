"""Working the queue: take jobs, hand them to workers, keep their leases, record outcomes.

A :class:`Dispatcher` is the only writer of the rows it holds.  It takes as many jobs
as its executor has free workers (highest priority first), renews their leases every
:data:`~workstation.jobs.queue.HEARTBEAT_S` seconds, passes the user's cancels on,
writes the workers' reports (started, progress) into the rows and ends each job with
its outcome.  A CUDA fault gives the job back to the queue for another GPU attempt
(:data:`~workstation.jobs.job_row.GPU_RETRIES`), after which its run may fall back to the
CPU.  When the dispatcher stops (the application closes), jobs still running are
stopped and given back, to run again next time.

Executors: :class:`InlineExecutor` runs jobs in threads of this process (the desktop
application, tests); :class:`~workstation.jobs.dask_exec.DaskExecutor` on a Dask
cluster (worker processes per GPU on this machine, or an existing scheduler).
"""

from __future__ import annotations

import logging
import queue as queue_mod
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from workstation.core.progress import Cancelled, Partial
from workstation.jobs.job_exec import JobResult, JobSpec, execute_job
from workstation.jobs.job_row import JobRow
from workstation.jobs.queue import HEARTBEAT_S, JobQueue, new_owner

log = logging.getLogger(__name__)
#: Seconds between progress reports a worker sends (the first and the last always go).
PROGRESS_EVERY_S = 0.25
RECOVER_EVERY_S = 10.0


@dataclass(frozen=True)
class WorkerEvent:
    """A report from a running job: ``started``, ``progress`` or ``note``."""

    job_id: int
    kind: str
    worker: str = ""
    device: str = ""
    fraction: float = 0.0
    message: str = ""


class Executor(Protocol):
    """Where jobs run."""

    def slots(self) -> int:
        """How many jobs may run at once now."""

    def submit(self, spec: JobSpec, priority: int) -> None: ...

    def cancel(self, job_id: int) -> None: ...

    def events(self) -> list[WorkerEvent]:
        """Reports received since the last call."""

    def finished(self, timeout: float) -> list[tuple[int, JobResult | BaseException]]:
        """Jobs that ended (waiting up to ``timeout`` seconds for one)."""

    def close(self) -> None: ...


def drain(events: "queue_mod.Queue[WorkerEvent]") -> list[WorkerEvent]:
    """Everything in ``events`` now, without waiting."""
    found = []
    while True:
        try:
            found.append(events.get_nowait())
        except queue_mod.Empty:
            return found


def spec_of(job: JobRow) -> JobSpec:
    assert job.study_ref is not None
    return JobSpec(job.id, job.analysis, job.study_ref, dict(job.params), job.out_dir, job.device,
                   job.may_fall_back)


class InlineReporter:
    """A :class:`~workstation.jobs.job_exec.Reporter` for a job run in a thread here."""

    def __init__(self, job_id: int, events: "queue_mod.Queue[WorkerEvent]",
                 on_partial: Optional[Callable[[int, Partial], None]] = None) -> None:
        self.job_id, self._events, self._on_partial = job_id, events, on_partial
        self.cancel_event = threading.Event()
        self._last = 0.0

    def started(self, worker: str, device: str) -> None:
        self._events.put(WorkerEvent(self.job_id, "started", worker, device))

    def progress(self, fraction: float, message: str) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S or fraction >= 1.0:
            self._last = now
            self._events.put(WorkerEvent(self.job_id, "progress", fraction=fraction, message=message))

    def partial(self, partial: Partial) -> None:
        if self._on_partial is not None:
            self._on_partial(self.job_id, partial)

    def note(self, kind: str, message: str) -> None:
        self._events.put(WorkerEvent(self.job_id, "note", message=message, device=kind))

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_event.is_set()


class InlineExecutor:
    """Jobs in ``workers`` threads of this process (``on_partial(job_id, partial)`` sees chunks)."""

    def __init__(self, workers: int = 1, on_partial: Optional[Callable[[int, Partial], None]] = None,
                 run: Callable[..., JobResult] = execute_job) -> None:
        self._workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="queue-worker")
        self._events: queue_mod.Queue[WorkerEvent] = queue_mod.Queue()
        self._futures: dict[Future[JobResult], int] = {}
        self._reporters: dict[int, InlineReporter] = {}
        self._on_partial = on_partial
        self._run = run

    def slots(self) -> int:
        return self._workers

    def submit(self, spec: JobSpec, priority: int) -> None:
        reporter = InlineReporter(spec.id, self._events, self._on_partial)
        self._reporters[spec.id] = reporter
        self._futures[self._pool.submit(self._run, spec, reporter)] = spec.id

    def cancel(self, job_id: int) -> None:
        reporter = self._reporters.get(job_id)
        if reporter is not None:
            reporter.cancel_event.set()

    def events(self) -> list[WorkerEvent]:
        return drain(self._events)

    def finished(self, timeout: float) -> list[tuple[int, JobResult | BaseException]]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out: list[tuple[int, JobResult | BaseException]] = []
        for fut in done:
            job_id = self._futures.pop(fut)
            self._reporters.pop(job_id, None)
            exc = fut.exception()
            out.append((job_id, exc if exc is not None else fut.result()))
        return out

    def close(self) -> None:
        """Stop the jobs still running (at their next progress report) without waiting for them."""
        for reporter in self._reporters.values():
            reporter.cancel_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Tally:
    """What a dispatcher did."""

    done: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0
    released: int = 0
    results: list[tuple[JobRow, JobResult]] = field(default_factory=list)


class Dispatcher:
    """Works ``queue`` with ``executor`` (see the module docstring).

    ``on_result(job, result)`` is called as each job ends (the batch command prints the
    study's line); ``on_note(message)`` for what the user should know (a GPU out of
    rotation, a job re-queued after its worker died).  ``origins`` restricts the jobs
    taken; while ``paused()`` is true no new job is taken (the desktop application
    pauses while the user's own jobs run).  ``prefetch`` jobs more than the executor
    runs at once are handed over ahead, so a cluster's workers never wait for the
    dispatcher (the cluster's scheduler orders them by priority too).
    """

    def __init__(self, queue: JobQueue, executor: Executor, *, owner: Optional[str] = None,
                 on_result: Optional[Callable[[JobRow, JobResult], None]] = None,
                 on_note: Optional[Callable[[str], None]] = None, origins: Optional[list[str]] = None,
                 poll_s: float = 0.2, paused: Optional[Callable[[], bool]] = None, prefetch: int = 0) -> None:
        self.queue, self.executor = queue, executor
        self.owner = owner or new_owner()
        self.on_result, self.on_note = on_result, on_note
        self.origins = origins
        self.poll_s = poll_s
        self.paused = paused
        self.prefetch = prefetch
        self.stop_event = threading.Event()
        self.in_flight: dict[int, JobRow] = {}
        self._user_cancelled: set[int] = set()
        self._notes_seen: set[str] = set()
        self.tally = Tally()

    def stop(self) -> None:
        """Ask :meth:`run` to stop, giving running jobs back to the queue."""
        self.stop_event.set()

    def _note(self, message: str) -> None:
        if message not in self._notes_seen:
            self._notes_seen.add(message)
            log.warning("%s", message)
            if self.on_note is not None:
                self.on_note(message)

    def _recover(self) -> None:
        for job_id, action in self.queue.recover():
            if action == "requeued":
                self._note(f"job {job_id} was re-queued: the worker running it stopped")
            elif action == "failed":
                job = self.queue.get(job_id)
                self._note(f"job {job_id} failed: {job.error if job else 'its worker stopped'}")

    def _fill(self) -> None:
        free = self.executor.slots() + self.prefetch - len(self.in_flight)
        if free <= 0 or (self.paused is not None and self.paused()):
            return
        for job in self.queue.claim(self.owner, free, origins=self.origins):
            if job.study_ref is None:
                self.queue.finish(job.id, self.owner, "failed", error="the job names no study")
                continue
            self.in_flight[job.id] = job
            self.executor.submit(spec_of(job), job.priority)

    def _handle(self, event: WorkerEvent) -> None:
        if event.kind == "started":
            if not self.queue.start(event.job_id, self.owner, worker=event.worker, device=event.device):
                self._user_cancelled.add(event.job_id)  # cancelled while it waited for a worker
                self.executor.cancel(event.job_id)
        elif event.kind == "progress":
            self.queue.set_progress(event.job_id, event.fraction, event.message, owner=self.owner)
        elif event.kind == "note":
            self._note(event.message)

    def _record(self, job_id: int, result: JobResult | BaseException) -> None:
        job = self.in_flight.pop(job_id)
        q, owner = self.queue, self.owner
        if isinstance(result, BaseException):
            q.finish(job_id, owner, "failed", error=f"{type(result).__name__}: {result}")
            self.tally.failed += 1
            return
        o = result.outcome
        if o.ok:
            q.finish(job_id, owner, "done", message=o.message, used_device=o.device, files=o.files, timings=o.timings)
            self.tally.done += 1
        elif result.cancelled and job_id not in self._user_cancelled and self.stop_event.is_set():
            q.release(job_id, owner, message="given back when its worker stopped")
            self.tally.released += 1
        elif result.cancelled:
            q.finish(job_id, owner, "cancelled", message="cancelled", timings=o.timings)
            self.tally.cancelled += 1
        elif o.gpu_fault:
            q.release(job_id, owner, message=f"re-queued after a CUDA fault: {o.message}", gpu_fault=True)
            self._note(f"job {job_id} met a CUDA fault and was re-queued: {o.message}")
            self.tally.retried += 1
        else:
            q.finish(job_id, owner, "failed", error=o.message, timings=o.timings)
            self.tally.failed += 1
        self.tally.results.append((job, result))
        if self.on_result is not None:
            self.on_result(q.get(job_id) or job, result)

    def _beat(self) -> None:
        for job_id in self.queue.heartbeat(self.owner) & set(self.in_flight):
            if job_id not in self._user_cancelled:
                self._user_cancelled.add(job_id)
                self.executor.cancel(job_id)

    def run(self, *, follow: bool = False, idle_exit_s: float = 0.0) -> Tally:
        """Work until the queue is empty (``follow``: until :meth:`stop`).

        ``idle_exit_s``: without ``follow``, wait this long for new jobs before ending.
        """
        last_beat = last_recover = 0.0
        idle_since: Optional[float] = None
        stopping = False
        try:
            while True:
                now = time.monotonic()
                if now - last_recover >= RECOVER_EVERY_S:
                    self._recover()
                    last_recover = now
                if not self.stop_event.is_set():
                    self._fill()
                if not self.in_flight:
                    if self.stop_event.is_set():
                        break
                    idle_since = idle_since if idle_since is not None else now
                    if not follow and now - idle_since >= idle_exit_s:
                        break
                    self.stop_event.wait(self.poll_s)
                    continue
                idle_since = None
                if self.stop_event.is_set() and not stopping:
                    stopping = True
                    for job_id in self.in_flight:
                        self.executor.cancel(job_id)
                for event in self.executor.events():
                    self._handle(event)
                finished = self.executor.finished(self.poll_s)
                for event in self.executor.events():  # a job's last reports come before its end
                    self._handle(event)
                for job_id, result in finished:
                    self._record(job_id, result)
                if now - last_beat >= HEARTBEAT_S:
                    self._beat()
                    last_beat = now
        finally:
            for job_id in list(self.in_flight):  # an error in this loop: nothing stays leased
                self.queue.release(job_id, self.owner, message="given back when its dispatcher stopped")
            self.in_flight.clear()
        return self.tally


def work_inline(queue: JobQueue, workers: int = 1, **kwargs: Any) -> Tally:
    """Work the queue in ``workers`` threads of this process until it is empty."""
    executor = InlineExecutor(workers)
    try:
        return Dispatcher(queue, executor, **kwargs).run()
    finally:
        executor.close()
