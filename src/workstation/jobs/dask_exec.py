"""Queue jobs as Dask tasks: the executor, and the reporter on the worker's side.

Each job is one task (:func:`run_on_worker`); tasks ask for the worker resources the
cluster declares (``GPU`` for GPU work, ``CPU`` for CPU-only work; none where the
workers declare none), so the scheduler places them and re-runs the task of a worker
that died on another.  Reports travel on Dask's own event channel
(``Worker.log_event`` -> ``Client.subscribe_topic``) and cancels through a
``distributed.Event`` per job; there is no protocol of our own.
"""

from __future__ import annotations

import queue as queue_mod
import threading
import time
import uuid
from typing import Any, Callable, Optional

from workstation.core.progress import Cancelled, Partial
from workstation.jobs.dispatch import PROGRESS_EVERY_S, WorkerEvent, drain
from workstation.jobs.job_exec import JobResult, JobSpec, execute_job

TOPIC = "workstation-jobs"
CANCEL_CHECK_S = 0.5


def cancel_event_name(job_id: int) -> str:
    """A new name for each submission (a job cancelled, then retried, must not see the old flag)."""
    return f"workstation-cancel-{job_id}-{uuid.uuid4().hex[:12]}"


class DaskReporter:
    """Sends a job's reports from a Dask worker; reads its cancel flag at most every 0.5 s."""

    def __init__(self, job_id: int, cancel_name: str) -> None:
        from distributed import Event, get_worker

        self.job_id = job_id
        self._worker = get_worker()
        self._cancel = Event(cancel_name)
        self._cancelled = False
        self._last_send = self._last_check = 0.0

    def _send(self, kind: str, **data: Any) -> None:
        self._worker.log_event(TOPIC, {"job": self.job_id, "kind": kind, **data})

    def started(self, worker: str, device: str) -> None:
        self._send("started", name=worker or str(self._worker.name), device=device)  # the scheduler sets "worker"

    def progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self._last_check >= CANCEL_CHECK_S:
            self._last_check = now
            self._cancelled = self._cancelled or bool(self._cancel.is_set())
        if self._cancelled:
            raise Cancelled()
        if now - self._last_send >= PROGRESS_EVERY_S or fraction >= 1.0:
            self._last_send = now
            self._send("progress", fraction=float(fraction), message=str(message))

    def partial(self, partial: Partial) -> None:
        """Chunks stay on the worker: the batch streams whole studies, the viewer runs in-process."""

    def note(self, kind: str, message: str) -> None:
        self._send("note", message=message, device=kind)

    @property
    def cancel_requested(self) -> bool:
        return self._cancelled


def run_on_worker(spec: JobSpec, cancel_name: str) -> JobResult:
    """The Dask task of one job (``cancel_name``: its ``distributed.Event``)."""
    return execute_job(spec, DaskReporter(spec.id, cancel_name))


def task_resources(workers: dict[str, Any], device: str) -> Optional[dict[str, float]]:
    """What a task of a job for ``device`` asks of the workers described by
    ``scheduler_info()["workers"]``."""
    declared = [w.get("resources") or {} for w in workers.values()]
    has_gpu = any(r.get("GPU", 0) > 0 for r in declared)
    has_cpu = any(r.get("CPU", 0) > 0 for r in declared)
    if device.strip().lower() == "cpu":
        return {"CPU": 1} if has_cpu else ({"GPU": 1} if has_gpu else None)
    return {"GPU": 1} if has_gpu else ({"CPU": 1} if has_cpu else None)


class DaskExecutor:
    """Runs jobs as tasks of ``client``'s cluster (``run(spec)`` on a worker: :func:`run_on_worker`)."""

    def __init__(self, client: Any, run: Callable[[JobSpec, str], JobResult] = run_on_worker) -> None:
        self.client = client
        self._run = run
        self._events: queue_mod.Queue[WorkerEvent] = queue_mod.Queue()
        self._futures: dict[int, Any] = {}
        self._cancel_names: dict[int, str] = {}
        self._workers_seen: tuple[float, dict[str, Any]] = (0.0, {})
        self._wake = threading.Event()  # set as a task ends
        client.subscribe_topic(TOPIC, self._on_event)

    def _on_event(self, event: Any) -> None:
        _stamp, data = event
        self._events.put(WorkerEvent(int(data["job"]), str(data["kind"]), str(data.get("name", "")),
                                     str(data.get("device", "")), float(data.get("fraction", 0.0)),
                                     str(data.get("message", ""))))

    def _workers(self) -> dict[str, Any]:
        """The cluster's workers (asked again at most once a second)."""
        seen, workers = self._workers_seen
        if time.monotonic() - seen > 1.0:
            workers = dict(self.client.scheduler_info(n_workers=-1).get("workers", {}))
            self._workers_seen = (time.monotonic(), workers)
        return workers

    def slots(self) -> int:
        return max(1, sum(int(w.get("nthreads", 1)) for w in self._workers().values()))

    def submit(self, spec: JobSpec, priority: int) -> None:
        name = self._cancel_names[spec.id] = cancel_event_name(spec.id)
        self._futures[spec.id] = self.client.submit(
            self._run, spec, name, key=f"workstation-job-{spec.id}-{uuid.uuid4().hex[:8]}", pure=False,
            priority=priority, resources=task_resources(self._workers(), spec.device))
        self._futures[spec.id].add_done_callback(lambda _future: self._wake.set())

    def cancel(self, job_id: int) -> None:
        from distributed import Event

        name = self._cancel_names.get(job_id)
        if name is not None:
            Event(name, client=self.client).set()
        future = self._futures.get(job_id)
        if future is not None and future.status == "pending":
            future.cancel()

    def events(self) -> list[WorkerEvent]:
        return drain(self._events)

    def finished(self, timeout: float) -> list[tuple[int, JobResult | BaseException]]:
        if not self._futures:
            return []
        self._wake.wait(timeout)
        self._wake.clear()
        done = [(i, f) for i, f in self._futures.items() if f.done()]
        out: list[tuple[int, JobResult | BaseException]] = []
        for job_id, future in done:
            del self._futures[job_id]
            self._cancel_names.pop(job_id, None)
            if future.cancelled():
                from workstation.jobs.execute import StudyOutcome

                out.append((job_id, JobResult(job_id, StudyOutcome("", False, 0.0, message="cancelled"),
                                              cancelled=True)))
                continue
            try:
                out.append((job_id, future.result()))
            except Exception as exc:  # KilledWorker (its workers kept dying), or an error of ours
                out.append((job_id, exc))
        return out

    def close(self) -> None:
        self.client.unsubscribe_topic(TOPIC)
        for job_id in list(self._futures):
            self.cancel(job_id)
