"""The cardiac function section of a report: LV and RV tables with normal ranges, curve, images, segments."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from workstation.analyses.cardiac_function import reference
from workstation.analyses.cardiac_function.bullseye import render
from workstation.analyses.cardiac_function.prepare import CineInput
from workstation.analyses.cardiac_function.result import CardiacResult, Ventricle
from workstation.report.images import enlarge, grey, paint, percentile_window
from workstation.report.model import Block, Curve, Images, KeyImage, Notes, Paragraph, Plot, ReportSection, Table

TITLE = "Cardiac function"
COLOURS = {1: (230, 60, 60), 2: (60, 200, 90), 3: (70, 120, 240)}  # LV blood pool, LV myocardium, RV blood pool


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def rows(v: Ventricle, side: str, sex: str) -> list[tuple[str, str, str, str, str]]:
    """(parameter, value, indexed value, normal range, flag) rows of one ventricle."""
    ix = v.indexed()
    items: list[tuple[str, Optional[float], Optional[float], str, str]] = [
        ("EDV (ml)", v.edv_ml, ix.get("edv_ml_m2"), "edv_ml", ""),
        ("ESV (ml)", v.esv_ml, ix.get("esv_ml_m2"), "esv_ml", ""),
        ("SV (ml)", v.sv_ml, ix.get("sv_ml_m2"), "sv_ml", ""),
        ("EF (%)", v.ef_pct, None, "ef_pct", ""),
    ]
    if v.co_l_min is not None:
        items.append(("CO (l/min)", v.co_l_min, ix.get("ci_l_min_m2"), "co", ""))
    if v.mass_g is not None:
        items.append(("Mass (g)", v.mass_g, ix.get("mass_g_m2"), "mass_g_m2", "indexed"))
    out = []
    for name, value, indexed, key, which in items:
        full = f"{side}_{key}"
        checked = indexed if which == "indexed" else value
        digits = 2 if name.startswith("CO") else 1
        out.append((name, _fmt(value, digits), _fmt(indexed, digits), reference.range_text(full, sex),
                    reference.flag(full, sex, checked)))
    return out


def _table(v: Ventricle, side: str, sex: str) -> Table:
    heading = ("", "value", "per m2 BSA", "normal range" + (f" ({sex})" if sex in ("M", "F") else ""), "")
    title = f"{side.upper()} (ED phase {v.ed_phase}, ES phase {v.es_phase})"
    return Table((heading, *rows(v, side, sex)), title)


def _curve(result: CardiacResult) -> Plot:
    t = tuple(float(x) * (1000.0 if result.timed else 1.0) for x in result.times_s)
    return Plot((Curve(t, tuple(result.lv_curve_ml), "LV", COLOURS[1]), Curve(t, tuple(result.rv_curve_ml), "RV",
                                                                           COLOURS[3])),
                "trigger delay (ms)" if result.timed else "phase", "volume (ml)", "Volume-time curve")


def contour_image(image: Any, labels: Any, size_px: int = 240) -> np.ndarray:
    """One plane windowed by its percentiles with the borders of each structure painted."""
    width, level = percentile_window(image, 1.0, 99.5)
    rgb = grey(image, width, level)
    for label, colour in COLOURS.items():
        mask = labels == label
        border = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
        rgb = paint(rgb, border, colour)
    return enlarge(rgb, size_px)


def key_images(result: CardiacResult, cine: Optional[CineInput]) -> Images:
    """The mid-ventricular slice at ED and ES with its contours, and the bull's-eye."""
    images = []
    lv = result.lv
    slices = list(result.lv_limits[lv.ed_phase].slices())
    k = slices[len(slices) // 2] if slices else result.labels.shape[1] // 2
    if cine is not None:
        for name, phase in (("ED", lv.ed_phase), ("ES", lv.es_phase)):
            images.append(KeyImage(contour_image(cine.series.volumes[phase].array[k], result.labels[phase, k]),
                                   f"{name}, phase {phase}, slice {k}"))
    images.append(KeyImage(render(result.segments, 240), "Systolic wall thickening (%), AHA 17 segments"))
    return Images(tuple(images), "Contours (red LV blood pool, green LV myocardium, blue RV blood pool)", per_row=3,
                  max_height_mm=60.0)


def _segments(result: CardiacResult) -> Table:
    body = tuple((str(s.number), s.name, _fmt(s.ed_mm), _fmt(s.es_mm), _fmt(s.thickening_pct, 0))
                 for s in result.segments)
    return Table((("AHA", "segment", "ED wall (mm)", "ES wall (mm)", "thickening (%)"), *body),
                 "Regional wall thickness and thickening")


def section(result: CardiacResult, cine: Optional[CineInput] = None) -> ReportSection:
    """LV and RV volumes, function and mass with normal ranges, the curve, images, segments and warnings."""
    sex = cine.sex if cine is not None else ""
    hr = "unknown" if result.lv.heart_rate_bpm is None else f"{result.lv.heart_rate_bpm:.0f} /min"
    bsa = "unknown (no height and weight)" if result.lv.bsa_m2 is None else f"{result.lv.bsa_m2:.2f} m2 (Mosteller)"
    blocks: list[Block] = [
        Paragraph(f"Model {result.model} {result.version} on {result.device}. Heart rate {hr}; body surface area "
                  f"{bsa}. {result.method.get('volumes', '')}; {result.method.get('papillary_muscles', '')}; "
                  f"mass: {result.method.get('mass', '')}. Base at {result.basal_end}."),
        _table(result.lv, "lv", sex),
        _table(result.rv, "rv", sex),
        _curve(result),
        key_images(result, cine),
        _segments(result),
        Notes(tuple(f"Normal ranges: {s}" for s in reference.sources_used())
              + (f"{reference.table()['interval']}; a value outside is marked low or high.",), title="Reference"),
    ]
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    blocks.append(Notes((result.intended_use,), title="Intended use"))
    return ReportSection(TITLE, tuple(blocks), result.provenance)
