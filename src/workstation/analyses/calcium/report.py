"""The calcium section of a report: totals, per-artery and lesion tables, key images of the lesions."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium import chd_risk, mesa, risk
from workstation.analyses.calcium.result import DECISION_SUPPORT, CalciumResult
from workstation.analyses.calcium.scoring import Lesion
from workstation.core.volume import Volume
from workstation.report.findings import Code, Findings, KeySuggestion, item, number, ordinal, text_item
from workstation.report.images import enlarge, grey, paint
from workstation.report.model import Block, Images, KeyImage, Notes, Paragraph, ReportSection, Table

TITLE = "Coronary calcium score"
WEIGHT_COLORS: dict[int, tuple[int, int, int]] = {1: (255, 235, 59), 2: (255, 152, 0), 3: (244, 67, 54), 4: (156, 39, 176)}
#: Mediastinal window of the key images (HU).
KEY_WINDOW = (400.0, 40.0)
MAX_KEY_IMAGES = 12


def key_slice(les: Lesion) -> int:
    """The 0-based index of the slice a lesion's key image shows: its centroid's, else its middle one."""
    z = int(round(les.centroid_index[0]))
    return z if z in les.slice_indices else les.slice_indices[len(les.slice_indices) // 2]


def key_image(volume: Volume, result: CalciumResult, lesion_id: int, half_width_mm: float = 40.0) -> NDArray[np.uint8]:
    """RGB crop (mediastinal window 40/400 HU) around a lesion with its voxels coloured by weight."""
    les = result.lesion(lesion_id)
    z = key_slice(les)
    _, dy, dx = volume.spacing
    cy, cx = les.centroid_index[1], les.centroid_index[2]
    hy, hx = int(half_width_mm / dy), int(half_width_mm / dx)
    ny, nx = volume.shape[1:]
    y0, y1 = max(0, int(cy) - hy), min(ny, int(cy) + hy)
    x0, x1 = max(0, int(cx) - hx), min(nx, int(cx) + hx)
    rgb = grey(np.asarray(volume.array[z, y0:y1, x0:x1]), *KEY_WINDOW)
    plane = ny * nx
    in_slice = (result.voxel_index // plane) == z
    rows = (result.voxel_index[in_slice] % plane) // nx - y0
    cols = result.voxel_index[in_slice] % nx - x0
    ids = result.voxel_lesion[in_slice]
    inside = (rows >= 0) & (rows < y1 - y0) & (cols >= 0) & (cols < x1 - x0)
    for weight, colour in WEIGHT_COLORS.items():
        lesion_ids = [les.id for les in result.lesions if les.weight == weight]
        mask = np.zeros(rgb.shape[:2], dtype=bool)
        hit = inside & np.isin(ids, lesion_ids)
        mask[rows[hit], cols[hit]] = True
        rgb = paint(rgb, mask, colour)
    return rgb


def percentile_text(result: CalciumResult) -> str:
    """``"63 (MESA white reference; 41 % of this group have CAC > 0)"``, or why there is none."""
    pct = result.mesa_percentile
    if pct.percentile is None:
        if pct.by_race:
            span = ", ".join(f"{race} {value}" for race, value in pct.by_race.items())
            return f"n/a: {pct.message} (by group: {span})"
        return f"n/a: {pct.message}"
    share = f"; {pct.nonzero_prevalence_pct:g} % of this group have CAC > 0" if pct.nonzero_prevalence_pct is not None \
        else ""
    return f"{pct.percentile} ({pct.race_statement}{share})"


def chd_risk_text(result: CalciumResult) -> tuple[str, str]:
    """The 10-year CHD risk with and without CAC as text (``"n/a"`` and the reason when none)."""
    chd = result.chd_risk
    if chd.with_cac_pct is None or chd.without_cac_pct is None:
        return f"n/a: {chd.message}", "n/a"
    return f"{chd.with_cac_pct:.1f} %", f"{chd.without_cac_pct:.1f} %"


def section(result: CalciumResult, volume: Optional[Volume]) -> ReportSection:
    """Totals, percentile, CHD risk, per-artery totals, lesions, warnings and key images of ``result``."""
    age = f"{result.age:g}" if result.age is not None else "unknown"
    race = result.race or "not given"
    if result.race_source:
        race += f" ({result.race_source})"
    totals = Table((
        ("Agatston score", f"{result.agatston_total:.1f}"),
        ("Volume score", f"{result.volume_mm3_total:.1f} mm3"),
        ("Mass score", f"{result.mass_mg_total:.2f} mg"),
        ("Risk category", f"{result.risk_category} ({risk.RISK_LABELS[result.risk_category]})"),
        ("CAC-DRS", result.cac_drs),
        ("MESA percentile", percentile_text(result)),
        ("Age, sex and race used", f"{age}, {result.sex or 'unknown'}, {race}"),
    ), title="Totals", heading=False)
    with_cac, without_cac = chd_risk_text(result)
    risk_table = Table((("", "With CAC", "Without CAC"), ("MESA 10-year CHD risk", with_cac, without_cac)),
                       "10-year coronary heart disease risk (MESA)")
    per_artery = [("Artery", "Agatston", "Volume mm3", "Mass mg", "Lesions")]
    for artery, v in result.per_artery().items():
        per_artery.append((artery, f"{v['agatston']:.1f}", f"{v['volume_mm3']:.1f}", f"{v['mass_mg']:.2f}",
                           str(v["lesions"])))
    lesions = [("#", "Slices", "Area mm2", "Peak HU", "W", "Agatston", "Vol mm3", "Mass mg", "Artery")]
    for les in result.lesions:
        lesions.append((str(les.id), les.slices_text(), f"{les.area_mm2:.1f}",
                        f"{les.peak_hu:.0f}", str(les.weight), f"{les.agatston:.1f}", f"{les.volume_mm3:.1f}",
                        f"{les.mass_mg:.2f}", les.artery))
    blocks: list[Block] = [totals, risk_table, Paragraph(DECISION_SUPPORT),
                           Table(tuple(per_artery), "Per artery"), Table(tuple(lesions), "Lesions"),
                           Paragraph("Slices are numbered from 1 along the slice normal, as the viewer shows them.")]
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    if volume is not None and result.lesions:
        images = tuple(KeyImage(enlarge(key_image(volume, result, les.id), 220),
                                f"#{les.id} {les.artery}, slice {key_slice(les) + 1}")
                       for les in result.lesions[:MAX_KEY_IMAGES])
        blocks.append(Images(images, "Key images (window 400/40 HU, calcium coloured by density weight)"))
    blocks.append(Paragraph(f"Percentile reference: {mesa.citation()}"))
    blocks.append(Paragraph(f"CHD risk equation: {chd_risk.citation()}"))
    return ReportSection(TITLE, tuple(blocks), result.provenance)


def findings(result: Mapping[str, Any]) -> Findings:
    """Totals, categories, percentile and CHD risk of a calcium result JSON, and their sentence."""
    agatston = Code("450360000", "SCT", "Coronary artery calcium score")
    items = [
        item(result, "agatston_total", "Agatston score", decimals=1, code=agatston, ucum="1"),
        item(result, "volume_mm3_total", "Volume score", "mm3", 1, Code("122660", "DCM", "Calcium Volume")),
        item(result, "mass_mg_total", "Mass score", "mg", 2, Code("122661", "DCM", "Calcium Mass")),
        text_item(result, "risk_category", "Risk category"),
        text_item(result, "cac_drs", "CAC-DRS"),
        item(result, "percentile", "MESA percentile", "%", 0,
             Code("121415", "DCM", "Percentile Ranking of measurement")),
        item(result, "mesa_10y_chd_risk_pct", "MESA 10-year CHD risk with CAC", "%", 1,
             Code("122230", "DCM", "10 Year CHD Risk")),
        item(result, "mesa_10y_chd_risk_without_cac_pct", "MESA 10-year CHD risk without CAC", "%", 1),
    ]
    items += [item(result, f"per_artery.{artery}.agatston", f"Agatston {artery}", decimals=1, ucum="1")
              for artery in result.get("per_artery") or {}]
    score = number(result, "agatston_total")
    category, label = result.get("risk_category"), result.get("risk_label")
    sentence = (f"Coronary artery calcium: Agatston score {score:.1f}, risk category {category} ({label}), "
                f"CAC-DRS {result.get('cac_drs')}") if score is not None else "Coronary artery calcium: no score."
    pct = number(result, "percentile")
    sentence += f"; {ordinal(pct)} MESA percentile for age, sex and race." if pct is not None else \
        "; no MESA percentile (age, sex or race not given)."
    by_item = {i.key: i for i in items}
    with_cac = by_item["mesa_10y_chd_risk_pct"]
    if with_cac.value is not None:
        sentence += (f" Estimated 10-year CHD risk {with_cac.text} with CAC "
                     f"({by_item['mesa_10y_chd_risk_without_cac_pct'].text} without).")
    return Findings(tuple(items), sentence, DECISION_SUPPORT, _suggestions(result))


def _suggestions(result: Mapping[str, Any], count: int = 3) -> tuple[KeySuggestion, ...]:
    """The slices through the centroids of the ``count`` highest-scoring coronary lesions, each marked."""
    lesions = [les for les in result.get("lesions") or [] if les.get("artery") != "none"]
    lesions.sort(key=lambda les: -float(les.get("agatston", 0.0)))
    out = []
    for les in lesions[:count]:
        z, y, x = (float(v) for v in les.get("centroid_index_zyx", (0, 0, 0)))
        r = 6.0
        out.append(KeySuggestion(
            f"Lesion {les.get('id')} ({les.get('artery')}), Agatston {float(les.get('agatston', 0.0)):.1f}",
            slice_index=int(round(z)), window=KEY_WINDOW,
            annotations=({"kind": "ellipse", "points": [[y - r, x - r], [y + r, x + r]],
                          "text": str(les.get("id"))},)))
    return tuple(out)
