"""A one-page PDF of the CAD result: the hung views with their marks, the findings, the
suggested category and the intended-use statement (reportlab)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workstation.analyses.mammo_cad.loader import MammoExam
from workstation.analyses.mammo_cad.views import HANGING_ORDER

COLOURS = {"mass": (230, 40, 40), "calcification": (40, 200, 80)}


def marked_thumbnail(pixels: np.ndarray, boxes: list[tuple[str, tuple[float, ...]]], flip: bool,
                     max_side: int = 360) -> np.ndarray:
    """RGB uint8 thumbnail with box outlines (kind, (x0, y0, x1, y1) original pixels)."""
    step = max(int(np.ceil(max(pixels.shape) / max_side)), 1)
    small = pixels[::step, ::step].astype(np.float32)
    lo, hi = np.percentile(small, (1, 99.8))
    grey = (np.clip((small - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    h, w = grey.shape
    for kind, (x0, y0, x1, y1) in boxes:
        c = COLOURS.get(kind, (255, 200, 0))
        a0, a1 = int(np.clip(x0 / step, 0, w - 1)), int(np.clip(x1 / step, 0, w - 1))
        b0, b1 = int(np.clip(y0 / step, 0, h - 1)), int(np.clip(y1 / step, 0, h - 1))
        for t in range(2):
            rgb[b0:b1 + 1, min(a0 + t, w - 1)] = c
            rgb[b0:b1 + 1, max(a1 - t, 0)] = c
            rgb[min(b0 + t, h - 1), a0:a1 + 1] = c
            rgb[max(b1 - t, 0), a0:a1 + 1] = c
    return rgb[:, ::-1] if flip else rgb


def write_pdf(result: Any, exam: MammoExam, path: Path) -> Path:
    """Write the report to ``path``."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    y = height - 40
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(40, y, "Mammography CAD - decision support")
    pdf.setFont("Helvetica", 8)
    y -= 14
    pdf.drawString(40, y, f"Model {result.model} {result.model_version} on {result.device}; score threshold "
                          f"{result.score_threshold:.2f}. Not for clinical use.")
    views = {v.key: v for v in result.views}
    tile_w, tile_h = 250, 300
    for i, key in enumerate(HANGING_ORDER):
        image = exam.get(key)
        if image is None or key not in views:
            continue
        row, col = divmod(i, 2)
        boxes = [(f.kind, f.box_px) for f in result.for_view(key)]
        thumb = marked_thumbnail(image.pixels, boxes, views[key].display_flip)
        scale = min(tile_w / thumb.shape[1], tile_h / thumb.shape[0])
        w, h = thumb.shape[1] * scale, thumb.shape[0] * scale
        x0 = 40 + col * (tile_w + 15) + (tile_w - w if col == 0 else 0)
        y0 = height - 80 - (row + 1) * (tile_h + 10)
        pdf.drawImage(ImageReader(Image.fromarray(thumb)), x0, y0, w, h)
        pdf.drawString(x0 + 3, y0 + h - 10, key)
    y = height - 80 - 2 * (tile_h + 10) - 16
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(40, y, result.suggestion.text[:120])
    if len(result.suggestion.text) > 120:
        y -= 12
        pdf.drawString(40, y, result.suggestion.text[120:240])
    pdf.setFont("Helvetica", 8)
    y -= 16
    for f in result.findings[:20]:
        pdf.drawString(40, y, f"#{f.id} {f.view} {f.kind} score {f.score:.2f}  box {f.size_mm[0]:.1f} x "
                              f"{f.size_mm[1]:.1f} mm at ({f.box_mm[0]:.1f}, {f.box_mm[1]:.1f}) mm, {f.location}")
        y -= 11
    if not result.findings:
        pdf.drawString(40, y, "No CAD marks at the operating threshold.")
        y -= 11
    for w_text in result.warnings[:5]:
        pdf.drawString(40, y, f"Warning: {w_text}"[:130])
        y -= 11
    pdf.showPage()
    pdf.save()
    return path
