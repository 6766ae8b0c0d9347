"""A study report as plain text and as HTML, for pasting into a RIS.

Section headings, the reader's text, each analysis's measured values (``label: value``)
and notice, key image captions, addenda and the signature block.  No patient
identification beyond the accession number: the RIS holds the patient.
"""

from __future__ import annotations

from html import escape

from workstation.report.document import StudyReport
from workstation.report.study_pdf import signature_lines


def as_text(report: StudyReport, accession: str = "") -> str:
    """The report as plain text (lines of at most what the reader wrote; no wrapping)."""
    lines = [report.title.upper()]
    if accession:
        lines.append(f"Accession: {accession}")
    for s in report.sections:
        lines += ["", f"{s.title.upper()}:", s.text.strip() or "-"]
        for ins in s.insertions:
            lines.append(f"{ins.title}, measured values:")
            lines += [f"  {i.label}: {i.text}" for i in ins.items]
            if ins.notice:
                lines.append(f"  ({ins.notice})")
    if report.key_images:
        lines += ["", "KEY IMAGES:"]
        lines += [f"  {n}. {k.caption or '-'} ({k.describe()})" for n, k in enumerate(report.key_images, start=1)]
    for n, note in enumerate(report.addenda, start=1):
        lines += ["", f"ADDENDUM {n} ({note.when}, {note.who}):", note.text]
    lines += [""] + signature_lines(report)
    return "\n".join(lines) + "\n"


def as_html(report: StudyReport, accession: str = "") -> str:
    """The report as a small HTML fragment (headings, paragraphs, tables of values)."""
    out = [f"<h2>{escape(report.title)}</h2>"]
    if accession:
        out.append(f"<p>Accession: {escape(accession)}</p>")
    for s in report.sections:
        out.append(f"<h3>{escape(s.title)}</h3>")
        out += [f"<p>{escape(p)}</p>" for p in (s.text.strip() or "-").split("\n") if p.strip()]
        for ins in s.insertions:
            rows = "".join(f"<tr><td>{escape(i.label)}</td><td>{escape(i.text)}</td></tr>" for i in ins.items)
            out.append(f"<table><caption>{escape(ins.title)}, measured values</caption>{rows}</table>")
            if ins.notice:
                out.append(f"<p><em>{escape(ins.notice)}</em></p>")
    if report.key_images:
        items = "".join(f"<li>{escape(k.caption or '-')} ({escape(k.describe())})</li>" for k in report.key_images)
        out.append(f"<h3>Key images</h3><ol>{items}</ol>")
    for n, note in enumerate(report.addenda, start=1):
        out.append(f"<h3>Addendum {n} ({escape(note.when)}, {escape(note.who)})</h3><p>{escape(note.text)}</p>")
    out += [f"<p><strong>{escape(line)}</strong></p>" for line in signature_lines(report)]
    return "\n".join(out) + "\n"
