"""Job queue throughput: a cohort of demo CTs (calcium + segmentation) with 1 worker vs as many as fit.

Prints, per worker count: studies per minute, wall time, the split of job time into
decode / compute / write, the GPUs' busy share from the monitor's one-second samples,
and whether the results equal those of the single worker.  Then the queue's overhead
per job: SQLite alone (enqueue, take, start, four progress reports, finish), the
dispatcher with a no-op job in a thread, the dispatcher with a no-op Dask task, and
the peer library huey (SQLite storage: enqueue, dequeue, execute) where installed.

The worker counts: 1, and the count :func:`workstation.jobs.cluster.plan_local`
gives for this machine (on a GPU: as many per GPU as the first job's memory estimate
fits, at most the cores; on the CPU: the cores, at most 4), unless ``--workers`` says.

Run: ``python bench/bench_queue.py [--studies 50] [--analyses calcium,segmentation]
[--device cpu|auto] [--slices 60] [--size 512] [--workers 1,6] [--executor dask|threads]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from cohort import CohortRun, differences, make_cohort, run_cohort

from workstation.compute.devices import DeviceMonitor, format_table, sample_devices
from workstation.jobs import cluster
from workstation.jobs.dask_exec import DaskExecutor
from workstation.jobs.dispatch import Dispatcher, InlineExecutor
from workstation.jobs.execute import StudyOutcome
from workstation.jobs.job_exec import JobResult, JobSpec
from workstation.jobs.queue import JobQueue, new_owner
from workstation.jobs.study_ref import StudyRef

REF = StudyRef("1.2.3", ())
#: Jobs handed to the executor ahead of those running (as `queue work` does on a cluster).
PIPELINE = 8


def _noop(spec: JobSpec, reporter: Any) -> JobResult:
    reporter.started("w", "")
    for i in range(4):
        reporter.progress(i / 4, "")
    return JobResult(spec.id, StudyOutcome("1.2.3", True, 0.0, "cpu"))


def _noop_task(spec: JobSpec, cancel_name: str) -> JobResult:
    from distributed import get_worker

    get_worker().log_event("workstation-jobs", {"job": spec.id, "kind": "started", "name": "w"})
    return JobResult(spec.id, StudyOutcome("1.2.3", True, 0.0, "cpu"))


def sqlite_ms(n: int, folder: Path) -> tuple[float, float]:
    """ms per job: enqueue; then take + start + 4 progress writes + finish."""
    queue = JobQueue(folder / "overhead.sqlite")
    t0 = time.perf_counter()
    ids = [queue.enqueue("calcium", REF, {}) for _ in range(n)]
    enqueue = (time.perf_counter() - t0) / n * 1e3
    owner = new_owner()
    t0 = time.perf_counter()
    for job_id in ids:
        queue.claim(owner, 1)
        queue.start(job_id, owner)
        for i in range(4):
            queue.set_progress(job_id, i / 4, "", owner=owner)
        queue.finish(job_id, owner, "done")
    return enqueue, (time.perf_counter() - t0) / n * 1e3


def dispatcher_ms(n: int, folder: Path, executor: Any) -> tuple[float, float]:
    """ms per no-op job through the dispatcher and ``executor`` (all jobs queued first):
    wall time, and CPU time of this process (the dispatcher and its client)."""
    queue = JobQueue(folder / f"dispatch-{id(executor)}.sqlite")
    for _ in range(n):
        queue.enqueue("calcium", REF, {})
    t0, c0 = time.perf_counter(), time.process_time()
    tally = Dispatcher(queue, executor, prefetch=PIPELINE, poll_s=0.001).run()
    assert tally.done == n, tally
    return (time.perf_counter() - t0) / n * 1e3, (time.process_time() - c0) / n * 1e3


def _identity(x: int) -> int:
    return x


def dask_alone_ms(client: Any, n: int) -> float:
    """ms per no-op task of Dask by itself (all submitted at once, gathered)."""
    client.gather([client.submit(_identity, i, pure=False) for i in range(20)])  # warm
    t0 = time.perf_counter()
    client.gather([client.submit(_identity, i, pure=False) for i in range(n)])
    return (time.perf_counter() - t0) / n * 1e3


def huey_ms(n: int, folder: Path) -> float | None:
    """ms per no-op task through huey's SQLite storage (enqueue, dequeue, execute)."""
    try:
        from huey import SqliteHuey
    except ImportError:
        return None
    huey = SqliteHuey(filename=str(folder / "huey.sqlite"))

    @huey.task()
    def noop() -> None:
        return None

    t0 = time.perf_counter()
    for _ in range(n):
        noop()
    for _ in range(n):
        huey.execute(huey.dequeue())
    return (time.perf_counter() - t0) / n * 1e3


def _executor(workers: int, device: str, kind: str) -> tuple[Any, Any]:
    if kind == "threads":  # jobs in threads of this process, sharing the GPUs through the same ledger
        _warm()
        return InlineExecutor(workers), None
    gpus = [] if device == "cpu" else sample_devices()
    if gpus:
        per_gpu = max(1, workers // len(gpus))
        plan = cluster.plan_local(gpus, per_gpu=per_gpu, cpu_workers=0)
    else:
        plan = cluster.plan_local([], cpu_workers=workers)
    client = cluster.start_local(plan)
    client.run(_warm)  # imports done before the clock starts, as in a worker that has run a job
    return DaskExecutor(client), client


def _warm() -> None:
    from workstation.analyses import get, names

    for name in names():
        get(name)
    import workstation.jobs.job_exec  # noqa: F401


def default_workers(device: str, studies: list, analyses: list[str]) -> int:
    """The count ``queue work`` would start here (memory estimate of the first study's jobs)."""
    gpus = [] if device == "cpu" else sample_devices()
    if not gpus:
        return len(cluster.plan_local([]))
    from workstation.analyses import get
    from workstation.compute.backend import select_backend

    backend = select_backend("cuda")
    estimate = 0
    for name in analyses:
        analysis = get(name)
        if analysis.estimate_memory is not None and backend.is_gpu:
            inputs = analysis.prepare(studies[0], None)
            estimate = max(estimate, int(analysis.estimate_memory(inputs, analysis.default_params(), backend)))
    return sum(1 for p in cluster.plan_local(gpus, estimate=estimate, cpu_workers=0) if p.kind == "gpu")


def _row(workers: int, run: CohortRun, n_studies: int, same: str) -> str:
    split = run.split()
    total = sum(split.values()) or 1.0
    shares = " | ".join(f"{100 * split.get(k, 0.0) / total:.0f}" for k in ("decode", "compute", "write"))
    busy = ", ".join(f"{100 * v:.0f}" for v in run.busy.values()) or "n/a"
    return (f"| {workers} | {n_studies / run.wall_s * 60:.1f} | {run.wall_s:.1f} | {shares} | {busy} | "
            f"{run.done}/{len(run.rows)} | {same} |")


def _ms(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}"  # NaN: not measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=50)
    parser.add_argument("--analyses", default="calcium,segmentation")
    parser.add_argument("--device", default="auto", help="auto (the GPUs when present) or cpu")
    parser.add_argument("--slices", type=int, default=60)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--cohort", type=Path, default=None, help="folder for the demo CTs (kept for reuse)")
    parser.add_argument("--workers", default=None, help="worker counts to compare, e.g. 1,6")
    parser.add_argument("--overhead-jobs", type=int, default=500)
    parser.add_argument("--executor", choices=("dask", "threads"), default="dask",
                        help="worker processes on a local Dask cluster, or threads of this process")
    args = parser.parse_args()
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("Dask is not installed: the workers are threads of this process (--executor threads)")
        args.executor = "threads"
    analyses = args.analyses.split(",")
    samples = [] if args.device == "cpu" else sample_devices()
    print(format_table(samples))
    studies = make_cohort(args.studies, args.slices, args.size, args.cohort)
    counts = ([int(w) for w in args.workers.split(",")] if args.workers
              else sorted({1, default_workers(args.device, studies, analyses)}))
    print(f"\ncohort: {len(studies)} demo CTs {args.size}x{args.size}x{args.slices}, {' + '.join(analyses)}, "
          f"device {args.device}{' (' + samples[0].name + ')' if samples else ''}\n")
    print("| workers | studies/min | wall s | decode % | compute % | write % | GPU busy % | jobs done | "
          "same results as 1 worker |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|---|")
    monitor = DeviceMonitor(interval_s=1.0).start()
    runs: dict[int, CohortRun] = {}
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        for workers in counts:
            executor, client = _executor(workers, args.device, args.executor)
            try:
                runs[workers] = run_cohort(studies, analyses, Path(tmp) / f"w{workers}", executor,
                                           device=args.device, monitor=monitor,
                                           prefetch=executor.slots() if client is not None else 0)
            finally:
                executor.close()
                if client is not None:
                    cluster.close(client)
            first = runs[counts[0]]
            diff = differences(first.out, runs[workers].out)
            same = "-" if workers == counts[0] else ("yes" if not diff else f"NO ({len(diff)} files)")
            print(_row(workers, runs[workers], len(studies), same), flush=True)
        monitor.stop()
        if len(counts) > 1:
            base, best = runs[counts[0]], runs[counts[-1]]
            print(f"\n{counts[-1]} workers vs 1: {base.wall_s / best.wall_s:.2f}x the studies per minute")
        folder = Path(tmp)
        n = args.overhead_jobs
        enqueue, lifecycle = sqlite_ms(n, folder)
        inline = InlineExecutor(1, run=_noop)
        try:
            inline_wall, inline_cpu = dispatcher_ms(n, folder, inline)
        finally:
            inline.close()
        alone = dask_wall = dask_cpu = float("nan")
        if args.executor == "dask":
            client = cluster.start_local(cluster.plan_local([], cpu_workers=1))
            dask = DaskExecutor(client, run=_noop_task)
            try:
                alone = dask_alone_ms(client, n)
                dask_wall, dask_cpu = dispatcher_ms(n, folder, dask)
            finally:
                dask.close()
                cluster.close(client)
        peer = huey_ms(n, folder)
    print(f"\n| queue overhead per job ({n} no-op jobs) | wall ms | dispatcher CPU ms |\n|---|---:|---:|")
    print(f"| SQLite: enqueue | {enqueue:.2f} | |")
    print(f"| SQLite: take + start + 4 progress + finish | {lifecycle:.2f} | |")
    print(f"| dispatcher + thread executor (1 worker) | {inline_wall:.2f} | {inline_cpu:.2f} |")
    print(f"| Dask alone: submit + gather (1 worker) | {_ms(alone)} | |")
    print(f"| dispatcher + Dask executor (1 worker, {PIPELINE} ahead) | {_ms(dask_wall)} | {_ms(dask_cpu)} |")
    print(f"| peer: huey SqliteHuey enqueue + dequeue + execute | {'n/a' if peer is None else f'{peer:.2f}'} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
