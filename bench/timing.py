"""Timing helpers shared by the benches (imported from the bench/ folder, the scripts' own).

``best_of`` keeps the fastest of ``repeat`` runs, ``median_of`` their median (after one
untimed warm-up run unless told otherwise); ``sync`` waits for queued GPU work, so that
asynchronous kernels are timed to their end.  ``gpu_or_none`` is the first CUDA device,
or ``None`` where there is none (the GPU columns are then skipped).
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Optional

from workstation.compute.backend import Backend, GpuError, _cuda_backend


def _no_sync() -> None:
    """Nothing to wait for (CPU work)."""


def best_of(fn: Callable[[], Any], repeat: int, sync: Optional[Callable[[], None]] = None) -> tuple[float, Any]:
    """(fastest wall time in s, the last result) of ``repeat`` calls of ``fn``."""
    wait = sync or _no_sync
    best, out = float("inf"), None
    for _ in range(repeat):
        wait()
        t0 = time.perf_counter()
        out = fn()
        wait()
        best = min(best, time.perf_counter() - t0)
    return best, out


def median_of(fn: Callable[[], Any], repeat: int, sync: Callable[[], None] = _no_sync,
              warmup: bool = True) -> tuple[float, Any]:
    """(median wall time in s, the last result) of ``repeat`` calls of ``fn``, after one untimed
    warm-up call (kernel compilation, caches) when ``warmup``."""
    out = None
    if warmup:
        out = fn()
        sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def gpu_or_none(say: bool = False) -> Optional[Backend]:
    """The first CUDA device, or ``None`` (printing why when ``say``)."""
    try:
        return _cuda_backend(0)
    except GpuError as exc:
        if say:
            print(f"(GPU columns skipped: {exc})\n")
        return None
