"""The PDF of a study report, in the one layout of :mod:`.pdf`.

Letterhead (institution name and logo), title, patient and study header, the five
sections with their text and the items each analysis inserted (with its notice: decision
support, not for clinical use), the key images, addenda, the signature block and the
source results (analysis, software, when, digest).  An unsigned report carries its state
at the top of every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.report.document import StudyReport
from workstation.report.model import (
    Block, Images, KeyImage, Letterhead, Notes, Paragraph, ReportHeader, ReportSection, Table,
)
from workstation.report.pdf import write_pdf

STAMPS = {"draft": "DRAFT - NOT SIGNED", "preliminary": "PRELIMINARY - NOT SIGNED"}


def signature_lines(report: StudyReport) -> list[str]:
    """The signature block: who signed and when, or the state of an unsigned report."""
    signed = report.signed
    if signed is not None:
        lines = [f"Electronically signed by {signed.who} on {signed.when.replace('T', ' ').rstrip('Z')} UTC."]
    elif report.state == "preliminary":
        marked = next((e for e in reversed(report.events) if e.action == "preliminary"), None)
        lines = ["Preliminary report, not signed" + (f" (by {marked.who}, {marked.when})." if marked else ".")]
    else:
        lines = ["Draft, not signed."]
    return lines + [f"Addendum {n} signed by {a.who} on {a.when.replace('T', ' ').rstrip('Z')} UTC."
                    for n, a in enumerate(report.addenda, start=1)]


def _section_blocks(report: StudyReport) -> list[ReportSection]:
    out = []
    for s in report.sections:
        blocks: list[Block] = [Paragraph(s.text)] if s.text.strip() else [Paragraph("-")]
        for ins in s.insertions:
            blocks.append(Table(tuple((i.label, i.text) for i in ins.items), f"{ins.title}: measured values",
                                heading=False))
            if ins.notice:
                blocks.append(Notes((ins.notice,), title=""))
        out.append(ReportSection(s.title, tuple(blocks)))
    return out


def key_image_section(report: StudyReport, images: Mapping[str, NDArray[np.uint8]]) -> Optional[ReportSection]:
    """The key images that have pixels, captioned with the reader's words and the plane and window."""
    shown = []
    for record in report.key_images:
        rgb = images.get(record.key)
        if rgb is None:
            continue
        caption = f"{record.caption} ({record.describe()})" if record.caption else record.describe()
        shown.append(KeyImage(rgb, caption))
    if not shown:
        return None
    return ReportSection("Key images", (Images(tuple(shown), per_row=3, max_height_mm=70.0),))


def report_sections(report: StudyReport, images: Mapping[str, NDArray[np.uint8]]) -> list[ReportSection]:
    """The PDF sections of a study report, in reading order."""
    sections = _section_blocks(report)
    keys = key_image_section(report, images)
    if keys is not None:
        sections.append(keys)
    for n, note in enumerate(report.addenda, start=1):
        sections.append(ReportSection(f"Addendum {n} ({note.when}, {note.who})", (Paragraph(note.text),)))
    sections.append(ReportSection("Signature", tuple(Paragraph(line, emphasis=True)
                                                     for line in signature_lines(report))))
    sources = [("Analysis", "Software", "Result created (UTC)", "Result SHA-256")]
    sources += [(i.title, i.software, i.result_created_utc, i.result_sha256[:16]) for i in report.insertions()]
    if len(sources) > 1:
        sections.append(ReportSection("Source results", (Table(tuple(sources)),)))
    return sections


def write_report_pdf(path: str | Path, report: StudyReport, header: ReportHeader,
                     images: Mapping[str, NDArray[np.uint8]], letterhead: Optional[Letterhead] = None) -> Path:
    """Write ``report`` as a PDF to ``path`` and return the path."""
    return write_pdf(path, report.title, header, report_sections(report, images), letterhead=letterhead,
                     stamp=STAMPS.get(report.state, ""))
