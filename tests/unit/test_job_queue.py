"""The persistent queue: order, states, cancel, retry, leases and recovery after a lost worker."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workstation.jobs import queue as q
from workstation.jobs.queue import JobQueue, new_owner
from workstation.jobs.study_ref import StudyRef

REF = StudyRef("1.2.3", ("/data/a.dcm",))


def _dead_owner() -> str:
    """The owner string of a process of this host that has ended."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return f"{q._host()}:{int(proc.stdout)}:dead"


@pytest.fixture
def queue(tmp_path: Path) -> JobQueue:
    return JobQueue(tmp_path / "jobs.sqlite")


def test_claims_follow_priority_then_age_and_never_twice(queue: JobQueue) -> None:
    low = queue.enqueue("calcium", REF, {}, q.BATCH)
    high = queue.enqueue("calcium", REF, {}, q.INTERACTIVE)
    mid = queue.enqueue("calcium", REF, {}, q.ROUTED)
    later_low = queue.enqueue("calcium", REF, {}, q.BATCH)
    a, b = new_owner(), new_owner()
    assert [j.id for j in queue.claim(a, 2)] == [high, mid]
    assert [j.id for j in queue.claim(b, 5)] == [low, later_low]
    assert queue.claim(b, 5) == []
    assert queue.get(high).owner == a and queue.get(high).state == "queued"  # taken, not started


def test_a_job_runs_to_done_with_its_files_and_timings(queue: JobQueue) -> None:
    job_id = queue.enqueue("calcium", REF, {"threshold_hu": 130.0}, out_dir="/out")
    owner = new_owner()
    (job,) = queue.claim(owner)
    assert job.params == {"threshold_hu": 130.0} and job.study_ref == REF and job.out_dir == "/out"
    assert queue.start(job_id, owner, worker="w1", device="cuda:0")
    queue.set_progress(job_id, 0.5, "labelling", owner=owner)
    assert queue.get(job_id).progress == 0.5 and queue.get(job_id).state == "running"
    assert queue.finish(job_id, owner, "done", used_device="cuda:1", files=["/out/x.json"], timings={"decode": 1.5})
    done = queue.get(job_id)
    assert (done.state, done.attempts, done.used_device, done.files, done.timings["decode"], done.owner) == (
        "done", 1, "cuda:1", ("/out/x.json",), 1.5, None)
    assert not queue.finish(job_id, owner, "failed")  # no longer the owner's
    assert queue.counts()["done"] == 1 and queue.pending() == 0
    (light,) = queue.jobs(light=True)
    assert light.study_ref is None and light.params == {} and (light.state, light.files) == ("done", done.files)


def test_cancel_queued_at_once_running_at_the_next_heartbeat(queue: JobQueue) -> None:
    running = queue.enqueue("calcium", REF, {})
    taken = queue.enqueue("calcium", REF, {})
    waiting = queue.enqueue("calcium", REF, {})
    owner = new_owner()
    queue.claim(owner, 2)
    queue.start(running, owner)
    assert queue.cancel([waiting, taken, running]) == 3
    assert queue.get(waiting).state == "cancelled" and queue.get(taken).state == "cancelled"
    assert not queue.start(taken, owner)  # a worker that takes it up now is told to stop
    assert queue.get(running).state == "running" and queue.heartbeat(owner) == {running}
    assert queue.finish(running, owner, "cancelled")
    assert queue.get(running).state == "cancelled" and queue.claim(owner, 5) == []


def test_retry_requeues_finished_jobs_afresh(queue: JobQueue) -> None:
    job_id = queue.enqueue("calcium", REF, {})
    owner = new_owner()
    queue.claim(owner)
    queue.start(job_id, owner)
    queue.release(job_id, owner, gpu_fault=True)
    queue.claim(owner)
    queue.start(job_id, owner)
    assert queue.get(job_id).may_fall_back  # one GPU retry spent
    queue.finish(job_id, owner, "failed", error="boom")
    interactive = queue.add_running("Load series", owner)
    queue.finish(interactive, owner, "done")
    assert queue.retry([job_id, interactive]) == 1  # an interactive job has nothing to run again
    again = queue.get(job_id)
    assert (again.state, again.attempts, again.gpu_faults, again.error, again.owner) == ("queued", 0, 0, "", None)


def test_a_dead_workers_running_job_is_requeued_once_then_completes_once(queue: JobQueue) -> None:
    job_id = queue.enqueue("calcium", REF, {})
    taken_only = queue.enqueue("calcium", REF, {})
    dead = _dead_owner()
    queue.claim(dead, 2)
    queue.start(job_id, dead)
    actions = dict(queue.recover())
    assert actions == {job_id: "requeued", taken_only: "released"}
    assert queue.recover() == []  # recovering again changes nothing
    job = queue.get(job_id)
    assert (job.state, job.recoveries, job.owner) == ("queued", 1, None) and "stopped" in job.message
    assert queue.get(taken_only).recoveries == 0
    owner = new_owner()
    claimed = {j.id for j in queue.claim(owner, 5)}
    assert claimed == {job_id, taken_only}
    queue.start(job_id, owner)
    queue.finish(job_id, owner, "done")
    assert queue.get(job_id).attempts == 2 and queue.counts()["done"] == 1


def test_a_job_that_kills_its_worker_every_time_fails_instead_of_looping(queue: JobQueue) -> None:
    job_id = queue.enqueue("calcium", REF, {})
    for _ in range(q.MAX_RECOVERIES + 1):
        dead = _dead_owner()
        assert [j.id for j in queue.claim(dead)] == [job_id]
        queue.start(job_id, dead)
        queue.recover()
    job = queue.get(job_id)
    assert job.state == "failed" and f"{q.MAX_RECOVERIES + 1} times" in job.error


def test_interactive_rows_of_a_crashed_application_are_marked_interrupted(queue: JobQueue) -> None:
    row = queue.add_running("Perfusion maps", _dead_owner())
    assert dict(queue.recover()) == {row: "failed"}
    assert queue.get(row).state == "failed" and "interrupted" in queue.get(row).error


def test_an_expired_lease_of_another_host_is_recovered(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "jobs.sqlite", lease_s=0.2)
    job_id = queue.enqueue("calcium", REF, {})
    far = "other-host:4242:abcd"
    queue.claim(far)
    queue.start(job_id, far)
    assert queue.recover() == []  # the lease still holds
    time.sleep(0.3)
    assert dict(queue.recover()) == {job_id: "requeued"}


def test_a_live_owner_keeps_its_jobs_by_heartbeat(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "jobs.sqlite", lease_s=0.3)
    job_id = queue.enqueue("calcium", REF, {})
    owner = new_owner()
    queue.claim(owner)
    queue.start(job_id, owner)
    for _ in range(4):
        time.sleep(0.15)
        queue.heartbeat(owner)
        assert queue.recover() == []
    assert queue.get(job_id).owner == owner


def _recover_in_process(path: str, start: multiprocessing.synchronize.Event, out: "multiprocessing.Queue[list]"
                        ) -> None:
    queue = JobQueue(path)
    start.wait(10)
    out.put(queue.recover())


def test_two_processes_recovering_at_once_requeue_a_job_once(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    queue = JobQueue(path)
    ids = [queue.enqueue("calcium", REF, {}) for _ in range(20)]
    dead = _dead_owner()
    queue.claim(dead, 20)
    for i in ids:
        queue.start(i, dead)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_recover_in_process, args=(str(path), start, out)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    actions = [a for _ in procs for a in out.get(timeout=60)]
    for p in procs:
        p.join(30)
    assert sorted(i for i, _ in actions) == ids  # each job once, whichever process got it
    assert all(queue.get(i).recoveries == 1 for i in ids)


def _claim_all(path: str, out: "multiprocessing.Queue[list]") -> None:
    queue = JobQueue(path)
    owner, got = new_owner(), []
    while True:
        jobs = queue.claim(owner, 3)
        if not jobs:
            break
        got += [j.id for j in jobs]
    out.put(got)


def test_workers_in_several_processes_never_take_the_same_job(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    queue = JobQueue(path)
    ids = [queue.enqueue("calcium", REF, {}) for _ in range(200)]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(path), out)) for _ in range(4)]
    for p in procs:
        p.start()
    taken = [i for _ in procs for i in out.get(timeout=60)]
    for p in procs:
        p.join(30)
    assert sorted(taken) == ids


def test_enqueue_for_a_router_checks_the_parameters(queue: JobQueue, tmp_path: Path) -> None:
    job_id = q.enqueue("calcium", REF, {"threshold_hu": 150}, queue=queue, out_dir=tmp_path)
    job = queue.get(job_id)
    assert job.origin == "routed" and job.priority == q.ROUTED and job.params["threshold_hu"] == 150.0
    assert job.out_dir == str(tmp_path)
    with pytest.raises(ValueError, match="unknown parameter"):
        q.enqueue("calcium", REF, {"no_such": 1}, queue=queue)
    with pytest.raises(KeyError, match="unknown analysis"):
        q.enqueue("no-such-analysis", REF, None, queue=queue)


def test_a_queue_file_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.sqlite"
    JobQueue(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {q.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer version"):
        JobQueue(path)
