"""The perfusion section of a report: stroke summary, method, AIF/VOF curves and the maps."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from workstation.analyses.perfusion.result import MAP_INFO, MAP_NAMES, PerfusionResult
from workstation.core.volume import VolumeSeries
from workstation.report.findings import Findings, item, number, text_item
from workstation.report.images import coloured, enlarge
from workstation.report.model import Block, Curve, Images, KeyImage, Notes, Plot, ReportSection, Table

TITLE = "Perfusion summary"
#: Display ranges of the map thumbnails (and the panel's first colour window).
RANGES = {"cbf": (0.0, 80.0), "cbv": (0.0, 6.0), "mtt": (0.0, 16.0), "tmax": (0.0, 14.0), "ttp": (0.0, 40.0)}


def _summary(result: PerfusionResult) -> Table:
    s = result.summary
    ratio = "n/a" if s.mismatch_ratio is None else f"{s.mismatch_ratio:.2f}"
    return Table((
        (f"Tmax > {s.tmax_threshold_s:g} s (hypoperfusion)", f"{s.hypoperfused_ml:.1f} ml"),
        (f"Core (rCBF < {100 * s.rcbf_threshold:.0f} % of {s.reference_cbf:.1f} ml/100g/min)", f"{s.core_ml:.1f} ml"),
        ("Mismatch volume", f"{s.mismatch_ml:.1f} ml"),
        ("Mismatch ratio", ratio),
        ("Affected side", s.affected_side),
        ("Tissue analysed", f"{s.tissue_ml:.1f} ml"),
    ), "Stroke summary", heading=False)


def _method(result: PerfusionResult) -> Table:
    thr = f"per voxel (oSVD, OI {result.oi_target or 0:.3f})" if result.threshold is None else f"{result.threshold:g}"
    aif = result.aif
    return Table((
        ("Deconvolution", f"{result.method.upper()}, threshold {thr}"),
        ("Time grid", f"{result.dt_s:.2f} s steps, {result.baseline_frames} baseline frames, {result.modality}"),
        ("Arterial input", f"{aif.source}, voxel (z, y, x) {aif.location}, {len(aif.voxels)} voxels, "
                           f"scale {aif.scale:.2f}"),
        ("Venous output", "none found" if result.vof is None else
         f"{result.vof.source}, voxel (z, y, x) {result.vof.location}"),
    ), "Method", heading=False)


def _curves(result: PerfusionResult) -> Plot:
    t = tuple(float(v) for v in result.times)
    curves = [Curve(t, tuple(float(v) for v in result.aif.curve), "AIF", (200, 30, 30))]
    if result.vof is not None:
        curves.append(Curve(t, tuple(float(v) for v in result.vof.curve), "VOF", (30, 60, 200)))
    return Plot(tuple(curves), "time (s)", "concentration (a.u.)", "Arterial input and venous output")


def map_thumbnails(result: PerfusionResult, z: Optional[int] = None) -> Images:
    """Each map's middle slice (or slice ``z``) coloured (jet) over its display range."""
    nz = next(iter(result.maps.values())).shape[0]
    z = nz // 2 if z is None else z
    images = []
    for name in MAP_NAMES:
        lo, hi = RANGES[name]
        rgb = enlarge(coloured(result.maps[name][z], lo, hi), 200)
        images.append(KeyImage(rgb, f"{name.upper()} {lo:g}-{hi:g} {MAP_INFO[name][1]}"))
    return Images(tuple(images), f"Maps, slice {z} of {nz} (jet colour scale over the range given; black: no tissue)",
                  per_row=5)


def section(result: PerfusionResult, series: Optional[VolumeSeries] = None) -> ReportSection:
    """Summary volumes, method, curves, map thumbnails and warnings of ``result``.

    Everything shown comes from the result; ``series`` (the inputs) is not needed.
    """
    blocks: list[Block] = [_summary(result), _method(result), _curves(result)]
    if next(iter(result.maps.values())).size and np.ndim(result.maps["cbf"]) == 3:
        blocks.append(map_thumbnails(result))
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    return ReportSection(TITLE, tuple(blocks), result.provenance)


def findings(result: Mapping[str, Any]) -> Findings:
    """Hypoperfusion, core and mismatch of a perfusion result JSON, and their sentence."""
    s = result.get("summary") or {}
    tmax = number(result, "summary.tmax_threshold_s")
    rcbf = number(result, "summary.rcbf_threshold")
    tmax_text = f"Tmax > {tmax:g} s" if tmax is not None else "Tmax above threshold"
    core_text = f"rCBF < {100 * rcbf:.0f} %" if rcbf is not None else "low rCBF"
    items = (
        item(result, "summary.hypoperfused_ml", f"Hypoperfusion ({tmax_text})", "ml", 1, ucum="mL"),
        item(result, "summary.core_ml", f"Core ({core_text})", "ml", 1, ucum="mL"),
        item(result, "summary.mismatch_ml", "Mismatch volume", "ml", 1, ucum="mL"),
        item(result, "summary.mismatch_ratio", "Mismatch ratio", decimals=2, ucum="1"),
        text_item(result, "summary.affected_side", "Affected side"),
    )
    ratio = items[3]
    sentence = (f"Perfusion: {tmax_text} hypoperfusion {items[0].text}, core ({core_text}) {items[1].text}, "
                f"mismatch volume {items[2].text}"
                + (f" (ratio {ratio.text})" if ratio.value is not None else " (ratio not defined: no core)")
                + f"; affected side: {s.get('affected_side', 'unknown')}.")
    return Findings(items, sentence)
