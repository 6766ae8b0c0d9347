"""The persistent job queue: one SQLite row per job, in the user's data folder.

Every job (analysis, study, parameters, device, state, progress, timings, error) is a
row of ``<data>/workstation/jobs.sqlite`` (``WORKSTATION_QUEUE`` names another file; it
must be on a local disk, as SQLite's locking asks), so the queue outlives the
application.  States::

    queued -> running -> done | failed | cancelled

A process that takes jobs holds a *lease* on them: the row names its owner
(``host:pid:token``) and a time until which the lease holds; the owner renews it with
:meth:`JobQueue.heartbeat` every few seconds.  :meth:`JobQueue.recover` gives back the
jobs of owners that are gone (a process of this host that no longer runs, or a lease
not renewed in time): a job that had started is re-queued once per loss and fails
after :data:`MAX_RECOVERIES` (a job that kills its worker every time must not loop),
a job that had only been taken goes back untouched.  Every change is one transaction,
so two processes recovering at once re-queue a job once, never twice.

Priorities: higher first (:data:`INTERACTIVE` jobs of the open study before
:data:`ROUTED` ones, e.g. from a PACS router, before :data:`BATCH`), then oldest first.
A job that met a CUDA fault is re-queued :data:`~.job_row.GPU_RETRIES` times before its next run
may fall back to the CPU.  No Qt here: the batch command, the desktop application and
a PACS router share it (:func:`enqueue`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from workstation.core.crash import process_alive
from workstation.core.paths import data_dir
from workstation.jobs.job_row import JobRow
from workstation.jobs.study_ref import StudyRef

QUEUE_VAR = "WORKSTATION_QUEUE"
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
INTERACTIVE, ROUTED, BATCH = 100, 10, 0
#: Seconds a lease holds without a heartbeat (owners renew every :data:`HEARTBEAT_S`).
LEASE_S = 30.0
HEARTBEAT_S = 5.0
MAX_RECOVERIES = 2
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    analysis TEXT NOT NULL,
    title TEXT NOT NULL,
    study_uid TEXT NOT NULL DEFAULT '',
    study_ref TEXT NOT NULL DEFAULT '{}',
    params TEXT NOT NULL DEFAULT '{}',
    out_dir TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT 'batch',
    priority INTEGER NOT NULL DEFAULT 0,
    device TEXT NOT NULL DEFAULT 'auto',
    state TEXT NOT NULL DEFAULT 'queued',
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    used_device TEXT NOT NULL DEFAULT '',
    worker TEXT NOT NULL DEFAULT '',
    owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    gpu_faults INTEGER NOT NULL DEFAULT 0,
    recoveries INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    timings TEXT NOT NULL DEFAULT '{}',
    files TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, priority DESC, id);
"""


def default_path() -> Path:
    """``$WORKSTATION_QUEUE`` or ``<data>/workstation/jobs.sqlite``."""
    override = os.environ.get(QUEUE_VAR, "")
    return Path(override).expanduser() if override else data_dir() / "jobs.sqlite"


def default_results_dir() -> Path:
    """Where jobs without an output folder of their own write (``<data>/workstation/results``)."""
    return data_dir() / "results"


def _host() -> str:
    return socket.gethostname() or "host"


def new_owner() -> str:
    """``host:pid:token`` naming this process as a lease holder (the token tells apart
    two processes that got the same PID)."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_gone(owner: str) -> bool:
    """Whether ``owner`` is a process of this host that no longer runs (others: unknown, False)."""
    parts = owner.split(":")
    if len(parts) < 3 or not parts[-2].isdigit():
        return False
    return ":".join(parts[:-2]) == _host() and not process_alive(int(parts[-2]))


class JobQueue:
    """The queue in one SQLite file; safe to use from several threads and processes.

    Each thread gets its own connection; every method is one short transaction
    (``BEGIN IMMEDIATE`` where it reads before writing).
    """

    def __init__(self, path: Optional[str | Path] = None, *, lease_s: float = LEASE_S) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.lease_s = lease_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        db = self._db()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer version (schema {version})")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._light_columns = ", ".join(f"'{{}}' AS {c}" if c in ("study_ref", "params") else c
                                        for c in (r[1] for r in db.execute("PRAGMA table_info(jobs)")))

    # -- connections ----------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: Optional[sqlite3.Connection] = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for the writer
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses nothing committed
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened (call when no thread uses it any more)."""
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # -- adding ---------------------------------------------------------------------
    def enqueue(self, analysis: str, study_ref: Optional[StudyRef], params: Optional[Mapping[str, Any]] = None,
                priority: int = BATCH, device: str = "auto", *, out_dir: str | Path = "",
                title: str = "", origin: str = "batch") -> int:
        """Add a queued job; returns its id.  ``params`` as the analysis's ``Params.to_json()``;
        results go to ``out_dir`` (default :func:`default_results_dir`)."""
        uid = study_ref.uid if study_ref is not None else ""
        out_dir = out_dir or default_results_dir()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO jobs (analysis, title, study_uid, study_ref, params, out_dir, origin, priority, device,"
                " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (analysis, title or f"{analysis} {uid}".strip(), uid,
                 json.dumps(study_ref.to_json() if study_ref is not None else {}), json.dumps(dict(params or {})),
                 str(out_dir), origin, int(priority), device, time.time()))
            return int(cur.lastrowid or 0)

    def add_running(self, title: str, owner: str, *, analysis: str = "", study_uid: str = "", device: str = "",
                    priority: int = INTERACTIVE, origin: str = "app") -> int:
        """A job the ``owner`` process runs itself (an interactive job of the open study)."""
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO jobs (analysis, title, study_uid, origin, priority, device, state, owner, lease_until,"
                " attempts, created, started) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, 1, ?, ?)",
                (analysis or "interactive", title, study_uid, origin, int(priority), device or "auto", owner,
                 now + self.lease_s, now, now))
            return int(cur.lastrowid or 0)

    # -- taking and running ---------------------------------------------------------
    def claim(self, owner: str, limit: int = 1, *, origins: Optional[Sequence[str]] = None) -> list[JobRow]:
        """Take up to ``limit`` queued jobs (highest priority, then oldest) under ``owner``'s lease."""
        where = "state = 'queued' AND owner IS NULL AND cancel_requested = 0"
        args: list[Any] = []
        if origins:
            where += f" AND origin IN ({', '.join('?' * len(origins))})"
            args += list(origins)
        with self._write() as db:
            rows = db.execute(f"SELECT id FROM jobs WHERE {where} ORDER BY priority DESC, id LIMIT ?",
                              (*args, int(limit))).fetchall()
            ids = [r["id"] for r in rows]
            if ids:
                db.execute(f"UPDATE jobs SET owner = ?, lease_until = ? WHERE id IN ({', '.join('?' * len(ids))})",
                           (owner, time.time() + self.lease_s, *ids))
        return [job for job in (self.get(i) for i in ids) if job is not None]

    def start(self, job_id: int, owner: str, *, worker: str = "", device: str = "") -> bool:
        """Mark a taken job running (one more attempt); False when it is not ``owner``'s
        any more or was cancelled meanwhile."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'running', started = ?, finished = NULL, attempts = attempts + 1,"
                " worker = ?, used_device = ?, progress = 0, lease_until = ? WHERE id = ? AND owner = ?"
                " AND state IN ('queued', 'running') AND cancel_requested = 0",
                (time.time(), worker, device, time.time() + self.lease_s, job_id, owner))
            return cur.rowcount == 1

    def set_progress(self, job_id: int, fraction: float, message: str = "", *, owner: Optional[str] = None) -> None:
        """Record progress (``owner``: only while the job is still that owner's)."""
        sql = "UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND state = 'running'"
        args: tuple[Any, ...] = (min(max(float(fraction), 0.0), 1.0), message, job_id)
        if owner is not None:
            sql, args = sql + " AND owner = ?", args + (owner,)
        with self._write() as db:
            db.execute(sql, args)

    def heartbeat(self, owner: str) -> set[int]:
        """Renew ``owner``'s leases; returns the ids of its jobs whose cancel was asked for."""
        with self._write() as db:
            db.execute("UPDATE jobs SET lease_until = ? WHERE owner = ?", (time.time() + self.lease_s, owner))
            rows = db.execute("SELECT id FROM jobs WHERE owner = ? AND cancel_requested = 1", (owner,)).fetchall()
        return {r["id"] for r in rows}

    def finish(self, job_id: int, owner: str, state: str, *, message: str = "", error: str = "",
               used_device: str = "", files: Iterable[str] = (), timings: Optional[Mapping[str, float]] = None
               ) -> bool:
        """End ``owner``'s job as ``done``, ``failed`` or ``cancelled``; False if it is not theirs."""
        if state not in FINISHED:
            raise ValueError(f"a job ends as one of {', '.join(FINISHED)}, not {state!r}")
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, message = ?, error = ?, used_device = CASE WHEN ? = '' THEN used_device"
                " ELSE ? END, files = ?, timings = ?, finished = ?, owner = NULL, lease_until = NULL,"
                " progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END WHERE id = ? AND owner = ?",
                (state, message, error, used_device, used_device, json.dumps(list(files)),
                 json.dumps(dict(timings or {})), time.time(), state, job_id, owner))
            return cur.rowcount == 1

    def release(self, job_id: int, owner: str, *, message: str = "", gpu_fault: bool = False) -> bool:
        """Give a job back to the queue (shutting down, or after a CUDA fault: ``gpu_fault``)."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL, progress = 0, message = ?,"
                " gpu_faults = gpu_faults + ? WHERE id = ? AND owner = ? AND state IN ('queued', 'running')",
                (message, int(gpu_fault), job_id, owner))
            return cur.rowcount == 1

    # -- the user's commands --------------------------------------------------------
    def cancel(self, ids: Iterable[int]) -> int:
        """Cancel jobs: queued ones at once, running ones at their owner's next heartbeat."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        with self._write() as db:
            now = time.time()
            n = db.execute(f"UPDATE jobs SET state = 'cancelled', finished = ?, owner = NULL, lease_until = NULL"
                           f" WHERE id IN ({marks}) AND state = 'queued'", (now, *ids)).rowcount
            n += db.execute(f"UPDATE jobs SET cancel_requested = 1 WHERE id IN ({marks}) AND state = 'running'",
                            ids).rowcount
        return int(n)

    def retry(self, ids: Iterable[int]) -> int:
        """Queue finished jobs again (re-run: a failed, cancelled or done job starts afresh)."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        with self._write() as db:
            return int(db.execute(
                f"UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL, progress = 0, message = '',"
                f" error = '', attempts = 0, gpu_faults = 0, recoveries = 0, cancel_requested = 0, started = NULL,"
                f" finished = NULL WHERE id IN ({', '.join('?' * len(ids))}) AND state IN ('done', 'failed',"
                f" 'cancelled') AND study_ref != '{{}}'", ids).rowcount)

    def recover(self) -> list[tuple[int, str]]:
        """Give back the jobs of owners that are gone; returns ``(id, what was done)``."""
        now = time.time()
        actions: list[tuple[int, str]] = []
        with self._write() as db:
            rows = db.execute("SELECT id, state, owner, lease_until, recoveries, origin, study_ref FROM jobs"
                              " WHERE owner IS NOT NULL").fetchall()
            for r in rows:
                if not ((r["lease_until"] or 0) < now or owner_gone(r["owner"])):
                    continue
                gone = f"its worker ({_describe_owner(r['owner'])}) stopped"
                if r["state"] == "queued":
                    db.execute("UPDATE jobs SET owner = NULL, lease_until = NULL WHERE id = ?", (r["id"],))
                    actions.append((r["id"], "released"))
                elif r["study_ref"] == "{}":  # nothing to run again: an interactive job of a closed window
                    db.execute("UPDATE jobs SET state = 'failed', owner = NULL, lease_until = NULL, finished = ?,"
                               " error = ? WHERE id = ?", (now, f"interrupted: {gone} while it ran", r["id"]))
                    actions.append((r["id"], "failed"))
                elif r["recoveries"] >= MAX_RECOVERIES:
                    db.execute("UPDATE jobs SET state = 'failed', owner = NULL, lease_until = NULL, finished = ?,"
                               " error = ? WHERE id = ?",
                               (now, f"{gone} {r['recoveries'] + 1} times while running it", r["id"]))
                    actions.append((r["id"], "failed"))
                else:
                    db.execute("UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL, progress = 0,"
                               " recoveries = recoveries + 1, message = ? WHERE id = ?",
                               (f"re-queued: {gone} while it ran", r["id"]))
                    actions.append((r["id"], "requeued"))
        return actions

    def remove_finished(self, older_than_s: float = 0.0) -> int:
        """Delete finished jobs that ended more than ``older_than_s`` ago."""
        with self._write() as db:
            return int(db.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished < ?",
                (time.time() - older_than_s,)).rowcount)

    # -- reading --------------------------------------------------------------------
    def get(self, job_id: int) -> Optional[JobRow]:
        row = self._db().execute("SELECT * FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        return JobRow.from_row(row) if row is not None else None

    def jobs(self, states: Optional[Sequence[str]] = None, *, limit: int = 500,
             ids: Optional[Sequence[int]] = None, light: bool = False) -> list[JobRow]:
        """Jobs, running first, then queued by priority, then finished (newest first).

        ``light``: without their study references and parameters (a view refreshed every
        second needs neither, and a study reference lists every file).
        """
        where: list[str] = []
        args: list[Any] = []
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += list(states)
        if ids is not None:
            where.append(f"id IN ({', '.join('?' * len(ids)) or 'NULL'})")
            args += [int(i) for i in ids]
        columns = self._light_columns if light else "*"
        sql = (f"SELECT {columns} FROM jobs" + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY CASE state WHEN 'running' THEN 0 WHEN 'queued' THEN 1 ELSE 2 END,"
               " CASE WHEN state IN ('queued', 'running') THEN -priority ELSE 0 END,"
               " CASE WHEN state IN ('queued', 'running') THEN id ELSE -id END LIMIT ?")
        return [JobRow.from_row(r) for r in self._db().execute(sql, (*args, int(limit))).fetchall()]

    def counts(self) -> dict[str, int]:
        """Jobs per state (every state present, zero where none)."""
        found = dict(self._db().execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        return {s: int(found.get(s, 0)) for s in STATES}

    def pending(self) -> int:
        """Jobs queued or running."""
        row = self._db().execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()
        return int(row[0])


def open_queue() -> Optional[JobQueue]:
    """The user's queue, or ``None`` (logged) when its file cannot be opened or written."""
    import logging

    try:
        return JobQueue()
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        logging.getLogger(__name__).warning("the job queue %s cannot be used: %s", default_path(), exc)
        return None


def _describe_owner(owner: str) -> str:
    parts = owner.split(":")
    return f"process {parts[-2]} on {':'.join(parts[:-2])}" if len(parts) >= 3 else owner


def enqueue(analysis: str, study_ref: StudyRef, params: Any = None, priority: int = ROUTED, device: str = "auto",
            *, out_dir: Optional[str | Path] = None, queue: Optional[JobQueue] = None) -> int:
    """Queue ``analysis`` on a study for the workers (what a PACS routing rule calls).

    ``params``: the analysis's ``Params`` (or its ``to_json()`` dict; ``None`` for the
    defaults), checked here so a bad rule fails when it is made, not in a worker.
    Results go to ``out_dir`` (default :func:`default_results_dir`) as ``workstation-batch
    run`` writes them.  Returns the job id.
    """
    from workstation.analyses import get  # the registry sits above jobs; see pyproject

    entry = get(analysis)
    if params is None:
        values: Mapping[str, Any] = entry.default_params().to_json()
    elif isinstance(params, Mapping):
        values = entry.params_type.from_json(params).to_json()
    else:
        values = params.to_json()
    target = Path(out_dir) if out_dir is not None else default_results_dir()
    return (queue or JobQueue()).enqueue(analysis, study_ref, values, priority, device, out_dir=target,
                                         origin="routed" if priority == ROUTED else "batch")
