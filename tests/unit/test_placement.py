"""Placement by memory estimate: never beyond a GPU's budget, on simulated devices.

The devices are simulated (a budget each); the ledger is the real one, shared by
threads and by separate processes as worker processes share it.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.jobs.gpu_ledger import GpuLedger, LedgerDevice
from workstation.jobs.placement import DeviceBudget, budget_from, place, workers_per_device

GIB = 2**30


def test_place_prefers_the_device_with_most_room_waits_or_says_why_not() -> None:
    a, b = DeviceBudget("a", 0, 10 * GIB, 6 * GIB), DeviceBudget("b", 1, 8 * GIB, 1 * GIB)
    assert place(3 * GIB, [a, b]).device == b
    assert place(7 * GIB, [a, b]).device == b
    waiting = place(9 * GIB, [a, b])
    assert waiting.device is None and waiting.wait
    never = place(11 * GIB, [a, b])
    assert never.device is None and not never.wait and "11.0 GiB" in never.reason and "10.0 GiB" in never.reason
    assert "no GPU" in place(1, []).reason


def test_workers_per_device_counts_estimates_that_fit() -> None:
    assert workers_per_device(budget_from(80 * GIB, 2 * GIB), 10 * GIB, cap=16) == 7  # 0.9*80-2 = 70 GiB
    assert workers_per_device(4 * GIB, 10 * GIB, cap=16) == 1  # at least one
    assert workers_per_device(100 * GIB, 1 * GIB, cap=4) == 4  # no more than the cores
    assert workers_per_device(100 * GIB, 0, cap=3) == 3


@settings(max_examples=60, deadline=None)
@given(budgets=st.lists(st.integers(1, 64), min_size=1, max_size=3),
       jobs=st.lists(st.tuples(st.integers(1, 80), st.booleans()), min_size=1, max_size=40))
def test_granted_reservations_never_exceed_any_budget(budgets: list[int], jobs: list[tuple[int, bool]],
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:
    ledger = GpuLedger(tmp_path_factory.mktemp("ledger") / "ledger.sqlite")
    devices = [LedgerDevice(f"gpu{i}", i, lambda b=b: b * GIB) for i, b in enumerate(budgets)]
    held = []
    for size, release_one in jobs:
        reservation, choice = ledger.try_reserve(devices, size * GIB)
        if reservation is not None:
            held.append(reservation)
        else:
            assert choice.wait == any(size <= b for b in budgets)
        for key, total in ledger.held().items():
            assert total <= budgets[int(key[3:])] * GIB
        if release_one and held:
            held.pop(0).release()


def test_threads_waiting_for_memory_never_overcommit(tmp_path: Path) -> None:
    ledger = GpuLedger(tmp_path / "ledger.sqlite")
    devices = [LedgerDevice("sim0", 0, lambda: 10 * GIB), LedgerDevice("sim1", 1, lambda: 6 * GIB)]
    peaks: list[dict[str, int]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peaks.append(ledger.held())

    def job(seed: int) -> str:
        rng = random.Random(seed)
        reservation, _ = ledger.reserve(devices, rng.randint(1, 6) * GIB, str(seed), poll_s=0.005)
        assert reservation is not None
        time.sleep(rng.uniform(0.0, 0.02))
        key = reservation.device.key
        reservation.release()
        return key

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads, used = [], []
    for seed in range(24):
        t = threading.Thread(target=lambda s=seed: used.append(job(s)))
        threads.append(t)
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    watcher.join()
    assert len(used) == 24 and {"sim0", "sim1"} <= set(used)
    assert max(p.get("sim0", 0) for p in peaks) <= 10 * GIB
    assert max(p.get("sim1", 0) for p in peaks) <= 6 * GIB
    assert ledger.held() == {}


def _worker_process(path: str, seed: int, out: "multiprocessing.Queue[list]") -> None:
    ledger = GpuLedger(path)
    devices = [LedgerDevice("sim", 0, lambda: 8 * GIB)]
    rng = random.Random(seed)
    intervals = []
    for _ in range(6):
        size = rng.randint(1, 5) * GIB
        reservation, _ = ledger.reserve(devices, size, poll_s=0.005)
        assert reservation is not None
        start = time.monotonic()
        time.sleep(rng.uniform(0.005, 0.03))
        intervals.append((start, time.monotonic(), size))
        reservation.release()
    out.put(intervals)


def test_worker_processes_sharing_a_gpu_stay_within_its_budget(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker_process, args=(path, seed, out)) for seed in range(4)]
    for p in procs:
        p.start()
    intervals = [iv for _ in procs for iv in out.get(timeout=120)]
    for p in procs:
        p.join(30)
    assert len(intervals) == 24
    # the memory held at each moment one of the jobs started (when the sum can be highest)
    starts = np.array([s for s, _, _ in intervals])
    held = [sum(size for s, e, size in intervals if s <= t < e) for t in starts]
    assert max(held) <= 8 * GIB
    assert max(held) > 5 * GIB  # jobs did share the device


def test_reservations_of_a_dead_process_are_dropped_and_the_budget_measured_again(tmp_path: Path) -> None:
    import sqlite3
    import subprocess
    import sys

    ledger = GpuLedger(tmp_path / "ledger.sqlite")
    free = [8 * GIB]
    devices = [LedgerDevice("sim", 0, lambda: free[0])]
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    db = sqlite3.connect(ledger.path)
    db.execute("INSERT INTO reservations (device, pid, job, bytes, since) VALUES ('sim', ?, 'x', ?, 0)",
               (dead, 7 * GIB))
    db.execute("INSERT INTO budgets (device, budget, measured) VALUES ('sim', ?, 0)", (8 * GIB,))
    db.commit()
    db.close()
    free[0] = 3 * GIB  # someone else took memory meanwhile
    reservation, choice = ledger.try_reserve(devices, 4 * GIB)
    assert reservation is None and not choice.wait and "3.0 GiB" in choice.reason  # measured again: 3 GiB
    reservation, _ = ledger.try_reserve(devices, 2 * GIB)
    assert reservation is not None and ledger.held() == {"sim": 2 * GIB}
    free[0] = 1 * GIB  # measured only while idle: the job holding memory keeps the budget it was given
    second, _ = ledger.try_reserve(devices, 1 * GIB)
    assert second is not None
    reservation.release()
    second.release()


def test_the_gate_runs_a_job_too_big_for_every_gpu_on_the_cpu(tmp_path: Path) -> None:
    from workstation.compute import health as dev
    from workstation.jobs.job_exec import GpuGate, JobSpec
    from workstation.jobs.study_ref import StudyRef

    class Reporter:
        notes: list[str] = []

        def progress(self, fraction: float, message: str) -> None:
            pass

        def note(self, kind: str, message: str) -> None:
            self.notes.append(message)

    class Analysis:
        @staticmethod
        def estimate_memory(inputs: object, params: object, backend: object) -> int:
            return 64 * GIB

    spec = JobSpec(1, "calcium", StudyRef("1", ()), {}, str(tmp_path))
    healthy = dev.Rotation(lambda i: dev.Health(f"cuda:{i}", True, "", 0.0))
    sick = dev.Rotation(lambda i: dev.Health(f"cuda:{i}", False, "the kernel's result differs", 0.0))
    simulated = [LedgerDevice("sim", 0, lambda: 8 * GIB)]
    for rotation, expected in ((healthy, "it needs 64.0 GiB"), (sick, "no GPU passed its health check")):
        gate = GpuGate(spec, Reporter(), GpuLedger(tmp_path / "l.sqlite"), simulated, rotation)  # type: ignore[arg-type]
        with gate(Analysis(), None, None) as backend:
            assert not backend.is_gpu
        assert any(expected in n for n in gate.notes), gate.notes
    assert any("taken out of rotation" in n and "differs" in n for n in Reporter.notes)
