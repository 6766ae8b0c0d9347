"""The one PDF layout: header, sections, key images, provenance, disclaimer and page numbers on every page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workstation.core.provenance import InputDigest, ModelInfo, Provenance
from workstation.report.model import (Curve, Images, KeyImage, Notes, Paragraph, Plot, ReportHeader, ReportSection,
                                      Table)
from workstation.report.pdf import DISCLAIMER, write_pdf

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")


def _text(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1]  # one entry per page


def test_header_sections_provenance_and_every_page_identified(tmp_path: Path) -> None:
    header = ReportHeader("Jane Doe", "P-123", "1960-02-03", "F", "2025-01-01", "Head CT", "ACC9", "1.2.3")
    prov = Provenance("demo", "workstation 0.1.0 (source)", "cpu", {"threshold_hu": 130.0},
                      InputDigest("ab" * 32, "instances", 42), ModelInfo("m", "1.0", "cd" * 32))
    rows = (("#", "value"),) + tuple((str(i), f"{i * 1.5:.1f}") for i in range(90))  # spills onto page 2
    sections = [
        ReportSection("First analysis", (Paragraph("A long sentence that must wrap inside the page width " * 8),
                                         Table(rows, "Many rows"), Notes(("one warning",))), prov),
        ReportSection("Second analysis", (
            Images((KeyImage(np.zeros((20, 30, 3), np.uint8), "black"),), "Key images"),
            Plot((Curve((0.0, 1.0, 2.0), (0.0, 2.0, 1.0), "AIF", (200, 0, 0)),), "time (s)", "c"))),
    ]
    path = write_pdf(tmp_path / "r.pdf", "Demo report", header, sections)
    pages = _text(path)
    assert len(pages) >= 2
    for k, page in enumerate(pages, start=1):
        assert DISCLAIMER in page and f"Page {k} of {len(pages)}" in page
        assert "Jane Doe | ID P-123 | 2025-01-01" in " ".join(page.split())  # the running identification
    first = pages[0]
    for text in ("Demo report", "Patient", "Jane Doe", "Birth date", "1960-02-03", "Accession", "ACC9", "First analysis"):
        assert text in first
    everything = "\n".join(pages)
    assert "Second analysis" in everything and "one warning" in everything and "89" in everything
    assert "Provenance" in everything and "cd" * 32 in everything.replace("\n", "").replace(" ", "")
    width = max(len(line) for page in pages for line in page.splitlines())
    assert width < 160  # wrapped text: no line runs off the page


def test_unknown_patient_facts_print_as_unknown(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "r.pdf", "Demo", ReportHeader.from_dataset(None), [ReportSection("S")])
    page = _text(path)[0]
    assert "unknown" in page and "Patient unknown" in page
