"""The job dock shows the persistent queue; partial maps fill the overlay while a job runs;
the GPU monitor shows its samples; the application works queued jobs while it is open."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from workstation.compute.backend import cpu_backend
from workstation.jobs.queue import JobQueue, new_owner
from workstation.jobs.runner import JobRunner, JobState
from workstation.jobs.study_ref import StudyRef
from workstation.ui.job_dock import JobDock

pytestmark = pytest.mark.ui
REF = StudyRef("1.2.3.4", ("/nowhere/a.dcm",))


@pytest.fixture
def runner(tmp_path: Path, qtbot: QtBot) -> Any:
    runner = JobRunner(backend=cpu_backend(), queue=JobQueue(tmp_path / "jobs.sqlite"))
    yield runner
    runner.shutdown()


def test_the_dock_lists_queued_running_and_done_jobs(runner: JobRunner, qtbot: QtBot) -> None:
    queue = runner.queue
    assert queue is not None
    worker = new_owner()
    queued = queue.enqueue("calcium", REF, {}, title="calcium night batch")
    running = queue.enqueue("segmentation", REF, {})
    done = queue.enqueue("calcium", REF, {})
    queue.claim(worker, 5)
    queue.release(queued, worker)
    for job_id in (running, done):
        queue.start(job_id, worker)
    queue.set_progress(running, 0.4, "segmenting", owner=worker)
    queue.finish(done, worker, "done")
    own = runner.submit("Load series", lambda b, p: 42)
    qtbot.waitUntil(lambda: own.state is JobState.DONE, timeout=5000)

    dock = JobDock(runner)
    qtbot.addWidget(dock)
    view = dock.queue_view
    assert view is not None
    view.refresh()
    assert {r.id: view.state_of(r.id) for r in view.rows} == {queued: "queued", running: "running", done: "done"}
    cells = {view.table.item(i, 0).text(): (view.table.item(i, 1).text(), view.table.item(i, 3).text())
             for i in range(view.table.rowCount())}
    assert cells[str(running)] == ("running", "40%") and cells[str(queued)] == ("queued", "0%")
    assert "calcium night batch" in [view.table.item(i, 2).text() for i in range(view.table.rowCount())]
    assert "1 queued, 1 running" in view.summary.text() and "2 done" in view.summary.text()
    own_row = queue.get(own.row)  # the window's own job is a row of the queue too (shown above the table)
    assert own_row is not None and (own_row.state, own_row.origin, own_row.title) == ("done", "app", "Load series")
    assert dock.row_for(own).state_label.text() == "done"

    view.filter.setCurrentText("Queued")
    assert [r.id for r in view.rows] == [queued]
    view.table.selectRow(0)
    view.cancel_button.click()
    assert queue.get(queued).state == "cancelled"
    view.filter.setCurrentText("Finished")
    row = next(i for i, r in enumerate(view.rows) if r.id == queued)
    view.table.selectRow(row)
    view.retry_button.click()
    assert queue.get(queued).state == "queued"


def test_a_cancel_from_the_queue_reaches_a_job_of_the_window(runner: JobRunner, qtbot: QtBot) -> None:
    import time

    def slow(backend: Any, progress: Any) -> None:
        for i in range(600):
            progress(i / 600, "")
            time.sleep(0.01)

    job = runner.submit("Long job", slow)
    queue = runner.queue
    assert queue is not None and job.row is not None
    qtbot.waitUntil(lambda: queue.get(job.row).progress > 0, timeout=5000)
    queue.cancel([job.row])  # as `workstation-batch queue cancel ID` does
    qtbot.waitUntil(lambda: job.state is JobState.CANCELLED, timeout=15000)
    assert queue.get(job.row).state == "cancelled"


def test_a_partial_perfusion_overlay_appears_before_the_job_ends(qtbot: QtBot,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyqtgraph")
    from workstation.analyses.panel_api import ViewerContext
    from workstation.analyses.perfusion import logic, passes
    from workstation.analyses.perfusion.panel import OVERLAY_KEY, PerfusionPanel
    from workstation.demo.perfusion import generate_perfusion

    monkeypatch.setattr(passes, "CPU_BUDGET_BYTES", 2**19)  # several slabs
    first_published, go_on = threading.Event(), threading.Event()
    publish = logic._publish_slab

    def publish_then_hold(*args: Any) -> None:
        publish(*args)
        if not first_published.is_set():
            first_published.set()
            assert go_on.wait(30)  # the job waits here until the test has looked

    monkeypatch.setattr(logic, "_publish_slab", publish_then_hold)
    series, _ = generate_perfusion(shape=(5, 48, 48), n_times=28)
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = PerfusionPanel(context)
    qtbot.addWidget(panel)
    panel.set_series(series)
    panel.method.setCurrentText("csvd")
    panel.start()
    job = context.jobs.jobs[-1]
    qtbot.waitUntil(lambda: OVERLAY_KEY in context.overlays, timeout=60000)
    assert not job.finished and panel.result is None
    partial = context.overlays[OVERLAY_KEY].values
    filled = np.isfinite(partial).any(axis=(1, 2))
    assert filled.any() and not filled.all()  # some slices have maps, others are still to come
    assert "Computing: slices" in panel.summary.text()
    go_on.set()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    final = context.overlays[OVERLAY_KEY].values
    np.testing.assert_array_equal(final, panel.result.maps["cbf"])
    np.testing.assert_array_equal(final[filled], partial[filled])  # what was shown early stays


def test_the_gpu_monitor_shows_each_gpu_and_says_when_there_is_none(qtbot: QtBot) -> None:
    from workstation.compute.devices import DeviceMonitor, GpuSample
    from workstation.ui.gpu_monitor import GpuMonitorDock

    samples = [GpuSample(0, "NVIDIA H200", "GPU-1", 150 * 2**30, 12 * 2**30, 138 * 2**30, utilisation=87,
                         temperature_c=52, power_w=431.0, ecc_corrected=0, ecc_uncorrected=0, time=1.0)]
    found: list[list[GpuSample]] = [samples]
    dock = GpuMonitorDock(monitor=DeviceMonitor(interval_s=0.05, sampler=lambda: found[0]), interval_ms=50)
    qtbot.addWidget(dock)
    dock.show()
    qtbot.waitUntil(lambda: dock.table.rowCount() == 1, timeout=5000)
    cells = [dock.table.item(0, c).text() for c in range(dock.table.columnCount())]
    assert cells == ["0: NVIDIA H200", "12.0 / 150.0", "87%", "52 °C", "431 W", "0/0"]
    found[0] = []
    qtbot.waitUntil(lambda: dock.note.text().startswith("No GPU"), timeout=5000)
    dock.hide()
    dock.shutdown()


def test_the_application_works_queued_jobs_after_its_own(tmp_path: Path, qtbot: QtBot) -> None:
    from workstation.core.volume import Volume
    from workstation.io.dicom import scan
    from workstation.io.dicom_write import write_series

    values = np.full((8, 32, 32), -900, np.int16)
    values[3:5, 8:12, 10:14] = 400
    write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), tmp_path / "ct", modality="CT",
                 tags={"KVP": 120})
    study = scan([tmp_path / "ct"]).studies[0]
    queue = JobQueue(tmp_path / "jobs.sqlite")
    gate = threading.Event()
    runner = JobRunner(backend=cpu_backend(), queue=queue, work_queue=True)
    try:
        interactive = runner.submit("Interactive", lambda b, p: gate.wait(30))
        job_id = queue.enqueue("calcium", StudyRef.of(study), {}, device="cpu", out_dir=tmp_path / "out")
        qtbot.wait(1500)
        assert queue.get(job_id).state == "queued"  # the user's job goes first
        gate.set()
        qtbot.waitUntil(lambda: interactive.finished, timeout=5000)
        qtbot.waitUntil(lambda: queue.get(job_id).state == "done", timeout=60000)
        assert (tmp_path / "out" / study.uid / "calcium.json").is_file()
    finally:
        runner.shutdown()
