"""``workstation-batch``: run any registered analysis headless over many studies.

::

    workstation-batch list
    workstation-batch run calcium /data/studies --out results [--device cpu|cuda]
                      [--param min_area_mm2=1.0] [--inputs per_study.csv]
                      [--dask local:4 | --dask tcp://host:8786]

Every study found under the given paths gets ``OUT/<StudyInstanceUID>/<analysis>.json``
and the analysis's artifacts.  ``--param`` values apply to every study; ``--inputs``
gives per-study values (one row per StudyInstanceUID, columns named like the
parameters, :mod:`workstation.jobs.study_inputs`).  Analyses may add sub-commands of
their own (``commands`` of their registry entry).  The exit code is 0 only when every
study succeeded; a summary table ends the run, and a line names the compute device (and
why the CPU is used when a GPU was wanted).  ``--out`` is checked for writing before
anything runs (exit code 2); each study's files appear all or nothing, and staging
folders left by a killed run are removed (or, killed while moving files in, completed)
at the start of the next.  Run again over the same ``--out``, studies whose result is
complete and valid for the same inputs and parameters (their manifest,
:mod:`workstation.jobs.manifest`) are skipped and the rest redone (``--redo`` redoes
all); each study's line is printed as it completes.  ``--queue`` adds the studies to
the persistent job queue instead (``workstation-batch queue work`` runs them).  Ctrl-C finishes or
undoes the study being written, prints the summary of what completed and ends with exit
code 130.  Logs go to ``batch.log`` in the log folder (:mod:`workstation.core.paths`); no
line printed or logged names a patient.  An internal error leaves a crash report there
and ends with exit code 70.  With ``--dask`` the studies run as tasks on a Dask cluster
(a local one started here, or an existing scheduler); the input and output folders must
then be visible to the workers under the same paths.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from workstation.analyses import get, names
from workstation.core import crash
from workstation.core.logs import setup_logging, shutdown_logging
from workstation.core.params import specs, with_overrides
from workstation.core.paths import version_string
from workstation.core.redact import add_safe_root, add_vocabulary, redact
from workstation.core.study import Study
from workstation.jobs.execute import StudyInterrupted, StudyOutcome, run_study
from workstation.jobs.resume import enqueue_studies, split_complete
from workstation.jobs.staging import clean_stale
from workstation.jobs.study_inputs import InputsError, per_study_params

log = logging.getLogger("workstation.batch")
INTERNAL_ERROR = 70  # EX_SOFTWARE
INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
TABLE_MESSAGE = 60  # characters of a message in the table; the whole message follows it

# Sub-commands beyond ``list`` and ``run``: name -> module.  Each module defines
# ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int`` (the exit
# status); it is imported only when the parser is built.  To add a command, add a module
# and one line here; an analysis declares its own in its registry entry (``commands``).
COMMANDS: dict[str, str] = {
    "export": "workstation.jobs.export_cli",
    "pacs": "workstation.jobs.pacs_cli",
    "report": "workstation.analyses.report_cli",
    "queue": "workstation.jobs.queue_cli",
    "gpus": "workstation.jobs.gpus_cli",
}


def all_commands() -> dict[str, str]:
    """:data:`COMMANDS` and every registered analysis's commands (a clash is an error)."""
    found = dict(COMMANDS)
    for name in names():
        for command, module in get(name).commands.items():
            if command in found or command in ("list", "run"):
                raise ValueError(f"analysis {name!r} declares the sub-command {command!r}, which already exists")
            found[command] = module
    return found


def _command(name: str) -> Any:
    return importlib.import_module(all_commands()[name])


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
    run.add_argument("--inputs", type=Path, default=None, metavar="FILE.csv",
                     help="per-study parameters: a StudyInstanceUID column and one column per parameter")
    run.add_argument("--dask", default=None, metavar="local[:N]|ADDRESS", help="run studies on a Dask cluster")
    from workstation.jobs.pacs_run import add_run_options

    add_run_options(run)
    run.add_argument("--queue", action="store_true", help="add the studies to the persistent job queue instead")
    run.add_argument("--priority", type=int, default=0, help="with --queue: higher runs first (default 0)")
    run.add_argument("--redo", action="store_true", help="run studies whose result in --out is already complete")
    for name, module_name in all_commands().items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


def _list() -> int:
    for name in names():
        analysis = get(name)
        print(f"{name}: {analysis.title}")
        for spec in specs(analysis.params_type):
            print(f"    --param {spec.name}  ({spec.describe()})")
        if analysis.artifacts is not None:
            written = [a.files for a in analysis.artifacts.artifacts if a.batch]
            print(f"    writes {name}.json" + "".join(f", {f}" for f in written))
        for command in analysis.commands:
            print(f"    sub-command: workstation-batch {command}")
    return 0


def _say(text: str) -> None:
    """A line on stderr, without patient data."""
    print(redact(text), file=sys.stderr, flush=True)


def _run_local(name: str, studies: list[Study], out: Path, params: dict[str, Any], device: Optional[str],
               outcomes: list[StudyOutcome]) -> None:
    """Run the studies one by one (``params`` by study UID), appending to ``outcomes``
    (kept when Ctrl-C ends the loop)."""
    for i, study in enumerate(studies, start=1):
        log.info("[%d/%d] %s on study %s", i, len(studies), name, study.uid)
        try:
            outcome = run_study(name, study, out, params=params[study.uid], device=device)
        except StudyInterrupted as stop:  # its result was complete when Ctrl-C came: count it
            outcomes.append(stop.outcome)
            raise
        outcomes.append(outcome)
        print(redact(study_line(outcome)), flush=True)


def _dask_client(spec: str) -> Any:
    from dask.distributed import Client, LocalCluster

    if spec.startswith("local"):
        _, _, count = spec.partition(":")
        workers = int(count) if count else 2
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    return Client(spec)


def run_on_dask(
    name: str, studies: list[Study], out: Path, params: dict[str, Any], device: Optional[str], spec: str,
    outcomes: Optional[list[StudyOutcome]] = None,
) -> list[StudyOutcome]:
    """Submit one task per study (``params`` by study UID) to a Dask cluster and gather the
    outcomes in order.

    On Ctrl-C, ``outcomes`` holds those of the tasks that had finished.
    """
    outcomes = [] if outcomes is None else outcomes
    client = _dask_client(spec)
    futures = []
    try:
        futures = [
            client.submit(run_study, name, study, out, params=params[study.uid], device=device,
                          key=f"{name}-{study.uid}", pure=False)
            for study in studies
        ]
        from distributed import as_completed

        by_future = {f.key: i for i, f in enumerate(futures)}
        done: list[tuple[int, StudyOutcome]] = []
        for future in as_completed(futures):
            done.append((by_future[future.key], future.result()))
            print(redact(study_line(done[-1][1])), flush=True)
        outcomes.extend(o for _, o in sorted(done, key=lambda d: d[0]))
        return outcomes
    except KeyboardInterrupt:
        outcomes.extend(f.result() for f in futures if f.status == "finished")
        raise
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def study_line(o: StudyOutcome) -> str:
    """The line printed as a study completes (UID only: no patient data)."""
    split = ", ".join(f"{k} {v:.2f}" for k, v in o.timings.items())
    where = f" on {o.device}" if o.device else ""
    text = f"{o.study_uid}: {'ok' if o.ok else 'FAILED'}{where} in {o.seconds:.2f} s" + (f" ({split})" if split else "")
    return text + (f": {' '.join(o.message.split())}" if o.message else "")


def summary_table(outcomes: Sequence[StudyOutcome]) -> str:
    """A plain-text table of outcomes (study UIDs only: no patient data).

    A message longer than the table's column is cut there with a ``[n]`` mark, and
    given whole, wrapped, in a numbered list after the table.
    """
    rows = [("study", "status", "seconds", "device", "message")]
    notes: list[str] = []
    for o in outcomes:
        message = " ".join(o.message.split())
        if len(message) > TABLE_MESSAGE:
            notes.append(message)
            message = f"[{len(notes)}] {message[: TABLE_MESSAGE - 8]}..."
        rows.append((o.study_uid, "ok" if o.ok else "FAILED", f"{o.seconds:.2f}", o.device, message))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    ok = sum(o.ok for o in outcomes)
    lines.append(f"{ok} of {len(outcomes)} studies succeeded")
    for i, note in enumerate(notes, start=1):
        lines += textwrap.wrap(note, 100, initial_indent=f"[{i}] ", subsequent_indent=" " * (len(str(i)) + 3))
    return "\n".join(lines)


def _writable(out: Path) -> Optional[str]:
    """Why files cannot be written under ``out`` (None when they can); leaves nothing behind."""
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=".write-check-", dir=out):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        for folder in created:  # made again when the first result is written
            try:
                folder.rmdir()
            except OSError:
                pass
    return None


def _run(args: argparse.Namespace) -> int:
    from workstation.io.dicom import scan
    from workstation.io.pacs.errors import PacsError
    from workstation.jobs.pacs_run import check_run_options, send_results, study_for_run

    analysis = get(args.analysis)
    try:
        params = with_overrides(analysis.params_type, None, _parse_overrides(args.param))
    except (TypeError, ValueError) as exc:
        _say(f"workstation-batch: {exc}")
        return 2
    conflict = check_run_options(args)
    missing = [str(p) for p in args.paths if not p.exists()]
    if conflict or missing:
        _say(f"workstation-batch: {conflict or 'no such file or folder: ' + ', '.join(missing)}")
        return 2
    add_safe_root(args.out)  # results are named by study UID and analysis: no patient data
    problem = _writable(args.out)
    if problem:
        _say(f"workstation-batch: cannot write results to --out {args.out}: {problem}")
        return 2
    for leftover in clean_stale(args.out):
        log.info("removed %s, left by an interrupted run", leftover)
    start = time.perf_counter()
    if args.pacs:
        try:
            studies = [study_for_run(args)]
        except PacsError as exc:
            _say(f"workstation-batch: {exc}")
            return exc.exit_code
    else:
        found = scan(args.paths)
        for problem_file in found.problems:
            _say(f"skipped {problem_file.path.name}: {problem_file.reason} (in {problem_file.path.parent})")
        studies = [s for s in found.studies if s.series]  # objects without images are no analysis's input
    if not studies:
        where = ", ".join(str(p) for p in args.paths)
        _say(f"workstation-batch: no DICOM studies found in {where} "
             f"({len(found.problems)} file(s) skipped, reasons above)")
        return 1
    try:
        per_study, notes = (per_study_params(params, args.inputs, studies) if args.inputs is not None
                            else ({s.uid: params for s in studies}, []))
    except InputsError as exc:
        _say(f"workstation-batch: {exc}")
        return 2
    for note in notes:
        _say(f"workstation-batch: {note}")
    studies, kept = (studies, []) if args.redo else split_complete(args.analysis, studies, args.out, per_study)
    if kept:
        print(f"{len(kept)} of {len(kept) + len(studies)} studies already have a complete result in {args.out} "
              "(same inputs and parameters): skipped", flush=True)
    if args.queue:
        return enqueue_studies(args.analysis, studies, args.out, per_study, args.device or "auto", args.priority)
    outcomes: list[StudyOutcome] = list(kept)
    try:
        if args.dask:
            run_on_dask(args.analysis, studies, args.out, per_study, args.device, args.dask, outcomes)
        else:
            print(f"compute device: {_describe_device(args.device)}", flush=True)
            _run_local(args.analysis, studies, args.out, per_study, args.device, outcomes)
    except KeyboardInterrupt:
        print(redact(summary_table(outcomes)))
        _say(f"workstation-batch: interrupted; {len(studies) + len(kept) - len(outcomes)} of "
             f"{len(studies) + len(kept)} studies not run "
             "(the study being written was finished or undone)")
        return INTERRUPTED
    print(redact(summary_table(outcomes)))
    print(f"total {time.perf_counter() - start:.1f} s")
    ok = all(o.ok for o in outcomes)
    if args.send_results:
        try:
            ok = send_results(args, outcomes) == 0 and ok
        except PacsError as exc:
            _say(f"workstation-batch: sending results: {exc}")
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
    add_vocabulary([*names(), *COMMANDS, "list", "run"])
    log_file = setup_logging("batch", console_level=logging.INFO if args.verbose else logging.WARNING)
    crash.install("workstation-batch")
    try:
        log.info("workstation-batch %s: %s; log file %s", version_string(), args.command, log_file)
        for report in crash.collect_fatal_reports():
            print(f"workstation-batch: an earlier run ended with a fatal error; report: {report}", file=sys.stderr)
        if args.command == "list":
            return _list()
        if args.command not in ("list", "run"):
            return int(_command(args.command).main(args))
        return _run(args)
    except KeyboardInterrupt:
        _say("workstation-batch: interrupted")
        return INTERRUPTED
    except Exception as exc:
        path = crash.write_report(type(exc), exc, exc.__traceback__, where=f"workstation-batch {args.command}")
        log.exception("internal error")
        print(crash.tell_user(path, "workstation-batch"), file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        crash.uninstall()
        shutdown_logging()


if __name__ == "__main__":
    raise SystemExit(main())
