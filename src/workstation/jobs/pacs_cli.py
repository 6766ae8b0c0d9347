"""``workstation-batch pacs``: echo, find, get, send and listen against a PACS.

::

    workstation-batch pacs echo SERVER
    workstation-batch pacs find SERVER [--patient-id ID] [--patient-name PATTERN]
                          [--study-date YYYYMMDD-YYYYMMDD] [--modality CT] [--accession N] [--json]
    workstation-batch pacs get SERVER --study UID [--series UID] --out DIR
    workstation-batch pacs send SERVER FILE_OR_DIR...
    workstation-batch pacs listen [--port N] [--aet AET] [--route RULES.json] [--out DIR]

SERVER is ``dicomweb+http(s)://host:port/path``, ``dicom://CALLED_AET@host:port``
(``dicom+tls://`` for DICOM TLS; ``--aet`` gives our AE title, ``--retrieve get|move``
the retrieve method, ``--store-port`` our storage SCP's port for C-MOVE) or the name
of a node in the settings.  Passwords and tokens come from the keyring or
``$WORKSTATION_PACS_SECRET[_NAME]``, never from the command line.

Exit status: 0 success; 1 the PACS refused or failed (unknown destination AE, not
found, incomplete transfer); 2 bad command line or settings; 3 node unreachable (down,
connection refused, unknown host); 4 time-out; 5 association rejected, wrong
credentials or TLS failure; 130 interrupted.  Every failure prints one line naming the
node and the fault.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import (
    Auth,
    DicomWebNode,
    LocalAE,
    Node,
    Tls,
    parse_server,
)
from workstation.io.pacs.query import Query, StudyRow, parse_date_range

HELP = "query, retrieve and send against a PACS (DIMSE or DICOMweb); receive pushed studies"
INTERRUPTED = 130


def add_server_options(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """SERVER and the options that shape how we talk to it (shared with ``run --pacs``)."""
    if positional:
        parser.add_argument("server", metavar="SERVER", help="dicom://AET@host:port, dicomweb+http(s)://host/path "
                            "or a node name from the settings")
    parser.add_argument("--aet", default=None, help="our AE title (default: the settings', else WORKSTATION)")
    parser.add_argument("--retrieve", choices=("get", "move"), default=None, help="DIMSE retrieve by C-GET or C-MOVE")
    parser.add_argument("--store-port", type=int, default=None, help="our storage SCP port (C-MOVE, listen)")
    parser.add_argument("--bind", default=None, metavar="ADDRESS", help="address our storage SCP listens on")
    parser.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds to wait for the PACS")
    parser.add_argument("--auth", choices=("basic", "bearer"), default=None, help="DICOMweb authentication")
    parser.add_argument("--ca-file", default=None, help="CA certificates to trust (TLS)")
    parser.add_argument("--cert-file", default=None, help="our client certificate (TLS)")
    parser.add_argument("--key-file", default=None, help="its private key (TLS)")
    parser.add_argument("--no-verify", action="store_true", help="do not verify the server's TLS certificate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pacs_command", required=True, metavar="{echo,find,get,send,listen}")
    echo = sub.add_parser("echo", help="check the connection (C-ECHO, or a QIDO-RS call)")
    add_server_options(echo)
    find = sub.add_parser("find", help="find studies (C-FIND or QIDO-RS)")
    add_server_options(find)
    find.add_argument("--patient-id", default="")
    find.add_argument("--patient-name", default="", metavar="PATTERN", help="with * and ? wildcards")
    find.add_argument("--study-date", default="", metavar="YYYYMMDD[-YYYYMMDD]")
    find.add_argument("--modality", default="")
    find.add_argument("--accession", default="")
    find.add_argument("--json", action="store_true", help="one JSON object per study")
    get = sub.add_parser("get", help="retrieve a study or series into a folder (resumes)")
    add_server_options(get)
    get.add_argument("--study", required=True, metavar="UID")
    get.add_argument("--series", action="append", default=None, metavar="UID", help="only this series (repeatable)")
    get.add_argument("--out", required=True, type=Path, help="folder: OUT/<study>/<series>/<instance>.dcm")
    get.add_argument("--parallel", type=int, default=None, help="series fetched at once (default: 1 DIMSE, 4 web)")
    send = sub.add_parser("send", help="send DICOM files or folders (C-STORE or STOW-RS)")
    add_server_options(send)
    send.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    from workstation.jobs.pacs_listen import add_listen_arguments

    add_listen_arguments(sub.add_parser("listen", help="receive pushed studies; run routed analyses"))


def resolve(args: argparse.Namespace) -> tuple[Node, LocalAE, Any]:
    """The node SERVER names (with the command line's changes), our AE, the settings."""
    from dataclasses import replace

    from workstation.io.pacs.config import read_settings_file

    settings = read_settings_file()
    node = parse_server(args.server, settings.by_name, timeout_s=args.timeout)
    if args.retrieve and not isinstance(node, DicomWebNode):
        node = replace(node, retrieve=args.retrieve)
    if args.ca_file or args.cert_file or args.key_file or args.no_verify:
        node = replace(node, tls=Tls(args.ca_file or "", args.cert_file or "", args.key_file or "", not args.no_verify))
    if args.auth and isinstance(node, DicomWebNode):
        node = replace(node, auth=Auth(args.auth, node.auth.username))
    local = LocalAE(args.aet or settings.local.ae_title,
                    settings.local.store_port if args.store_port is None else args.store_port,
                    settings.local.bind_address if args.bind is None else args.bind)
    return node, local, settings


def _echo(args: argparse.Namespace) -> int:
    from workstation.io.pacs.client import connect

    node, local, _ = resolve(args)
    seconds = connect(node, local).echo()
    print(f"PACS {node.label}: OK ({'C-ECHO' if not isinstance(node, DicomWebNode) else 'QIDO-RS'}, "
          f"{seconds * 1000:.0f} ms)")
    return 0


def _find(args: argparse.Namespace) -> int:
    from workstation.io.pacs.client import connect

    node, local, _ = resolve(args)
    try:
        date_from, date_to = parse_date_range(args.study_date)
    except ValueError as exc:
        raise PacsError(node.label, Fault.CONFIG, f"--study-date: {exc}") from None
    query = Query(patient_id=args.patient_id, patient_name=args.patient_name, date_from=date_from, date_to=date_to,
                  modality=args.modality, accession=args.accession)
    rows = [r for r in connect(node, local).find("STUDY", query) if isinstance(r, StudyRow)]
    for row in rows:
        if args.json:
            print(json.dumps(row.to_json()))
        else:
            print(f"{row.study_uid}  {row.patient_id}  {row.study_date}  {'/'.join(row.modalities)}  "
                  f"{row.n_instances if row.n_instances is not None else '?'} images  {row.description}")
    if not args.json:
        print(f"{len(rows)} studies", file=sys.stderr)
    return 0


def retrieve_into(args: argparse.Namespace, node: Node, local: LocalAE, destination: Any,
                  series: list[str] | None = None) -> Any:
    """Retrieve ``args.study`` into ``destination`` (a storage SCP runs for C-MOVE)."""
    from contextlib import ExitStack

    from workstation.io.pacs.client import connect
    from workstation.io.pacs.retrieve import retrieve
    from workstation.io.pacs.scp import StoreServer

    parallel = getattr(args, "parallel", None) or (node.parallel if isinstance(node, DicomWebNode) else 1)
    with ExitStack() as stack:
        server = None
        if not isinstance(node, DicomWebNode) and node.retrieve == "move":
            server = stack.enter_context(StoreServer(local))
        client = connect(node, local, server)
        return retrieve(client, args.study, destination, series_uids=series, parallel=parallel, node=node.label)


def _get(args: argparse.Namespace) -> int:
    from workstation.io.pacs.transfer import FolderDestination

    node, local, _ = resolve(args)
    result = retrieve_into(args, node, local, FolderDestination(args.out), args.series)
    print(f"study {args.study}: {len(result.received)} instances received, {result.already_present} already in "
          f"{args.out}, {result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s ({result.megabytes_per_s:.1f} MB/s)")
    if not result.complete:
        raise PacsError(node.label, Fault.INCOMPLETE, f"{result.missing} of {result.listed} instances did not arrive "
                        "(run the same command again to fetch only those)")
    return 0


def _send(args: argparse.Namespace) -> int:
    from workstation.io.pacs.client import connect
    from workstation.io.pacs.send import collect, send

    node, local, _ = resolve(args)
    files, skipped = collect(args.paths)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not files:
        raise PacsError(node.label, Fault.CONFIG, "no DICOM file to send among the paths given")
    result = send(connect(node, local), files)
    for path, reason in result.refused:
        print(f"refused {path}: {reason}", file=sys.stderr)
    print(f"{len(result.sent)} of {len(files)} files sent to {node.label} in {result.seconds:.1f} s")
    if result.refused:
        raise PacsError(node.label, Fault.REFUSED, f"{len(result.refused)} of {len(files)} files were refused")
    return 0


def _handlers() -> dict[str, Callable[[argparse.Namespace], int]]:
    from workstation.jobs.pacs_listen import listen

    return {"echo": _echo, "find": _find, "get": _get, "send": _send, "listen": listen}


def main(args: argparse.Namespace) -> int:
    """Run one ``pacs`` sub-command; the exit status."""
    try:
        return _handlers()[args.pacs_command](args)
    except PacsError as exc:
        print(f"workstation-batch pacs {args.pacs_command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"workstation-batch pacs {args.pacs_command}: interrupted; what was received is kept", file=sys.stderr)
        return INTERRUPTED
