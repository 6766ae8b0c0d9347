"""``workstation-batch report``: one study's report from the results ``run`` wrote.

::

    workstation-batch report RESULTS/<StudyInstanceUID> --study PATH --template NAME --out DIR
                      [--reader NAME] [--institution TEXT] [--logo FILE] [--format pdf,sr,kos,txt,html]

Reads every ``<analysis>.json`` in the results folder, fills the template's draft with
each analysis's findings, renders the key images the findings suggest from the study at
``PATH`` (which also gives the patient and study identity), and writes ``report.pdf``,
``report_sr.dcm``, ``report.txt`` (and ``report_ko.dcm`` and ``report.html``) into
``DIR``.  The report is a draft: signing is a reader's act, done in the application.
Exit status 0 when written, 1 when the study or its results cannot be used, 2 for a
usage error.  Only the study UID is printed; the export is written to the audit log.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from workstation.core.redact import add_safe_root, redact
from workstation.core.study import Study

HELP = "compose a study report (PDF, SR, text) from the results of `run` and the study"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR/UID", help="a study's folder of `run` results")
    parser.add_argument("--study", required=True, type=Path, metavar="PATH", help="the study's DICOM files or folder")
    parser.add_argument("--template", required=True, metavar="NAME", help="report template (see --list-templates)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--reader", default="", help="the reader named in the report (default: the login name)")
    parser.add_argument("--institution", default="", help="institution name for the letterhead and the SR")
    parser.add_argument("--logo", type=Path, default=None, help="institution logo (PNG or JPEG)")
    parser.add_argument("--format", default="pdf,sr,kos,txt,html", help="comma-separated: pdf, sr, kos, txt, html")


def _say(text: str) -> None:
    print(redact(text), file=sys.stderr, flush=True)


def _study(path: Path, uid: str) -> Optional[Study]:
    """The study ``uid`` (the results folder's name) among the studies under ``path``."""
    from workstation.io.dicom import scan

    return next((s for s in scan([path]).studies if s.series and s.uid == uid), None)


def main(args: argparse.Namespace) -> int:
    from workstation.analyses.study_report import compose, read_results, suggested_key_images
    from workstation.io.writers import SourceFolderError, check_outside_sources
    from workstation.report.audit import AuditLog, os_user
    from workstation.report.model import Letterhead, ReportHeader
    from workstation.report.outputs import FORMATS, study_files, write_outputs
    from workstation.report.templates import catalogue

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        _say(f"workstation-batch report: --format takes {', '.join(FORMATS)}")
        return 2
    templates = catalogue()
    for problem in templates.problems:
        _say(f"workstation-batch report: skipped a user template: {problem}")
    try:
        template = templates.get(args.template)
    except KeyError as exc:
        _say(f"workstation-batch report: {exc.args[0]}")
        return 2
    for path, what in ((args.results, "results folder"), (args.study, "study")):
        if not path.exists():
            _say(f"workstation-batch report: no such {what}: {path}")
            return 2
    add_safe_root(args.out)
    uid = args.results.resolve().name
    try:
        results = read_results(args.results)
    except ValueError as exc:
        _say(f"workstation-batch report: {exc}")
        return 1
    if not results:
        _say(f"workstation-batch report: no analysis result in {args.results} (run `workstation-batch run` first)")
        return 1
    study = _study(args.study, uid)
    if study is None:
        _say(f"workstation-batch report: study {uid} is not in {args.study}")
        return 1
    files = study_files(study)
    try:
        check_outside_sources(args.out, {p.parent for p in files.values()})
    except SourceFolderError as exc:
        _say(f"workstation-batch report: {exc}")
        return 2
    report = compose(template, study.uid, results)
    keys = suggested_key_images(study, results)
    report = report.with_key_images(tuple(k.record for k in keys))
    reader = args.reader or os_user()
    letterhead = Letterhead(args.institution, args.logo) if args.institution else None
    written = write_outputs(report, args.out, ReportHeader.from_study(study), {k.record.key: k.rgb for k in keys},
                            files, reader, letterhead, formats)
    AuditLog.default().record("export", study.uid, f"batch report ({template.name}): {written.kinds()}", reader)
    print(f"study {study.uid}: {', '.join(p.name for p in written.all)} "
          f"({len(results)} analysis result(s), {len(keys)} key image(s))")
    return 0
