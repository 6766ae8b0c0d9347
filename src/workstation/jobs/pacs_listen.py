"""``workstation-batch pacs listen``: a storage SCP that indexes pushed studies and runs routed analyses.

Each study received (quiet for ``--stable`` seconds) is put in the cache and the local
database; the routing rules (``--route FILE`` or the settings') pick its analyses,
which run one study at a time on a worker thread, so receiving never waits for them;
with ``--queue`` they go to the persistent job queue instead, for the workers
(``workstation-batch queue work``, the desktop application).  Results go to ``--out``
as with ``workstation-batch run``.  Ctrl-C (or SIGTERM) stops
listening after the running analysis; ``--max-studies`` and ``--duration`` stop it on
their own (scripts, tests).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from workstation.core.paths import data_dir
from workstation.io.database_rows import StudyRecord
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import LocalAE
from workstation.io.pacs.routing import (
    AnalysisRequest,
    RoutingRule,
    route,
    rules_from_json,
)


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--aet", default=None, help="our AE title (default: the settings', else WORKSTATION)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: the settings', 11112)")
    parser.add_argument("--bind", default=None, metavar="ADDRESS", help="address to listen on (default: all)")
    parser.add_argument("--route", type=Path, default=None, metavar="RULES.json", help="routing rules (JSON)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: <data>/results)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N for routed analyses")
    parser.add_argument("--queue", action="store_true",
                        help="queue routed analyses for the job queue's workers instead of running them here")
    parser.add_argument("--stable", type=float, default=10.0, metavar="S", help="a study is complete after S quiet s")
    parser.add_argument("--max-studies", type=int, default=None, help="stop after this many studies are handled")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")


def _rules(path: Path | None, configured: list[RoutingRule]) -> list[RoutingRule]:
    if path is None:
        return configured
    try:
        return rules_from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PacsError(str(path), Fault.CONFIG, f"cannot read the routing rules ({exc.strerror or exc})") from None


def listen(args: argparse.Namespace) -> int:
    """Receive until stopped; 0 when stopped normally."""
    from workstation.io.database import StudyDatabase
    from workstation.io.pacs.cache import StudyCache
    from workstation.io.pacs.config import read_settings_file
    from workstation.io.pacs.listener import Listener

    settings = read_settings_file()
    rules = _rules(args.route, settings.routing)
    local = LocalAE(args.aet or settings.local.ae_title,
                    settings.local.store_port if args.port is None else args.port,
                    settings.local.bind_address if args.bind is None else args.bind)
    out = args.out or data_dir() / "results"
    cache = StudyCache(StudyDatabase(), limit_bytes=int(settings.cache_limit_gb * 1024**3))
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="routed-analyses")
    handled = threading.Semaphore(0)
    stop = threading.Event()

    def run(record: StudyRecord, requests: list[AnalysisRequest]) -> None:
        from workstation.jobs.routed import enqueue_requests, run_requests

        try:
            study, problems = cache.database.open_study(record.study_uid)
            for problem in problems:
                print(f"skipped {problem}", file=sys.stderr)
            if args.queue:
                for item in enqueue_requests(requests, study, out, device=args.device or "auto"):
                    state = f"queued as job {item.job_id}" if item.job_id is not None else f"NOT QUEUED: {item.problem}"
                    print(f"study {record.study_uid}: {item.analysis} {state}", flush=True)
                return
            for outcome in run_requests(requests, study, out, device=args.device):
                state = "ok" if outcome.ok else f"FAILED: {outcome.message}"
                print(f"study {outcome.study_uid}: {state}", flush=True)
        finally:
            handled.release()

    def on_study(record: StudyRecord) -> None:
        requests = route(record, rules)
        names = ", ".join(r.analysis for r in requests) or "none"
        print(f"received study {record.study_uid}: {len(record.series)} series, {record.n_instances} instances; "
              f"analyses: {names}", flush=True)
        if requests:
            worker.submit(run, record, requests)
        else:
            handled.release()

    listener = Listener(local, cache, on_study, stable_s=args.stable).start()
    print(f"listening as AE {local.ae_title} on port {listener.port}; results in {out}", flush=True)
    previous = _on_sigterm(stop)
    deadline = time.monotonic() + args.duration if args.duration else None
    count = 0
    try:
        while not stop.is_set():
            if handled.acquire(timeout=0.2):
                count += 1
                if args.max_studies is not None and count >= args.max_studies:
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        worker.shutdown(wait=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(f"stopped after {listener.studies_received} studies", flush=True)
    return 0


def _on_sigterm(stop: threading.Event) -> signal.Handlers | None:
    """Let SIGTERM stop the loop cleanly (only possible on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: stop.set())  # type: ignore[return-value]
