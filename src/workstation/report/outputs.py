"""Every output of a study report in one call: PDF, SR, KOS, plain text and HTML.

:func:`write_outputs` writes them into a folder and returns a :class:`ReportFiles`;
``ReportFiles.dicom`` lists the DICOM objects (SR and KOS), which is what sending the
report to a PACS takes.  File names hold no patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.core.study import Study
from workstation.report.document import StudyReport
from workstation.report.key_objects import build_kos
from workstation.report.model import Letterhead, ReportHeader
from workstation.report.sr import evidence, save
from workstation.report.study_pdf import write_report_pdf
from workstation.report.study_sr import build_sr
from workstation.report.study_text import as_html, as_text

FORMATS = ("pdf", "sr", "kos", "txt", "html")
NAMES = {"pdf": "report.pdf", "sr": "report_sr.dcm", "kos": "report_ko.dcm", "txt": "report.txt",
         "html": "report.html"}


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_outputs` wrote (``None``: not asked for, or no key image instance for a KOS)."""

    pdf: Optional[Path] = None
    sr: Optional[Path] = None
    kos: Optional[Path] = None
    txt: Optional[Path] = None
    html: Optional[Path] = None

    @property
    def dicom(self) -> list[Path]:
        """The DICOM objects, to send to a PACS."""
        return [p for p in (self.sr, self.kos) if p is not None]

    @property
    def all(self) -> list[Path]:
        return [p for p in (self.pdf, self.sr, self.kos, self.txt, self.html) if p is not None]

    def kinds(self) -> str:
        """``pdf, sr, txt``: what was written, for the audit log."""
        return ", ".join(k for k in FORMATS if getattr(self, k) is not None)


def study_files(study: Study) -> dict[str, Path]:
    """SOP Instance UID -> file of every image plane of ``study``."""
    return {f.sop_instance_uid: Path(f.path) for s in study.series for f in s.frames}


def _sources(report: StudyReport, files: Mapping[str, Path]) -> tuple[list[Any], dict[str, Any]]:
    """The SR evidence (key image headers, else one image of the study) and key image headers by UID."""
    wanted = [k.sop_instance_uid for k in report.key_images if k.sop_instance_uid in files]
    unique = list(dict.fromkeys(wanted))
    headers = dict(zip(unique, evidence([files[u] for u in unique]))) if unique else {}
    if headers:
        return list(headers.values()), headers
    if not files:
        raise ValueError("the study has no image to identify patient and study in the SR")
    return evidence([next(iter(files.values()))]), {}


def write_outputs(report: StudyReport, folder: str | Path, header: ReportHeader,
                  images: Mapping[str, NDArray[np.uint8]], files: Mapping[str, Path], reader: str,
                  letterhead: Optional[Letterhead] = None, formats: Iterable[str] = FORMATS) -> ReportFiles:
    """Write ``report`` in ``formats`` into ``folder``.

    ``images``: rendered pixels of the key images by record key; ``files``: the study's
    image files by SOP Instance UID (their headers give the DICOM objects their patient
    and study); ``reader``: who the SR names as observer.
    """
    chosen = set(formats)
    unknown = chosen - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}; known: {', '.join(FORMATS)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Optional[Path]] = {k: None for k in FORMATS}
    institution = letterhead.institution if letterhead is not None else ""
    if "pdf" in chosen:
        written["pdf"] = write_report_pdf(out / NAMES["pdf"], report, header, images, letterhead)
    if chosen & {"sr", "kos"}:
        evidence_sets, headers = _sources(report, files)
        refs = _references(report, headers)
        if "sr" in chosen:
            written["sr"] = save(build_sr(report, evidence_sets, reader, institution, refs), out / NAMES["sr"])
        kos = build_kos(report, headers, reader, institution) if "kos" in chosen else None
        if kos is not None:
            written["kos"] = save(kos, out / NAMES["kos"])
    if "txt" in chosen:
        written["txt"] = _write_text(out / NAMES["txt"], as_text(report, header.accession_number))
    if "html" in chosen:
        written["html"] = _write_text(out / NAMES["html"], as_html(report, header.accession_number))
    return ReportFiles(**written)


def _references(report: StudyReport, headers: Mapping[str, Any]) -> Sequence[tuple[str, str, Optional[int]]]:
    refs = []
    for k in report.key_images:
        ds = headers.get(k.sop_instance_uid)
        if ds is not None:
            refs.append((str(ds.SOPClassUID), k.sop_instance_uid, k.frame))
    return refs


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
