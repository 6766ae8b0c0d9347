"""Jobs run off the GUI thread: results, progress, cancel, errors, GPU -> CPU rerun."""

from __future__ import annotations

import threading
import time

import numpy as np
from pytestqt.qtbot import QtBot

from workstation.compute.backend import Backend, GpuError, cpu_backend
from workstation.core.progress import ProgressFn
from workstation.jobs.runner import Job, JobRunner, JobState


def _wait(qtbot: QtBot, job: Job) -> None:
    qtbot.waitUntil(lambda: job.finished, timeout=10000)


def test_job_runs_off_gui_thread_and_reports_progress(qtbot: QtBot) -> None:
    runner = JobRunner(backend=cpu_backend())
    gui_thread = threading.get_ident()
    gate = threading.Event()
    seen: list[float] = []

    def work(backend: Backend, progress: ProgressFn) -> tuple[int, float]:
        gate.wait(5)  # lets the test connect before the first report
        for i in range(4):
            progress(i / 4, f"step {i}")
        return threading.get_ident(), float(backend.xp.ones(3).sum())

    job = runner.submit("sum", work)
    job.progressed.connect(lambda f, m: seen.append(f))
    gate.set()
    _wait(qtbot, job)
    worker_thread, value = job.result
    assert worker_thread != gui_thread and value == 3.0
    assert job.state is JobState.DONE and job.fraction == 1.0
    qtbot.waitUntil(lambda: seen == [0.0, 0.25, 0.5, 0.75], timeout=2000)


def test_cancel_stops_at_next_progress(qtbot: QtBot) -> None:
    runner = JobRunner(backend=cpu_backend())
    started = threading.Event()
    steps: list[int] = []

    def slow(backend: Backend, progress: ProgressFn) -> None:
        for i in range(200):
            started.set()
            progress(i / 200, "")
            steps.append(i)
            time.sleep(0.01)

    job = runner.submit("slow", slow)
    assert started.wait(5)
    job.cancel()
    _wait(qtbot, job)
    assert job.state is JobState.CANCELLED and len(steps) < 200


def test_error_is_reported_not_raised(qtbot: QtBot) -> None:
    runner = JobRunner(backend=cpu_backend())
    errors: list[str] = []

    def bad(backend: Backend, progress: ProgressFn) -> None:
        raise ValueError("series has no slices")

    job = runner.submit("bad", bad, on_error=errors.append)
    _wait(qtbot, job)
    assert job.state is JobState.FAILED and "series has no slices" in job.error
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=2000)


def test_simulated_cuda_failure_reruns_job_on_cpu(qtbot: QtBot) -> None:
    fake_gpu = Backend(name="cupy", xp=np, device_id=0, device_name="Fake GPU")
    runner = JobRunner(backend=fake_gpu)
    devices: list[str] = []

    def kernel(backend: Backend, progress: ProgressFn) -> float:
        devices.append(backend.label)
        if backend.is_gpu:
            raise GpuError("CUDA_ERROR_OUT_OF_MEMORY")
        return float(backend.xp.arange(5).sum())

    job = runner.submit("gpu job", kernel)
    _wait(qtbot, job)
    assert job.state is JobState.DONE and job.result == 10.0 and devices == ["cuda:0", "cpu"]
    assert job.used_backend is not None and job.used_backend.label == "cpu"
    assert len(job.notices) == 1 and "rerun on the CPU" in job.notices[0]
