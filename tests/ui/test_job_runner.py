"""Jobs run off the GUI thread: results, progress, cancel, errors, GPU -> CPU rerun."""

from __future__ import annotations

import threading
import time

import numpy as np
from pytestqt.qtbot import QtBot

from workstation.compute.backend import Backend, GpuError, cpu_backend
from workstation.core.progress import ProgressFn
from workstation.jobs.runner import JobRunner, JobState


def test_job_runs_off_gui_thread_and_reports_progress(qtbot: QtBot) -> None:
    runner = JobRunner(backend=cpu_backend())
    gui_thread = threading.get_ident()
    seen: list[float] = []

    def work(backend: Backend, progress: ProgressFn) -> tuple[int, float]:
        for i in range(4):
            progress(i / 4, f"step {i}")
        return threading.get_ident(), float(backend.xp.ones(3).sum())

    job = runner.submit("sum", work)
    job.progressed.connect(lambda f, m: seen.append(f))
    with qtbot.waitSignal(job.succeeded, timeout=5000) as blocker:
        pass
    worker_thread, value = blocker.args[0]
    assert worker_thread != gui_thread and value == 3.0
    assert job.state is JobState.DONE and job.fraction == 1.0


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
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    assert job.state is JobState.CANCELLED and len(steps) < 200


def test_error_is_reported_not_raised(qtbot: QtBot) -> None:
    runner = JobRunner(backend=cpu_backend())

    def bad(backend: Backend, progress: ProgressFn) -> None:
        raise ValueError("series has no slices")

    job = runner.submit("bad", bad)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert "series has no slices" in blocker.args[0] and job.state is JobState.FAILED


def test_simulated_cuda_failure_reruns_job_on_cpu(qtbot: QtBot) -> None:
    fake_gpu = Backend(name="cupy", xp=np, device_id=0, device_name="Fake GPU")
    runner = JobRunner(backend=fake_gpu)
    devices: list[str] = []

    def kernel(backend: Backend, progress: ProgressFn) -> float:
        devices.append(backend.label)
        if backend.is_gpu:
            raise GpuError("CUDA_ERROR_OUT_OF_MEMORY")
        return float(backend.xp.arange(5).sum())

    notices: list[str] = []
    job = runner.submit("gpu job", kernel)
    job.fell_back.connect(notices.append)
    with qtbot.waitSignal(job.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args[0] == 10.0 and devices == ["cuda:0", "cpu"]
    assert job.used_backend is not None and job.used_backend.label == "cpu"
    qtbot.waitUntil(lambda: len(notices) == 1, timeout=2000)
