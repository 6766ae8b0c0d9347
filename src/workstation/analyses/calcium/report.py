"""PDF report of a calcium score (reportlab), with key images of the lesions."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium.result import CalciumResult
from workstation.core.volume import Volume

WEIGHT_COLORS: dict[int, tuple[int, int, int]] = {1: (255, 235, 59), 2: (255, 152, 0), 3: (244, 67, 54), 4: (156, 39, 176)}
DISCLAIMER = "Research software: not a medical device. Not for diagnostic use."


def key_image(volume: Volume, result: CalciumResult, lesion_id: int, half_width_mm: float = 40.0) -> NDArray[np.uint8]:
    """RGB crop (mediastinal window 40/400 HU) around a lesion with its voxels coloured by weight."""
    les = result.lesion(lesion_id)
    z = int(round(les.centroid_index[0]))
    if z not in les.slice_indices:
        z = les.slice_indices[len(les.slice_indices) // 2]
    _, dy, dx = volume.spacing
    cy, cx = les.centroid_index[1], les.centroid_index[2]
    hy, hx = int(half_width_mm / dy), int(half_width_mm / dx)
    ny, nx = volume.shape[1:]
    y0, y1 = max(0, int(cy) - hy), min(ny, int(cy) + hy)
    x0, x1 = max(0, int(cx) - hx), min(nx, int(cx) + hx)
    hu = np.asarray(volume.array[z, y0:y1, x0:x1], dtype=np.float32)
    grey = np.clip((hu - (40.0 - 200.0)) / 400.0 * 255.0, 0, 255).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    plane = ny * nx
    in_slice = (result.voxel_index // plane) == z
    rows = (result.voxel_index[in_slice] % plane) // nx
    cols = result.voxel_index[in_slice] % nx
    ids = result.voxel_lesion[in_slice]
    inside = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)
    for r, c, i in zip(rows[inside], cols[inside], ids[inside]):
        rgb[r - y0, c - x0] = WEIGHT_COLORS.get(result.lesion(int(i)).weight, (255, 0, 0))
    return rgb


def _png(rgb: NDArray[np.uint8], size_px: int = 220) -> io.BytesIO:
    from PIL import Image

    img = Image.fromarray(rgb).resize((size_px, size_px), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return buf


def write_report(
    result: CalciumResult, volume: Optional[Volume], path: str | Path, *, title: str = "Coronary calcium score"
) -> Path:
    """Write the PDF report to ``path`` and return it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(title, styles["Title"])]
    pct = result.percentile
    header = [
        ["Patient ID", result.patient_id or "-", "Study date", result.study_date or "-"],
        ["Age", f"{result.age:g}" if result.age is not None else "-", "Sex", result.sex or "-"],
        ["Device", result.device, "Report", datetime.now().strftime("%Y-%m-%d %H:%M")],
    ]
    story.append(_table(header, colors, TableStyle, Table, head=False))
    story.append(Spacer(1, 4 * mm))
    totals = [
        ["Agatston score", f"{result.agatston_total:.1f}"],
        ["Volume score", f"{result.volume_mm3_total:.1f} mm3"],
        ["Mass score", f"{result.mass_mg_total:.2f} mg"],
        ["Risk category", f"{result.risk_category} ({_risk_label(result)})"],
        ["CAC-DRS", result.cac_drs],
        ["MESA percentile", f"{pct:.0f}" if pct is not None else "n/a (age/sex unknown or outside 45-84)"],
    ]
    story.append(Paragraph("Totals", styles["Heading2"]))
    story.append(_table(totals, colors, TableStyle, Table, head=False))
    story.append(Paragraph("Per artery", styles["Heading2"]))
    rows = [["Artery", "Agatston", "Volume mm3", "Mass mg", "Lesions"]]
    for artery, v in result.per_artery().items():
        rows.append([artery, f"{v['agatston']:.1f}", f"{v['volume_mm3']:.1f}", f"{v['mass_mg']:.2f}", str(v["lesions"])])
    story.append(_table(rows, colors, TableStyle, Table))
    story.append(Paragraph("Lesions", styles["Heading2"]))
    rows = [["#", "Slices", "Area mm2", "Peak HU", "W", "Agatston", "Vol mm3", "Mass mg", "Artery"]]
    for les in result.lesions:
        rows.append([
            str(les.id), f"{min(les.slice_indices)}-{max(les.slice_indices)}", f"{les.area_mm2:.1f}",
            f"{les.peak_hu:.0f}", str(les.weight), f"{les.agatston:.1f}", f"{les.volume_mm3:.1f}",
            f"{les.mass_mg:.2f}", les.artery,
        ])
    story.append(_table(rows, colors, TableStyle, Table))
    if result.warnings:
        story.append(Paragraph("Warnings", styles["Heading2"]))
        for w in result.warnings:
            story.append(Paragraph(w, styles["Normal"]))
    if volume is not None and result.lesions:
        story.append(Paragraph("Key images", styles["Heading2"]))
        cells = []
        for les in result.lesions[:12]:
            img = Image(_png(key_image(volume, result, les.id)), width=40 * mm, height=40 * mm)
            cells.append([img, Paragraph(f"#{les.id} {les.artery}, slice {les.slice_indices[0]}", styles["Normal"])])
        grid: list[list[object]] = [list(cells[i : i + 4]) for i in range(0, len(cells), 4)]
        grid = [r + [""] * (4 - len(r)) for r in grid]
        story.append(Table(grid, colWidths=[45 * mm] * 4, hAlign="LEFT"))
    if pct is not None:
        from workstation.analyses.calcium.mesa import reference_status

        story.append(Paragraph(f"Percentile reference: {reference_status()}", styles["Normal"]))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(DISCLAIMER, styles["Italic"]))
    SimpleDocTemplate(str(path), pagesize=A4, title=title, author="workstation").build(story)
    return path


def _risk_label(result: CalciumResult) -> str:
    from workstation.analyses.calcium.risk import RISK_LABELS

    return RISK_LABELS[result.risk_category]


def _table(rows: list[Any], colors: object, style_cls: type, table_cls: type, head: bool = True) -> object:
    style = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8)]  # type: ignore[attr-defined]
    if head:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey))  # type: ignore[attr-defined]
    table = table_cls(rows, hAlign="LEFT")
    table.setStyle(style_cls(style))
    return table
