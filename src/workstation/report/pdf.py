"""PDF reports (reportlab platypus): one layout for every analysis.

Every page carries a running line identifying patient and study at the top, and the
disclaimer with "page n of m" at the bottom; the first page opens with the document
title and the header table (patient, birth date, sex, study date, accession, study).
Sections follow, each ending with its provenance.  Text is laid out by platypus, so
long values wrap instead of running off the page.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence
from xml.sax.saxutils import escape

from workstation.core.provenance import Provenance
from workstation.report.model import (
    Block, Images, Letterhead, Notes, Paragraph, Plot, ReportHeader, ReportSection, Table,
)

DISCLAIMER = "Research software: not a medical device. Not for diagnostic use."
_MARGIN_MM = 16.0


def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("ws-title", parent=base["Title"], fontSize=16, spaceAfter=6),
        "h2": ParagraphStyle("ws-h2", parent=base["Heading2"], fontSize=12, spaceBefore=8, spaceAfter=4),
        "h3": ParagraphStyle("ws-h3", parent=base["Heading3"], fontSize=10, spaceBefore=6, spaceAfter=2),
        "body": ParagraphStyle("ws-body", parent=base["Normal"], fontSize=9, leading=11.5),
        "bold": ParagraphStyle("ws-bold", parent=base["Normal"], fontSize=9.5, leading=12, fontName="Helvetica-Bold"),
        "cell": ParagraphStyle("ws-cell", parent=base["Normal"], fontSize=8, leading=9.5),
        "small": ParagraphStyle("ws-small", parent=base["Normal"], fontSize=7, leading=8.5),
    }


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph as RLParagraph

    return RLParagraph(escape(text).replace("\n", "<br/>"), style)


def _table(rows: Sequence[Sequence[str]], width: float, styles: dict[str, Any], *, heading: bool,
           key_columns: Sequence[int] = (), swatches: Optional[Mapping[int, tuple[int, int, int]]] = None) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    n = max(len(r) for r in rows)
    cells = [[_p(str(c), styles["cell"]) for c in list(r) + [""] * (n - len(r))] for r in rows]
    lengths = [max(len(str(r[c])) if c < len(r) else 0 for r in rows) for c in range(n)]
    weights = [min(max(v, 4), 40) for v in lengths]
    widths = [width * w / sum(weights) for w in weights]
    table = RLTable(cells, colWidths=widths, repeatRows=1 if heading else 0, hAlign="LEFT")
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    if heading:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e6ea")))
    for c in key_columns:
        style.append(("BACKGROUND", (c, 0), (c, -1), colors.HexColor("#f1f3f5")))
    for r, rgb in (swatches or {}).items():
        style.append(("BACKGROUND", (0, r), (0, r), colors.Color(*(v / 255 for v in rgb))))
    table.setStyle(TableStyle(style))
    return table


def _png(rgb: Any) -> io.BytesIO:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    buf.seek(0)
    return buf


def _images(block: Images, width: float, styles: dict[str, Any]) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image as RLImage
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    per_row = max(1, block.per_row)
    cell_w = width / per_row
    cap = block.max_height_mm * mm
    cells: list[Any] = []
    for k in block.images:
        w = cell_w - 6
        h = w * k.rgb.shape[0] / k.rgb.shape[1]
        if h > cap:  # tall images (mammograms) keep a row on the page
            w, h = w * cap / h, cap
        cells.append([RLImage(_png(k.rgb), width=w, height=h), _p(k.caption, styles["small"])])
    grid: list[list[Any]] = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    grid = [row + [""] * (per_row - len(row)) for row in grid]
    table = RLTable(grid, colWidths=[cell_w] * per_row, hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [table]


def _plot(block: Plot, width: float) -> Any:
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    height = 150.0
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 28, width - 150, height - 40
    plot.data = [list(zip(c.x, c.y)) for c in block.curves]
    for k, c in enumerate(block.curves):
        plot.lines[k].strokeColor = colors.Color(*(v / 255 for v in c.colour))
        plot.lines[k].strokeWidth = 1.3
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    drawing.add(plot)
    drawing.add(String(40 + plot.width / 2, 4, block.x_label, fontSize=7, textAnchor="middle"))
    drawing.add(String(2, height - 8, block.y_label, fontSize=7))
    legend = Legend()
    legend.x, legend.y, legend.fontSize = width - 100, height - 20, 7
    legend.colorNamePairs = [(colors.Color(*(v / 255 for v in c.colour)), c.label) for c in block.curves]
    drawing.add(legend)
    return drawing


def _block(block: Block, width: float, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import Spacer

    out: list[Any] = []
    title = getattr(block, "title", "")
    if title:
        out.append(_p(title, styles["h3"]))
    if isinstance(block, Paragraph):
        out.append(_p(block.text, styles["bold" if block.emphasis else "body"]))
    elif isinstance(block, Table):
        if block.rows:
            out += [_table(block.rows, width, styles, heading=block.heading, swatches=block.swatches), Spacer(1, 4)]
    elif isinstance(block, Images):
        if block.images:
            out += _images(block, width, styles)
    elif isinstance(block, Plot):
        out.append(_plot(block, width))
    elif isinstance(block, Notes):
        out += [_p(f"- {line}", styles["body"]) for line in block.lines]
    return out


def _provenance(prov: Provenance, width: float, styles: dict[str, Any]) -> list[Any]:
    return [_p("Provenance", styles["h3"]), _table([list(r) for r in prov.rows()], width, styles, heading=False,
                                                     key_columns=(0,))]


def _letterhead(letterhead: Letterhead, width: float, styles: dict[str, Any]) -> list[Any]:
    """The institution's logo (when its file can be read) beside its name."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Image as RLImage
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    name = _p(letterhead.institution, styles["h2"])
    if letterhead.logo is None:
        return [name]
    try:
        from PIL import Image

        with Image.open(letterhead.logo) as im:
            w, h = im.size
        height = 14 * mm
        logo = RLImage(str(letterhead.logo), width=height * w / max(h, 1), height=height)
    except Exception:  # noqa: BLE001 - a missing or unreadable logo must not cost the report
        return [name]
    table = RLTable([[logo, name]], colWidths=[logo.drawWidth + 4 * mm, width - logo.drawWidth - 4 * mm],
                    hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [table]


def story(title: str, header: ReportHeader, sections: Sequence[ReportSection], width: float,
          letterhead: Optional[Letterhead] = None) -> list[Any]:
    """The flowables of a report: letterhead, title, header table, sections with their provenance."""
    from reportlab.platypus import Spacer

    styles = _styles()
    out: list[Any] = _letterhead(letterhead, width, styles) if letterhead is not None and letterhead.institution \
        else []
    out += [_p(title, styles["title"]),
                      _table([list(r) for r in header.rows()], width, styles, heading=False, key_columns=(0, 2)),
                      Spacer(1, 6)]
    for section in sections:
        out.append(_p(section.title, styles["h2"]))
        for block in section.blocks:
            out += _block(block, width, styles)
        if section.provenance is not None:
            out += _provenance(section.provenance, width, styles)
    return out


def _numbered_canvas(title: str, header: ReportHeader, stamp: str = "", disclaimer: str = DISCLAIMER) -> type:
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        """Draws the running line and the footer once the page count is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab API
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            w, h = self._pagesize
            m = _MARGIN_MM * mm
            self.setFont("Helvetica", 7.5)
            self.setFillGray(0.35)
            self.drawString(m, h - 9 * mm, f"Workstation - {title}")
            self.drawRightString(w - m, h - 9 * mm, header.running_line())
            self.setStrokeGray(0.7)
            self.line(m, h - 10.5 * mm, w - m, h - 10.5 * mm)
            self.line(m, 12 * mm, w - m, 12 * mm)
            self.setFont("Helvetica-Oblique", 7.5)
            self.drawString(m, 8 * mm, disclaimer)
            self.setFont("Helvetica", 7.5)
            self.drawRightString(w - m, 8 * mm, f"Page {self._pageNumber} of {total}")
            if stamp:  # the state of an unsigned report, on every page
                self.setFont("Helvetica-Bold", 9)
                self.setFillColorRGB(0.75, 0.1, 0.1)
                self.drawCentredString(w / 2, h - 9 * mm, stamp)

    return NumberedCanvas


def write_pdf(path: str | Path, title: str, header: ReportHeader, sections: Sequence[ReportSection], *,
              letterhead: Optional[Letterhead] = None, stamp: str = "", disclaimer: str = DISCLAIMER) -> Path:
    """Write a report of ``sections`` under ``header`` to ``path`` (A4) and return the path.

    ``letterhead`` puts the institution's name and logo above the title; ``stamp`` (the
    state of an unsigned report) is printed at the top of every page.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    margin = _MARGIN_MM * mm
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="Workstation", leftMargin=margin,
                            rightMargin=margin, topMargin=margin, bottomMargin=margin + 4 * mm)
    doc.build(story(title, header, sections, A4[0] - 2 * margin, letterhead),
              canvasmaker=_numbered_canvas(title, header, stamp, disclaimer))
    return path
