"""The mammography CAD section of a report: the hung views with their marks, the findings, the
suggested category and the intended-use statement."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from workstation.analyses.mammo_cad.loader import MammoExam
from workstation.analyses.mammo_cad.result import MammoCadResult
from workstation.analyses.mammo_cad.views import HANGING_ORDER
from workstation.report.findings import Findings, Item, KeySuggestion, text_item
from workstation.report.images import grey, outline_box, percentile_window, shrink_step
from workstation.report.model import Block, Images, KeyImage, Notes, Paragraph, ReportSection, Table

TITLE = "Mammography CAD - decision support"
COLOURS = {"mass": (230, 40, 40), "calcification": (40, 200, 80)}
INTENDED_USE = ("Not for clinical use: marks from a detector trained on synthetic images, for a radiologist "
                "to review; the category is a suggestion.")


def marked_thumbnail(pixels: np.ndarray, boxes: Sequence[tuple[str, Sequence[float]]], flip: bool,
                     max_side: int = 360) -> np.ndarray:
    """RGB uint8 thumbnail with box outlines (kind, (x0, y0, x1, y1) original pixels).

    Windowed over the 1st-99.8th percentile of the view (presentation values vary by vendor).
    """
    step = shrink_step(pixels.shape, max_side)
    small = pixels[::step, ::step]
    rgb = grey(small, *percentile_window(small))
    for kind, (x0, y0, x1, y1) in boxes:
        rgb = outline_box(rgb, (x0 / step, y0 / step, x1 / step, y1 / step), COLOURS.get(kind, (255, 200, 0)))
    return rgb[:, ::-1] if flip else rgb


def section(result: MammoCadResult, exam: Optional[MammoExam]) -> ReportSection:
    """Hung views with marks, suggested category, findings and warnings of ``result``."""
    blocks: list[Block] = [Paragraph(INTENDED_USE), Paragraph(result.suggestion.text, emphasis=True)]
    views = {v.key: v for v in result.views}
    if exam is not None:
        images = []
        for key in HANGING_ORDER:
            image = exam.get(key)
            if image is None or key not in views:
                continue
            boxes = [(f.kind, f.box_px) for f in result.for_view(key)]
            marks = len(boxes)
            caption = f"{key}: {marks} mark{'s' if marks != 1 else ''}"
            images.append(KeyImage(marked_thumbnail(image.pixels, boxes, views[key].display_flip), caption))
        blocks.append(Images(tuple(images), "Views (masses red, calcification clusters green)", per_row=2,
                             max_height_mm=78.0))
    rows = [("#", "View", "Type", "Score", "Size mm", "Position mm", "Location")]
    for f in result.findings:
        rows.append((str(f.id), f.view, f.kind, f"{f.score:.2f}", f"{f.size_mm[0]:.1f} x {f.size_mm[1]:.1f}",
                     f"({f.box_mm[0]:.1f}, {f.box_mm[1]:.1f})", f.location))
    blocks.append(Table(tuple(rows), "Findings") if result.findings
                  else Paragraph("No CAD marks at the operating threshold."))
    blocks.append(Table((("Model", f"{result.model} {result.model_version}"),
                         ("Score threshold", f"{result.score_threshold:.2f}")), heading=False))
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    return ReportSection(TITLE, tuple(blocks), result.provenance)


def findings(result: Mapping[str, Any]) -> Findings:
    """The CAD marks and the suggested BI-RADS category of a result JSON, worded as decision support."""
    marks = result.get("findings") or []
    items: list[Item] = [
        Item("CAD marks", len(marks), decimals=0, key="findings", ucum="1"),
        Item("Suggested BI-RADS category (for review)", (result.get("suggested_assessment") or {}).get("category"),
             decimals=0, key="suggested_assessment.category", ucum="1"),
    ]
    for i, mark in enumerate(marks):
        items.append(Item(f"Mark {mark.get('id', i + 1)} {mark.get('view', '')} {mark.get('type', '')} score",
                          mark.get("score"), decimals=2, key=f"findings.{i}.score", ucum="1"))
        items.append(text_item(result, f"findings.{i}.location", f"Mark {mark.get('id', i + 1)} location"))
    if marks:
        kinds = sorted({str(m.get("type", "mark")) for m in marks})
        views = sorted({str(m.get("view", "")) for m in marks})
        what = f"{len(marks)} CAD mark{'s' if len(marks) != 1 else ''} ({', '.join(kinds)}) on {', '.join(views)}"
    else:
        what = "no CAD marks at the operating threshold"
    suggestion = (result.get("suggested_assessment") or {}).get("text", "no suggestion")
    sentence = f"Computer-aided detection (decision support): {what}. Suggested for review: {suggestion}."
    return Findings(tuple(items), sentence, INTENDED_USE, _suggestions(marks))


def _suggestions(marks: Sequence[Mapping[str, Any]]) -> tuple[KeySuggestion, ...]:
    """Each view with CAD marks, the marks outlined and numbered."""
    views: dict[str, list[Mapping[str, Any]]] = {}
    for mark in marks:
        views.setdefault(str(mark.get("sop_instance_uid", "")), []).append(mark)
    out = []
    for uid, mine in views.items():
        boxes = tuple({"kind": "rectangle", "points": [[m["box_px"][1], m["box_px"][0]], [m["box_px"][3], m["box_px"][2]]],
                       "text": str(m.get("id", ""))} for m in mine if len(m.get("box_px") or ()) == 4)
        out.append(KeySuggestion(f"{mine[0].get('view', '')}: CAD mark(s) {', '.join(str(m.get('id')) for m in mine)}",
                                 sop_instance_uid=uid, annotations=boxes))
    return tuple(out)
