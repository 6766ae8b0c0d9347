"""The queue against real processes: a worker SIGKILLed mid-job, restarted, completes the job once;
``run --queue`` then ``queue work`` on a real Dask cluster writes what a foreground run writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workstation.analyses import get
from workstation.demo.chest_ct import write_chest_ct
from workstation.io.dicom import scan
from workstation.jobs import manifest
from workstation.jobs.queue import JobQueue
from workstation.jobs.study_ref import StudyRef

pytestmark = pytest.mark.integration


def _batch(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "workstation.jobs.batch", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _record(path: Path) -> dict:
    """A result record without what differs between two runs (when it was made)."""
    data = json.loads(path.read_text())
    data.get("provenance", {}).pop("created_utc", None)
    return data


def test_a_worker_killed_mid_job_is_restarted_and_the_job_completes_once(tmp_path: Path) -> None:
    write_chest_ct(tmp_path / "ct", seed=0)
    study = scan([tmp_path / "ct"]).studies[0]
    db = tmp_path / "jobs.sqlite"
    queue = JobQueue(db)
    job_id = queue.enqueue("calcium", StudyRef.of(study), {}, device="cpu", out_dir=tmp_path / "out")
    env = {**os.environ, "WORKSTATION_QUEUE": str(db), "WORKSTATION_LOG_DIR": str(tmp_path / "logs")}
    worker = _batch("queue", "work", "--dask", "inline", env=env)
    deadline = time.monotonic() + 120
    while True:  # wait until the job is running and has reported progress: mid-job
        row = queue.get(job_id)
        assert row is not None and row.state != "done", "the job ended before the worker was killed"
        if row.state == "running" and row.progress > 0.25:  # past reading the study: computing
            break
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    killed = queue.get(job_id)
    assert killed is not None and killed.state == "running" and killed.owner is not None
    folder = tmp_path / "out" / study.uid
    defaults = get("calcium").default_params().to_json()
    assert manifest.check(folder, "calcium", defaults, study) is not None  # no complete result yet

    restarted = _batch("queue", "work", "--dask", "inline", env=env)
    stdout, stderr = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, stdout + stderr
    assert f"job {job_id} was re-queued" in stderr
    assert stdout.count(f"job {job_id} calcium done") == 1 and "1 done, 0 failed" in stdout
    row = queue.get(job_id)
    assert row is not None and (row.state, row.attempts, row.recoveries) == ("done", 2, 1)
    assert manifest.check(folder, "calcium", defaults, study) is None
    assert not list(folder.glob(".staging-*")) and len(queue.jobs()) == 1

    reference = tmp_path / "reference"
    from workstation.jobs.execute import run_study

    run_study("calcium", study, reference, device="cpu")
    assert _record(folder / "calcium.json") == _record(reference / study.uid / "calcium.json")


def test_queued_studies_worked_on_a_dask_cluster_match_a_foreground_run(tmp_path: Path) -> None:
    import numpy as np

    from workstation.core.volume import Volume
    from workstation.io.dicom_write import write_series

    for i in range(4):
        values = np.full((8, 32, 32), -900, np.int16)
        values[3:5, 8 + i: 12 + i, 10:14] = 400
        write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), tmp_path / "in" / f"s{i}",
                     modality="CT", tags={"KVP": 120})
    env = {**os.environ, "WORKSTATION_QUEUE": str(tmp_path / "jobs.sqlite"), "WORKSTATION_LOG_DIR": str(tmp_path)}
    queued = _batch("run", "calcium", str(tmp_path / "in"), "--out", str(tmp_path / "queued"), "--queue",
                    "--priority", "3", env=env)
    out, err = queued.communicate(timeout=120)
    assert queued.returncode == 0 and "queued 4 job(s)" in out, out + err
    work = _batch("queue", "work", "--dask", "local:2", env=env)
    out, err = work.communicate(timeout=300)
    assert work.returncode == 0 and "4 done, 0 failed" in out, out + err
    assert out.count(" calcium done: ") == 4  # each job's line as it ended
    foreground = _batch("run", "calcium", str(tmp_path / "in"), "--out", str(tmp_path / "fg"), "--device", "cpu",
                        env=env)
    assert foreground.wait(timeout=300) == 0
    q = sqlite3.connect(tmp_path / "jobs.sqlite")
    assert q.execute("SELECT COUNT(*), MIN(priority), MIN(attempts) FROM jobs WHERE state = 'done'").fetchone() == (
        4, 3, 1)
    q.close()
    for record in (tmp_path / "fg").glob("*/calcium.json"):
        assert _record(record) == _record(tmp_path / "queued" / record.parent.name / "calcium.json")
