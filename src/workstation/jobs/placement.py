"""Where a job may run: its memory estimate against each GPU's budget (pure functions).

A GPU's *budget* is the memory jobs may reserve on it at once: :data:`FILL` of its
total memory less what others use while none of our jobs holds any
(:mod:`workstation.jobs.gpu_ledger` measures that and keeps the reservations).  A job
is placed on the healthy GPU with the most room left for its estimate
(``estimate_memory`` of its analysis); when none has room now but one could hold it,
it waits; when no GPU could ever hold it, it runs on the CPU and the reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

#: Share of a GPU's memory jobs may reserve (the rest: CUDA contexts, fragmentation,
#: libraries' workspaces that analyses do not count).
FILL = 0.9


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


@dataclass(frozen=True)
class DeviceBudget:
    """One GPU as placement sees it: ``key`` identifies it across processes (its UUID),
    ``index`` is its CUDA index in this process."""

    key: str
    index: int
    budget: int
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.budget - self.reserved


@dataclass(frozen=True)
class Placement:
    """``device`` to run on now; else ``wait`` (a GPU could take it later) or the CPU (``reason``)."""

    device: Optional[DeviceBudget]
    wait: bool = False
    reason: str = ""


def budget_from(total: int, used_while_idle: int, fill: float = FILL) -> int:
    """The budget of a GPU with ``total`` bytes of which others use ``used_while_idle``."""
    return max(0, int(fill * total) - int(used_while_idle))


def place(estimate: int, devices: Sequence[DeviceBudget]) -> Placement:
    """Choose a device for a job needing ``estimate`` bytes (never beyond a budget)."""
    estimate = max(int(estimate), 0)
    fits = [d for d in devices if d.available >= estimate]
    if fits:
        return Placement(max(fits, key=lambda d: (d.available, -d.index)))
    if any(d.budget >= estimate for d in devices):
        return Placement(None, wait=True, reason="waiting for GPU memory")
    if not devices:
        return Placement(None, reason="no GPU in rotation")
    largest = max(devices, key=lambda d: d.budget)
    return Placement(None, reason=f"it needs {gib(estimate)} of GPU memory; cuda:{largest.index} can hold "
                                  f"{gib(largest.budget)}: ran on the CPU")


def workers_per_device(budget: int, estimate: int, cap: int) -> int:
    """Worker processes one GPU can keep busy at once: as many as budgets of ``estimate``
    fit, at least one, at most ``cap`` (CPU cores for decoding and writing)."""
    if estimate <= 0:
        return max(1, cap)
    return max(1, min(int(cap), int(budget // estimate)))
