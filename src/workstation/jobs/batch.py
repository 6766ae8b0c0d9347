"""``workstation-batch``: run any registered analysis headless over many studies.

::

    workstation-batch list
    workstation-batch run calcium /data/studies --out results [--device cpu|cuda]
                      [--param min_area_mm2=1.0] [--dask local:4 | --dask tcp://host:8786]

Every study found under the given paths gets ``OUT/<StudyInstanceUID>/<analysis>.json``
and the analysis's artifacts.  The exit code is 0 only when every study succeeded; a
summary table ends the run, and a line names the compute device (and why the CPU is used
when a GPU was wanted).  Logs go to ``batch.log`` in the log folder
(:mod:`workstation.core.paths`); an internal error leaves a crash report there and ends
with exit code 70.  With ``--dask`` the studies run as tasks on a Dask cluster
(a local one started here, or an existing scheduler); the input and output folders must
then be visible to the workers under the same paths.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from workstation.analyses import get, names
from workstation.core import crash
from workstation.core.logs import setup_logging, shutdown_logging
from workstation.core.paths import version_string
from workstation.core.redact import register_sensitive
from workstation.core.study import Study
from workstation.jobs.execute import StudyOutcome, parse_params, run_study

log = logging.getLogger("workstation.batch")
INTERNAL_ERROR = 70  # EX_SOFTWARE

# Sub-commands beyond ``list`` and ``run``: name -> module.  Each module defines
# ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int`` (the exit
# status); it is imported only when the parser is built.  To add a command, add a module
# and one line here.
COMMANDS: dict[str, str] = {
    "pacs": "workstation.jobs.pacs_cli",
}


def _command(name: str) -> Any:
    return importlib.import_module(COMMANDS[name])


def _parse_overrides(items: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--param expects NAME=VALUE, got {item!r}")
        overrides[key.strip()] = value
    return overrides


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one ``run`` choice per registered analysis."""
    parser = argparse.ArgumentParser(prog="workstation-batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered analyses and their parameters")
    run = sub.add_parser("run", help="run an analysis on every study under PATH")
    run.add_argument("analysis", choices=names(), help="registered analysis")
    run.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="DICOM files or folders")
    run.add_argument("--out", required=True, type=Path, help="output folder")
    run.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    run.add_argument("--dask", default=None, metavar="local[:N]|ADDRESS", help="run studies on a Dask cluster")
    from workstation.jobs.pacs_run import add_run_options

    add_run_options(run)
    for name in COMMANDS:
        module = _command(name)
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


def _list() -> int:
    from dataclasses import fields

    for name in names():
        analysis = get(name)
        print(f"{name}: {analysis.title}")
        defaults = analysis.default_params()
        for f in fields(defaults):
            print(f"    --param {f.name}={getattr(defaults, f.name)!r}")
    return 0


def _run_local(name: str, studies: list[Study], out: Path, params: Any, device: Optional[str]) -> list[StudyOutcome]:
    outcomes = []
    for i, study in enumerate(studies, start=1):
        log.info("[%d/%d] %s on study %s", i, len(studies), name, study.uid)
        outcomes.append(run_study(name, study, out, params=params, device=device))
    return outcomes


def _dask_client(spec: str) -> Any:
    from dask.distributed import Client, LocalCluster

    if spec.startswith("local"):
        _, _, count = spec.partition(":")
        workers = int(count) if count else 2
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    return Client(spec)


def run_on_dask(
    name: str, studies: list[Study], out: Path, params: Any, device: Optional[str], spec: str
) -> list[StudyOutcome]:
    """Submit one task per study to a Dask cluster and gather the outcomes in order."""
    client = _dask_client(spec)
    try:
        futures = [
            client.submit(run_study, name, study, out, params=params, device=device, key=f"{name}-{study.uid}", pure=False)
            for study in studies
        ]
        return list(client.gather(futures))
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def summary_table(outcomes: Sequence[StudyOutcome]) -> str:
    """A plain-text table of outcomes (study UIDs only: no patient data)."""
    rows = [("study", "status", "seconds", "device", "message")]
    for o in outcomes:
        rows.append((o.study_uid, "ok" if o.ok else "FAILED", f"{o.seconds:.2f}", o.device, o.message[:100]))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    ok = sum(o.ok for o in outcomes)
    lines.append(f"{ok} of {len(outcomes)} studies succeeded")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from workstation.io.dicom import scan
    from workstation.io.pacs.errors import PacsError
    from workstation.jobs.pacs_run import check_run_options, send_results, study_for_run

    analysis = get(args.analysis)
    try:
        params = parse_params(analysis.params_type, _parse_overrides(args.param))
    except (TypeError, ValueError) as exc:
        print(f"workstation-batch: {exc}", file=sys.stderr)
        return 2
    conflict = check_run_options(args)
    missing = [str(p) for p in args.paths if not p.exists()]
    if conflict or missing:
        print(f"workstation-batch: {conflict or 'no such file or folder: ' + ', '.join(missing)}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    if args.pacs:
        try:
            studies = [study_for_run(args)]
        except PacsError as exc:
            print(f"workstation-batch: {exc}", file=sys.stderr)
            return exc.exit_code
    else:
        found = scan(args.paths)
        for problem in found.problems:
            print(f"skipped {problem}", file=sys.stderr)
        studies = list(found.studies)
    if not studies:
        where = ", ".join(str(p) for p in args.paths)
        print(f"workstation-batch: no DICOM studies found in {where} "
              f"({len(found.problems)} file(s) skipped, reasons above)", file=sys.stderr)
        return 1
    register_sensitive(value for study in studies for value in (study.patient_name, study.patient_id))
    if args.dask:
        outcomes = run_on_dask(args.analysis, studies, args.out, params, args.device, args.dask)
    else:
        print(f"compute device: {_describe_device(args.device)}", flush=True)
        outcomes = _run_local(args.analysis, studies, args.out, params, args.device)
    print(summary_table(outcomes))
    print(f"total {time.perf_counter() - start:.1f} s")
    ok = all(o.ok for o in outcomes)
    if args.send_results:
        try:
            ok = send_results(args, outcomes) == 0 and ok
        except PacsError as exc:
            print(f"workstation-batch: sending results: {exc}", file=sys.stderr)
            return exc.exit_code
    return 0 if ok else 1


def _describe_device(setting: Optional[str]) -> str:
    """What the studies of a local run will use, e.g. ``CPU (NumPy) (no working GPU)``."""
    from workstation.compute.backend import select_backend

    description = select_backend(setting).describe()
    crash.set_context(device=description)
    return description


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the batch command line; returns the exit status (70 after an internal error)."""
    args = build_parser().parse_args(argv)
    log_file = setup_logging("batch", console_level=logging.INFO if args.verbose else logging.WARNING)
    crash.install("workstation-batch")
    try:
        log.info("workstation-batch %s: %s; log file %s", version_string(), args.command, log_file)
        for report in crash.collect_fatal_reports():
            print(f"workstation-batch: an earlier run ended with a fatal error; report: {report}", file=sys.stderr)
        if args.command == "list":
            return _list()
        if args.command in COMMANDS:
            return int(_command(args.command).main(args))
        return _run(args)
    except Exception:
        path = crash.write_report(*sys.exc_info(), where=f"workstation-batch {args.command}")  # type: ignore[arg-type]
        log.exception("internal error")
        print(crash.tell_user(path, "workstation-batch"), file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        crash.uninstall()
        shutdown_logging()


if __name__ == "__main__":
    raise SystemExit(main())
