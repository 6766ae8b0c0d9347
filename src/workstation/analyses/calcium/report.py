"""The calcium section of a report: totals, per-artery and lesion tables, key images of the lesions."""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium import risk
from workstation.analyses.calcium.mesa import reference_status
from workstation.analyses.calcium.result import CalciumResult
from workstation.analyses.calcium.scoring import Lesion
from workstation.core.volume import Volume
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


def section(result: CalciumResult, volume: Optional[Volume]) -> ReportSection:
    """Totals, per-artery totals, lesions, warnings and key images of ``result``."""
    pct = result.percentile
    age = f"{result.age:g}" if result.age is not None else "unknown"
    totals = Table((
        ("Agatston score", f"{result.agatston_total:.1f}"),
        ("Volume score", f"{result.volume_mm3_total:.1f} mm3"),
        ("Mass score", f"{result.mass_mg_total:.2f} mg"),
        ("Risk category", f"{result.risk_category} ({risk.RISK_LABELS[result.risk_category]})"),
        ("CAC-DRS", result.cac_drs),
        ("MESA percentile", f"{pct:.0f}" if pct is not None else "n/a (age/sex unknown or outside 45-84)"),
        ("Age and sex used", f"{age}, {result.sex or 'unknown'}"),
    ), title="Totals", heading=False)
    per_artery = [("Artery", "Agatston", "Volume mm3", "Mass mg", "Lesions")]
    for artery, v in result.per_artery().items():
        per_artery.append((artery, f"{v['agatston']:.1f}", f"{v['volume_mm3']:.1f}", f"{v['mass_mg']:.2f}",
                           str(v["lesions"])))
    lesions = [("#", "Slices", "Area mm2", "Peak HU", "W", "Agatston", "Vol mm3", "Mass mg", "Artery")]
    for les in result.lesions:
        lesions.append((str(les.id), les.slices_text(), f"{les.area_mm2:.1f}",
                        f"{les.peak_hu:.0f}", str(les.weight), f"{les.agatston:.1f}", f"{les.volume_mm3:.1f}",
                        f"{les.mass_mg:.2f}", les.artery))
    blocks: list[Block] = [totals, Table(tuple(per_artery), "Per artery"), Table(tuple(lesions), "Lesions"),
                           Paragraph("Slices are numbered from 1 along the slice normal, as the viewer shows them.")]
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    if volume is not None and result.lesions:
        images = tuple(KeyImage(enlarge(key_image(volume, result, les.id), 220),
                                f"#{les.id} {les.artery}, slice {key_slice(les) + 1}")
                       for les in result.lesions[:MAX_KEY_IMAGES])
        blocks.append(Images(images, "Key images (window 400/40 HU, calcium coloured by density weight)"))
    if pct is not None:
        blocks.append(Paragraph(f"Percentile reference: {reference_status()}"))
    return ReportSection(TITLE, tuple(blocks), result.provenance)
