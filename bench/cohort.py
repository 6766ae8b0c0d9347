"""A cohort of demo CTs run through the job queue: shared by ``bench_queue.py`` and ``multi_device.py``.

The cohort is ``N`` demo chest CTs (different noise seeds, the same placed lesions)
written once as DICOM into a cache folder and reused.  :func:`run_cohort` queues every
study for every analysis in a fresh queue file and works it with a
:class:`~workstation.jobs.dispatch.Dispatcher` (a Dask cluster's workers, or threads
of this process), returning the wall time and the rows as the queue recorded them.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from workstation.core.study import Study
from workstation.jobs.job_row import JobRow
from workstation.jobs.queue import JobQueue
from workstation.jobs.study_ref import StudyRef


def make_cohort(n: int, n_slices: int = 60, size: int = 512, root: Optional[Path] = None) -> list[Study]:
    """``n`` demo CT studies (written once under ``root``, default the temporary folder)."""
    from workstation.demo.chest_ct import write_chest_ct
    from workstation.io.dicom import scan

    root = root or Path(tempfile.gettempdir()) / f"workstation-bench-cohort-{size}x{n_slices}"
    for seed in range(n):
        folder = root / f"ct{seed:03d}"
        if not (folder / ".complete").exists():
            write_chest_ct(folder, seed=seed, n_slices=n_slices, size=size, pixel_mm=0.7 * 512 / size)
            (folder / ".complete").write_text("")
    studies = scan([root / f"ct{seed:03d}" for seed in range(n)]).studies
    assert len(studies) == n, f"{len(studies)} studies found in {root}, {n} expected"
    return sorted(studies, key=lambda s: s.uid)


@dataclass
class CohortRun:
    """What one pass over the cohort did."""

    wall_s: float
    rows: list[JobRow]
    out: Path
    busy: dict[int, float] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(r.state == "done" for r in self.rows)

    def split(self) -> dict[str, float]:
        """Seconds of decode, compute and write, summed over the jobs."""
        total: dict[str, float] = {}
        for r in self.rows:
            for k, v in r.timings.items():
                total[k] = total.get(k, 0.0) + float(v)
        return total

    def per_worker(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.worker] = counts.get(r.worker, 0) + 1
        return dict(sorted(counts.items()))


def run_cohort(studies: Sequence[Study], analyses: Sequence[str], work: Path, executor: Any, *,
               device: str = "auto", monitor: Any = None, prefetch: int = 0,
               during: Optional[Callable[[JobQueue], None]] = None) -> CohortRun:
    """Queue every study for every analysis and work the queue with ``executor``.

    ``during(queue)`` runs in a thread meanwhile (the multi-device check kills a worker
    from it); ``monitor`` (a started :class:`~workstation.compute.devices.DeviceMonitor`)
    gives the GPUs' busy share over the run.
    """
    from workstation.jobs.dispatch import Dispatcher

    work.mkdir(parents=True, exist_ok=True)
    queue = JobQueue(work / "jobs.sqlite")
    out = work / "out"
    for study in studies:
        for name in analyses:
            queue.enqueue(name, StudyRef.of(study), {}, device=device, out_dir=out)
    side = threading.Thread(target=during, args=(queue,), daemon=True) if during is not None else None
    start_epoch, t0 = time.time(), time.perf_counter()
    if side is not None:
        side.start()
    Dispatcher(queue, executor, prefetch=prefetch).run()
    wall = time.perf_counter() - t0
    if side is not None:
        side.join(60)
    busy = monitor.busy_share(since=start_epoch) if monitor is not None else {}
    return CohortRun(wall, queue.jobs(limit=10**6), out, busy)


def records(out: Path) -> dict[str, Any]:
    """Every result record under ``out`` without what differs between runs (time made)."""
    found: dict[str, Any] = {}
    for path in sorted(out.glob("*/*.json")):
        if path.name.endswith(".manifest.json"):
            continue
        data = json.loads(path.read_text())
        data.get("provenance", {}).pop("created_utc", None)
        data.pop("timings_s", None)
        data.pop("device", None)
        data.get("provenance", {}).pop("device", None)
        found[f"{path.parent.name}/{path.name}"] = data
    return found


def differences(a: Path, b: Path) -> list[str]:
    """Result files that differ between two output folders (empty when identical)."""
    ra, rb = records(a), records(b)
    return sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
