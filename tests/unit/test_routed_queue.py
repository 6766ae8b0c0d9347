"""Routed analyses go to the persistent queue and its worker gives what running them here gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workstation.core.study import Study
from workstation.core.volume import Volume
from workstation.io.dicom import scan
from workstation.io.dicom_write import write_series
from workstation.io.pacs.routing import AnalysisRequest
from workstation.jobs.dispatch import Dispatcher, InlineExecutor
from workstation.jobs.queue import ROUTED, JobQueue
from workstation.jobs.routed import enqueue_requests, run_requests


@pytest.fixture
def study(tmp_path: Path) -> Study:
    """One study of two CT series: calcium in the first, none in the second."""
    from pydicom.uid import generate_uid

    uid = generate_uid()
    for k, hu in enumerate((400, -900)):
        values = np.full((8, 32, 32), -900, np.int16)
        values[3:5, 8:12, 10:14] = hu
        write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), tmp_path / "in" / str(k), modality="CT",
                     tags={"KVP": 120}, study_uid=uid, series_number=k + 1)
    (found,) = scan([tmp_path / "in"]).studies
    assert len(found.series) == 2
    return found


def test_routed_requests_are_queued_and_worked_like_run_here(study: Study, tmp_path: Path) -> None:
    first = study.series[0]
    requests = [AnalysisRequest("calcium", study.uid, {"threshold_hu": "130"}, (first.uid,)),
                AnalysisRequest("no-such-analysis", study.uid),
                AnalysisRequest("calcium", study.uid, {"threshold_hu": "lots"})]
    queue = JobQueue(tmp_path / "jobs.sqlite")
    queued = enqueue_requests(requests, study, tmp_path / "queued", device="cpu", queue=queue)
    assert [q.job_id is not None for q in queued] == [True, False, False]
    assert "unknown analysis" in queued[1].problem and queued[2].problem
    job = queue.get(queued[0].job_id or 0)
    assert (job.origin, job.priority, job.state, job.params["threshold_hu"]) == ("routed", ROUTED, "queued", 130.0)
    assert job.study_ref is not None
    assert set(job.study_ref.paths) == {str(Path(f.path).resolve()) for f in first.frames}

    executor = InlineExecutor(1)
    try:
        Dispatcher(queue, executor, poll_s=0.01, origins=["routed"]).run()
    finally:
        executor.close()
    assert queue.get(job.id).state == "done"
    (here,) = run_requests(requests[:1], study, tmp_path / "here", device="cpu")
    assert here.ok
    queued_result = json.loads((tmp_path / "queued" / study.uid / "calcium.json").read_text())
    here_result = json.loads((tmp_path / "here" / study.uid / "calcium.json").read_text())
    assert queued_result["agatston_total"] == here_result["agatston_total"] > 0
