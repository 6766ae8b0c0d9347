"""The dispatcher's bookkeeping: outcomes, CUDA-fault retries, cancels, giving jobs back, priorities."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from workstation.core.progress import Cancelled
from workstation.jobs.dispatch import Dispatcher, InlineExecutor
from workstation.jobs.execute import StudyOutcome
from workstation.jobs.job_exec import JobResult, JobSpec
from workstation.jobs.job_row import GPU_RETRIES
from workstation.jobs.queue import BATCH, INTERACTIVE, JobQueue
from workstation.jobs.study_ref import StudyRef

REF = StudyRef("1.2.3", ("/x.dcm",))


@pytest.fixture
def queue(tmp_path: Path) -> JobQueue:
    return JobQueue(tmp_path / "jobs.sqlite")


def _work(queue: JobQueue, run: Any, workers: int = 1, **kwargs: Any) -> Dispatcher:
    executor = InlineExecutor(workers, run=run)
    dispatcher = Dispatcher(queue, executor, poll_s=0.01, **kwargs)
    try:
        dispatcher.run()
    finally:
        executor.close()
    return dispatcher


def test_a_cuda_fault_is_retried_then_the_run_may_fall_back(queue: JobQueue) -> None:
    job_id = queue.enqueue("calcium", REF, {})
    seen: list[bool] = []

    def run(spec: JobSpec, reporter: Any) -> JobResult:
        reporter.started("w", "cuda:0")
        seen.append(spec.may_fall_back)
        if not spec.may_fall_back:
            return JobResult(spec.id, StudyOutcome("1.2.3", False, 0.1, message="CUDA_ERROR_ILLEGAL_ADDRESS",
                                                   gpu_fault=True))
        return JobResult(spec.id, StudyOutcome("1.2.3", True, 0.1, "cpu", "rerun on the CPU", ("/o/a.json",)))

    notes: list[str] = []
    dispatcher = _work(queue, run, on_note=notes.append)
    job = queue.get(job_id)
    assert seen == [False] * GPU_RETRIES + [True]
    assert (job.state, job.gpu_faults, job.attempts, job.used_device, job.files) == (
        "done", GPU_RETRIES, GPU_RETRIES + 1, "cpu", ("/o/a.json",))
    assert dispatcher.tally.retried == GPU_RETRIES and any("CUDA fault" in n for n in notes)


def test_failures_and_errors_end_failed_and_results_are_reported(queue: JobQueue) -> None:
    bad = queue.enqueue("calcium", REF, {})
    broken = queue.enqueue("calcium", REF, {})

    def run(spec: JobSpec, reporter: Any) -> JobResult:
        reporter.started("w", "")
        if spec.id == broken:
            raise RuntimeError("worker bug")
        return JobResult(spec.id, StudyOutcome("1.2.3", False, 0.1, message="InputError: no CT series"))

    ended: list[tuple[int, str]] = []
    _work(queue, run, on_result=lambda job, result: ended.append((job.id, job.state)))
    assert queue.get(bad).state == "failed" and "no CT series" in queue.get(bad).error
    assert queue.get(broken).state == "failed" and "RuntimeError: worker bug" in queue.get(broken).error
    assert ended == [(bad, "failed")]  # an executor error has no outcome to report


def test_higher_priority_runs_first(queue: JobQueue) -> None:
    order: list[int] = []
    low = [queue.enqueue("calcium", REF, {}, BATCH) for _ in range(3)]
    high = queue.enqueue("calcium", REF, {}, INTERACTIVE)

    def run(spec: JobSpec, reporter: Any) -> JobResult:
        order.append(spec.id)
        return JobResult(spec.id, StudyOutcome("1.2.3", True, 0.0, "cpu"))

    _work(queue, run)
    assert order == [high, *low]


def test_a_user_cancel_stops_a_running_job_and_a_stop_gives_jobs_back(queue: JobQueue,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.jobs.dispatch as dispatch

    monkeypatch.setattr(dispatch, "HEARTBEAT_S", 0.05)
    cancelled_id = queue.enqueue("calcium", REF, {})
    running = threading.Event()

    def slow(spec: JobSpec, reporter: Any) -> JobResult:
        reporter.started("w", "")
        running.set()
        try:
            for _ in range(500):
                reporter.progress(0.5, "working")
                time.sleep(0.01)
        except Cancelled:
            return JobResult(spec.id, StudyOutcome("1.2.3", False, 0.0, message="Cancelled"), cancelled=True)
        return JobResult(spec.id, StudyOutcome("1.2.3", True, 0.0, "cpu"))

    threading.Thread(target=lambda: running.wait(10) and queue.cancel([cancelled_id]), daemon=True).start()
    _work(queue, slow)
    assert queue.get(cancelled_id).state == "cancelled"

    given_back = queue.enqueue("calcium", REF, {})
    running.clear()
    executor = InlineExecutor(1, run=slow)
    dispatcher = Dispatcher(queue, executor, poll_s=0.01)
    threading.Thread(target=lambda: running.wait(10) and dispatcher.stop(), daemon=True).start()
    tally = dispatcher.run(follow=True)
    executor.close()
    job = queue.get(given_back)
    assert (job.state, job.owner, tally.released) == ("queued", None, 1)  # runs again next time
