"""GPU memory reservations shared by every process of this host that runs jobs.

Several worker processes (and the desktop application) may share one GPU.  Before a
job runs there it reserves its estimated bytes in this ledger, a small SQLite file on
a local disk (``$XDG_RUNTIME_DIR`` or the temporary folder; one per user), and gives
them back when its computation ends.  A reservation is granted only while the sum of
reservations stays within the device's budget (:mod:`workstation.jobs.placement`),
so jobs never over-commit a GPU whichever process runs them.  Rows of processes that
no longer run are dropped; each device's budget is measured again whenever none of its
reservations is held (so memory others took meanwhile is seen).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from workstation.core.crash import process_alive
from workstation.jobs.placement import DeviceBudget, Placement, place

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, pid INTEGER NOT NULL, job TEXT NOT NULL,
    bytes INTEGER NOT NULL, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS budgets (device TEXT PRIMARY KEY, budget INTEGER NOT NULL, measured REAL NOT NULL);
"""


def default_path() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"workstation-gpu-ledger-{os.getuid() if hasattr(os, 'getuid') else 0}.sqlite"


@dataclass(frozen=True)
class LedgerDevice:
    """A GPU the caller may use: ``key`` (UUID), CUDA ``index`` in this process, and
    ``measure()``, its budget in bytes while none of our jobs holds memory there."""

    key: str
    index: int
    measure: Callable[[], int]


class Reservation:
    """Bytes held on one device until :meth:`release` (or the end of a ``with`` block)."""

    def __init__(self, ledger: "GpuLedger", row: int, device: DeviceBudget, nbytes: int) -> None:
        self.ledger, self.row, self.device, self.nbytes = ledger, row, device, nbytes

    def release(self) -> None:
        if self.row:
            with self.ledger._transaction() as db:
                db.execute("DELETE FROM reservations WHERE id = ?", (self.row,))
            self.row = 0

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class GpuLedger:
    """The host's reservations (see the module docstring)."""

    def __init__(self, path: Optional[str | Path] = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = OFF")  # reservations matter only while their processes live
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
            self.db.close()

    def _transaction(self) -> "GpuLedger._Tx":
        return GpuLedger._Tx(self._connect())

    def try_reserve(self, devices: Sequence[LedgerDevice], estimate: int, job: str = "") -> tuple[
            Optional[Reservation], Placement]:
        """One attempt: a reservation on the best device, or ``None`` and why (wait or CPU)."""
        with self._transaction() as db:
            for (pid,) in db.execute("SELECT DISTINCT pid FROM reservations").fetchall():
                if pid != os.getpid() and not process_alive(pid):
                    db.execute("DELETE FROM reservations WHERE pid = ?", (pid,))
            budgets = [self._budget(db, d) for d in devices]
            choice = place(estimate, budgets)
            if choice.device is None:
                return None, choice
            cur = db.execute("INSERT INTO reservations (device, pid, job, bytes, since) VALUES (?, ?, ?, ?, ?)",
                             (choice.device.key, os.getpid(), job, int(estimate), time.time()))
            return Reservation(self, int(cur.lastrowid or 0), choice.device, int(estimate)), choice

    def _budget(self, db: sqlite3.Connection, device: LedgerDevice) -> DeviceBudget:
        reserved = int(db.execute("SELECT COALESCE(SUM(bytes), 0) FROM reservations WHERE device = ?",
                                  (device.key,)).fetchone()[0])
        row = db.execute("SELECT budget FROM budgets WHERE device = ?", (device.key,)).fetchone()
        if row is None or reserved == 0:  # nothing of ours there: what is used belongs to others
            budget = int(device.measure())
            db.execute("INSERT OR REPLACE INTO budgets (device, budget, measured) VALUES (?, ?, ?)",
                       (device.key, budget, time.time()))
        else:
            budget = int(row[0])
        return DeviceBudget(device.key, device.index, budget, reserved)

    def reserve(self, devices: Sequence[LedgerDevice], estimate: int, job: str = "", *,
                poll_s: float = 0.2, timeout_s: Optional[float] = None,
                waiting: Optional[Callable[[str], None]] = None) -> tuple[Optional[Reservation], Placement]:
        """Reserve ``estimate`` bytes, waiting while a device could take it later.

        ``waiting(reason)`` is called on each wait (a job's progress callback, which may
        raise to cancel).  Returns ``(None, placement)`` when the job must run on the
        CPU, or when ``timeout_s`` passed.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            reservation, choice = self.try_reserve(devices, estimate, job)
            if reservation is not None or not choice.wait:
                return reservation, choice
            if deadline is not None and time.monotonic() > deadline:
                return None, Placement(None, reason=f"no GPU memory came free in {timeout_s:.0f} s: ran on the CPU")
            if waiting is not None:
                waiting(choice.reason)
            time.sleep(poll_s)

    def held(self) -> dict[str, int]:
        """Bytes reserved now, per device."""
        with self._transaction() as db:
            return {k: int(v) for k, v in db.execute(
                "SELECT device, SUM(bytes) FROM reservations GROUP BY device").fetchall()}
