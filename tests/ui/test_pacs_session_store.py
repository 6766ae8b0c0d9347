"""Where the user's data folder cannot be written, the PACS database lives for the session
only, in a temporary folder that is gone when the service shuts down."""

from __future__ import annotations

from pathlib import Path

import pytest

import workstation.ui.pacs_service as pacs_service
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.io.database import StudyDatabase
from workstation.jobs.runner import JobRunner

pytestmark = pytest.mark.ui


def test_a_read_only_data_folder_keeps_the_database_for_the_session(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(pacs_service.tempfile, "tempdir", None)  # TMPDIR read again

    def refuse(path: str | Path | None = None, cache_root: str | Path | None = None) -> StudyDatabase:
        if path is None:  # the user's data folder
            raise PermissionError(13, "Permission denied")
        return StudyDatabase(path, cache_root)

    monkeypatch.setattr(pacs_service, "StudyDatabase", refuse)
    service = pacs_service.PacsService(ViewerContext(JobRunner(backend=cpu_backend())), None)
    session = service.database.path.parent
    assert session.parent == tmp_path / "tmp" and session.name.startswith("workstation-session-")
    assert service.database.path.is_file() and service.cache.root.parent == session
    service.shutdown()
    assert not session.exists()  # nothing is left behind in TMPDIR
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_pushed_study_s_routed_analyses_go_to_the_job_queue(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With the application's queue, routing queues rows (its queue worker runs them); without, a job runs them."""
    from dataclasses import replace

    import numpy as np

    from workstation.core.volume import Volume
    from workstation.io.dicom_write import write_series
    from workstation.io.pacs.routing import RoutingRule
    from workstation.jobs.queue import ROUTED, JobQueue

    values = np.full((8, 32, 32), -900, np.int16)
    values[3:5, 8:12, 10:14] = 400
    write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), tmp_path / "in", modality="CT",
                 tags={"KVP": 120})
    database = StudyDatabase(tmp_path / "studies.sqlite", tmp_path / "cache")
    database.index_files(sorted((tmp_path / "in").glob("*.dcm")))
    (record,) = database.search()
    queue = JobQueue(tmp_path / "jobs.sqlite")
    runner = JobRunner(backend=cpu_backend(), queue=queue, work_queue=False)
    service = pacs_service.PacsService(ViewerContext(runner), None, database=database, results_dir=tmp_path / "out")
    service.config = replace(service.config, routing=[RoutingRule("calcium", modality="CT")])
    messages: list[tuple[str, str]] = []
    service.context.message.connect(lambda title, text: messages.append((title, text)))
    service.study_received.emit(record)
    qtbot.waitUntil(lambda: any(job.origin == "routed" for job in queue.jobs()), timeout=20000)
    (job,) = [job for job in queue.jobs() if job.origin == "routed"]
    assert (job.analysis, job.priority, job.state, job.out_dir) == ("calcium", ROUTED, "queued", str(tmp_path / "out"))
    assert messages[0] == ("Study received", "1 series, 8 images; queued calcium")
    service.shutdown()
    runner.shutdown()
