"""``workstation-batch run ANALYSIS --pacs SERVER --study UID --out DIR [--send-results]``.

The study is retrieved into the cache (instances already there are not fetched
again) and indexed in the local database, rebuilt from the index, analysed like a
study found on disk, and with ``--send-results`` the DICOM objects the analysis wrote
(SEG, SR, derived series) are sent back to the same node.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workstation.core.study import Study
from workstation.io.pacs.errors import Fault, PacsError
from workstation.jobs.execute import StudyOutcome
from workstation.jobs.pacs_cli import add_server_options, resolve, retrieve_into


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options ``run`` gains: where the study comes from and where results go back."""
    parser.add_argument("--pacs", default=None, metavar="SERVER", help="retrieve the study from this PACS")
    parser.add_argument("--study", default=None, metavar="UID", help="StudyInstanceUID to retrieve (with --pacs)")
    parser.add_argument("--send-results", action="store_true", help="send DICOM results back to the PACS")
    add_server_options(parser, positional=False)


def _server_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "server": args.pacs})


def check_run_options(args: argparse.Namespace) -> str | None:
    """Why the ``run`` options do not fit together, or ``None``."""
    if args.pacs and args.paths:
        return "give either PATH... or --pacs SERVER --study UID, not both"
    if args.pacs and not args.study:
        return "--pacs needs --study UID"
    if (args.study or args.send_results) and not args.pacs:
        return "--study and --send-results need --pacs SERVER"
    if not args.pacs and not args.paths:
        return "give PATH... or --pacs SERVER --study UID"
    return None


def study_for_run(args: argparse.Namespace) -> Study:
    """Retrieve ``--study`` from ``--pacs`` into the cache; the study rebuilt from the index."""
    from workstation.io.database import StudyDatabase
    from workstation.io.pacs.cache import StudyCache

    server = _server_args(args)
    node, local, settings = resolve(server)
    cache = StudyCache(StudyDatabase(), limit_bytes=int(settings.cache_limit_gb * 1024**3))
    result = retrieve_into(server, node, local, cache)
    print(f"retrieved study {args.study}: {len(result.received)} instances received, "
          f"{result.already_present} already in the cache ({result.seconds:.1f} s)", flush=True)
    if not result.complete:
        raise PacsError(node.label, Fault.INCOMPLETE, f"{result.missing} of {result.listed} instances did not arrive")
    study, problems = cache.database.open_study(args.study)
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    return study


def send_results(args: argparse.Namespace, outcomes: Sequence[StudyOutcome]) -> int:
    """Send the DICOM files among the outcomes' files to ``--pacs``; 0 when all went."""
    from workstation.io.pacs.client import connect
    from workstation.io.pacs.send import collect, send

    server = _server_args(args)
    node, local, _ = resolve(server)
    files, _ = collect([f for o in outcomes if o.ok for f in o.files])
    if not files:
        print("no DICOM result to send", flush=True)
        return 0
    result = send(connect(node, local), files)
    for path, reason in result.refused:
        print(f"refused {path.name}: {reason}", file=sys.stderr)
    print(f"sent {len(result.sent)} of {len(files)} DICOM results to {node.label}", flush=True)
    return 0 if result.ok else 1
