"""Several devices working one cohort, one of them killed mid-cohort: its jobs finish on the others.

Three steps, then a table:

1. the machine's GPUs (``workstation-batch gpus``);
2. the cohort (demo CTs, ``--analyses``) on the workers of ``--mode``, uninterrupted:
   the reference results and each worker's share;
3. the same cohort on fresh workers, the first worker SIGKILLed (it and its nanny, so
   it stays gone) once it is running a job: Dask runs that job again on another
   worker; every job must end done with results identical to step 2.

Modes: ``gpus`` one worker per GPU (the multi-GPU machine); ``shared-gpu`` two workers
sharing GPU 0 by memory budget (a machine with one GPU); ``cpu-pools`` two CPU-only
worker pools standing in for two devices (a machine with none).  Exits 0 only when
every job is done, the killed worker's job finished elsewhere and the results match.

Run: ``python bench/multi_device.py --mode gpus|shared-gpu|cpu-pools [--studies 12]
[--analyses calcium,segmentation] [--per-device 1] [--slices 60] [--size 512]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from cohort import CohortRun, differences, make_cohort, run_cohort

from workstation.compute.devices import format_table, sample_devices
from workstation.jobs import cluster
from workstation.jobs.dask_exec import DaskExecutor
from workstation.jobs.queue import JobQueue


def plan_for(mode: str, per_device: int) -> list[cluster.WorkerPlan]:
    """The workers of ``mode`` (see the module docstring)."""
    if mode == "cpu-pools":
        plan = [cluster.WorkerPlan(f"pool{d}-{k}", "cpu") for d in (0, 1) for k in range(per_device)]
        return cluster.share_cores(plan, cluster.usable_cores())
    gpus = sample_devices()
    if not gpus:
        raise SystemExit(f"--mode {mode} needs a GPU; this machine has none (use --mode cpu-pools)")
    if mode == "shared-gpu":
        return cluster.plan_local(gpus[:1], per_gpu=2, cpu_workers=0)
    return cluster.plan_local(gpus, per_gpu=per_device, cpu_workers=0)


def _kill_when_busy(client: Any, victim: str, killed: dict[str, Any]) -> Any:
    """A ``during`` callback: SIGKILL worker ``victim``'s process once it runs a job, its
    nanny told first not to start it again (the device is gone, as a GPU that fell off
    the bus would be)."""
    def during(queue: JobQueue) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            running = [j for j in queue.jobs(["running"]) if j.worker == victim and j.progress > 0.3]
            if running:
                address = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
                               if w.get("name") == victim)
                pid = client.run(os.getpid, workers=[address])[address]
                client.cluster.workers[victim].close_gracefully(reason="its device was lost")
                os.kill(pid, signal.SIGKILL)
                killed.update(worker=victim, jobs=[j.id for j in running], at=time.monotonic())
                return
            time.sleep(0.05)

    return during


def _cohort(plan: list[cluster.WorkerPlan], studies: list, analyses: list[str], work: Path,
            kill: bool) -> tuple[CohortRun, dict[str, Any]]:
    client = cluster.start_local(plan)
    executor = DaskExecutor(client)
    killed: dict[str, Any] = {}
    try:
        during = _kill_when_busy(client, plan[0].name, killed) if kill else None
        run = run_cohort(studies, analyses, work, executor, during=during, prefetch=executor.slots())
    finally:
        executor.close()
        cluster.close(client)
    return run, killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("gpus", "shared-gpu", "cpu-pools"), required=True)
    parser.add_argument("--studies", type=int, default=12)
    parser.add_argument("--analyses", default="calcium,segmentation")
    parser.add_argument("--per-device", type=int, default=1, help="workers per GPU (gpus) or per pool (cpu-pools)")
    parser.add_argument("--slices", type=int, default=60)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--cohort", type=Path, default=None, help="folder for the demo CTs (kept for reuse)")
    args = parser.parse_args()
    analyses = args.analyses.split(",")
    print("1. workstation-batch gpus\n" + format_table(sample_devices()) + "\n", flush=True)
    plan = plan_for(args.mode, args.per_device)
    studies = make_cohort(args.studies, args.slices, args.size, args.cohort)
    with tempfile.TemporaryDirectory(prefix="multi-device-") as tmp:
        print(f"2. {len(studies)} studies x {'+'.join(analyses)} on {', '.join(p.name for p in plan)}", flush=True)
        reference, _ = _cohort(plan, studies, analyses, Path(tmp) / "reference", kill=False)
        print(f"   {reference.done}/{len(reference.rows)} done in {reference.wall_s:.1f} s; jobs per worker: "
              f"{reference.per_worker()}", flush=True)
        print(f"3. again, killing {plan[0].name} while it runs a job", flush=True)
        run, killed = _cohort(plan, studies, analyses, Path(tmp) / "killed", kill=True)
        diff = differences(reference.out, run.out)
        moved = [r for r in run.rows if r.id in killed.get("jobs", [])]
        finished_elsewhere = bool(moved) and all(r.state == "done" and r.worker != plan[0].name for r in moved)
    ok = (reference.done == run.done == len(run.rows)) and finished_elsewhere and not diff
    print("\n| mode | workers | jobs | reference s | with a kill s | killed | its running jobs finished on | "
          "jobs done | results identical |")
    print("|---|---:|---:|---:|---:|---|---|---:|---|")
    where = ", ".join(f"job {r.id} on {r.worker} (attempt {r.attempts})" for r in moved) or "no job was running"
    print(f"| {args.mode} | {len(plan)} | {len(run.rows)} | {reference.wall_s:.1f} | {run.wall_s:.1f} | "
          f"{killed.get('worker', 'none')} | {where} | {run.done}/{len(run.rows)} | "
          f"{'yes' if not diff else 'NO: ' + ', '.join(diff[:3])} |")
    print(f"jobs per worker with the kill: {run.per_worker()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
