"""``workstation-batch queue``: work and manage the persistent job queue.

::

    workstation-batch queue work [--follow] [--dask local|local:N|inline|tcp://host:8786]
                                 [--workers-per-gpu N] [--cpu-workers N]
    workstation-batch queue list [--state queued|running|done|failed|cancelled] [--limit N]
    workstation-batch queue cancel ID... | --all-queued
    workstation-batch queue retry ID... | --failed

``work`` runs queued jobs (highest priority first) until the queue is empty, or with
``--follow`` until Ctrl-C, printing each job's line as it ends.  The workers form a
Dask cluster: ``local`` (default) starts worker processes on this machine, one per GPU
slot (as many per GPU as its memory allows for the first queued job's estimate, or
``--workers-per-gpu``) and CPU workers; ``local:N`` N CPU workers; an address joins an
existing scheduler; ``inline`` runs jobs in this process's threads.  Jobs of a worker
that died run again (Dask re-runs them); jobs of a ``work`` process that died are
re-queued by the next one.  ``--db`` (or ``WORKSTATION_QUEUE``) names another queue file.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

HELP = "work, list, cancel or retry the persistent job queue"
INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from workstation.jobs.queue import STATES

    parser.add_argument("--db", type=Path, default=None, help="queue file (default: in the user's data folder)")
    sub = parser.add_subparsers(dest="queue_command", required=True)
    work = sub.add_parser("work", help="run queued jobs")
    work.add_argument("--follow", action="store_true", help="keep waiting for new jobs until Ctrl-C")
    work.add_argument("--dask", default="local", metavar="local|local:N|inline|ADDRESS",
                      help="where the workers are (default: local, worker processes per GPU and CPU)")
    work.add_argument("--workers-per-gpu", type=int, default=None, help="worker processes per GPU")
    work.add_argument("--cpu-workers", type=int, default=None, help="CPU-only worker processes")
    work.add_argument("--threads", type=int, default=1, help="with --dask inline: jobs at once")
    listing = sub.add_parser("list", help="list jobs (running, queued, then finished)")
    listing.add_argument("--state", action="append", choices=STATES, default=None)
    listing.add_argument("--limit", type=int, default=50)
    cancel = sub.add_parser("cancel", help="cancel jobs (queued ones at once, running ones at their next report)")
    cancel.add_argument("ids", nargs="*", type=int)
    cancel.add_argument("--all-queued", action="store_true")
    retry = sub.add_parser("retry", help="queue finished jobs again")
    retry.add_argument("ids", nargs="*", type=int)
    retry.add_argument("--failed", action="store_true", help="every failed job")


def main(args: argparse.Namespace) -> int:
    from workstation.jobs.queue import JobQueue

    queue = JobQueue(args.db)
    command = args.queue_command
    if command == "list":
        print(list_table(queue.jobs(args.state, limit=args.limit)))
        counts = queue.counts()
        print(", ".join(f"{n} {state}" for state, n in counts.items()))
        return 0
    if command == "cancel":
        ids = list(args.ids) + ([j.id for j in queue.jobs(["queued"], limit=10**9)] if args.all_queued else [])
        print(f"{queue.cancel(ids)} job(s) cancelled or asked to stop")
        return 0
    if command == "retry":
        ids = list(args.ids) + ([j.id for j in queue.jobs(["failed"], limit=10**9)] if args.failed else [])
        print(f"{queue.retry(ids)} job(s) queued again")
        return 0
    return _work(queue, args)


def list_table(jobs: list[Any]) -> str:
    """The table ``queue list`` prints (study UIDs only: no patient data)."""
    from workstation.core.redact import redact

    rows = [("id", "state", "prio", "analysis", "study", "device", "progress", "seconds", "message")]
    for j in jobs:
        seconds = "" if j.seconds is None else f"{j.seconds:.1f}"
        rows.append((str(j.id), j.state, str(j.priority), j.analysis, j.study_uid or j.title,
                     j.used_device or j.device, f"{100 * j.progress:.0f}%", seconds,
                     " ".join((j.error or j.message).split())[:70]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return redact("\n".join(lines))


def job_line(job: Any, result: Any) -> str:
    from workstation.jobs.batch import study_line

    return f"job {job.id} {job.analysis} {job.state}: {study_line(result.outcome)}"


def _executor(queue: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The executor for ``--dask`` and the client to close afterwards (or ``None``)."""
    from workstation.jobs.dispatch import InlineExecutor

    if args.dask == "inline":
        return InlineExecutor(args.threads), None
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("workstation-batch: Dask is not installed: jobs run in this process", file=sys.stderr)
        return InlineExecutor(args.threads), None
    from workstation.jobs import cluster
    from workstation.jobs.dask_exec import DaskExecutor

    plan = None
    if args.dask == "local":
        from workstation.compute.devices import sample_devices

        gpus = sample_devices()
        estimate = 0 if not gpus or args.workers_per_gpu is not None else first_job_estimate(queue)
        plan = cluster.plan_local(gpus, estimate=estimate, per_gpu=args.workers_per_gpu,
                                  cpu_workers=args.cpu_workers)
        print("workers: " + ", ".join(f"{p.name} ({'GPU ' + p.device if p.kind == 'gpu' else 'CPU'})" for p in plan),
              flush=True)
    client = cluster.connect(args.dask, plan)
    return DaskExecutor(client), client


def first_job_estimate(queue: Any) -> int:
    """GPU bytes the first queued job needs (its study prepared here once), 0 if unknown."""
    from workstation.analyses import get
    from workstation.compute.backend import select_backend

    jobs = [j for j in queue.jobs(["queued"], limit=1) if j.study_ref is not None]
    if not jobs:
        return 0
    job = jobs[0]
    try:
        analysis = get(job.analysis)
        backend = select_backend("cuda")
        if analysis.estimate_memory is None or not backend.is_gpu:
            return 0
        inputs = analysis.prepare(job.study_ref.load(), None)
        return int(analysis.estimate_memory(inputs, analysis.params_type.from_json(job.params), backend))
    except Exception as exc:  # the job itself will report what is wrong with it
        print(f"workstation-batch: no memory estimate from job {job.id} ({type(exc).__name__}); "
              "one worker per GPU", file=sys.stderr)
        return 0


def _work(queue: Any, args: argparse.Namespace) -> int:
    from workstation.core.redact import redact
    from workstation.jobs.dispatch import Dispatcher

    def on_result(job: Any, result: Any) -> None:
        print(redact(job_line(job, result)), flush=True)

    def on_note(message: str) -> None:
        print(redact(f"workstation-batch: {message}"), file=sys.stderr, flush=True)

    executor, client = _executor(queue, args)
    prefetch = executor.slots() if client is not None else 0
    dispatcher = Dispatcher(queue, executor, on_result=on_result, on_note=on_note, prefetch=prefetch)
    previous = signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
    interrupted = False
    try:
        tally = dispatcher.run(follow=args.follow)
    except KeyboardInterrupt:  # jobs still held go back to the queue (Dispatcher.run's finally)
        interrupted, tally = True, dispatcher.tally
    finally:
        signal.signal(signal.SIGTERM, previous)
        executor.close()
        if client is not None:
            from workstation.jobs import cluster

            cluster.close(client)
    print(f"{tally.done} done, {tally.failed} failed, {tally.cancelled} cancelled, {tally.retried} retried after a "
          f"CUDA fault, {tally.released} given back; {queue.pending()} still queued or running", flush=True)
    if interrupted:
        return INTERRUPTED
    return 0 if tally.failed == 0 else 1

