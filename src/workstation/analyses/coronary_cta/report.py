"""The coronary CTA section of a report: summary, vessels, stenoses, diameter profiles, straightened MPRs."""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.coronary_cta.reformat import straightened
from workstation.analyses.coronary_cta.result import CoronaryResult, VesselResult
from workstation.compute.sampling import IndexMap
from workstation.core.volume import Volume
from workstation.report.images import grey, paint
from workstation.report.model import Block, Curve, Images, KeyImage, Notes, Paragraph, Plot, ReportSection, Table

TITLE = "Coronary CT angiography"
#: Window of the key images (W, L in HU): contrast lumen, plaque and fat apart.
KEY_WINDOW = (800.0, 200.0)
GRADE_COLOURS: dict[str, tuple[int, int, int]] = {
    "minimal": (139, 195, 74), "mild": (255, 235, 59), "moderate": (255, 152, 0), "severe": (244, 67, 54),
    "occluded": (156, 39, 176),
}
MAX_KEY_IMAGES = 8
LIMITS = (
    "Lumen edges at the half-maximum between the lumen and the wall of each ray; lumens narrower than "
    "about three edge blurs are sized from the attenuation of their centre (a blurred disc).",
    "Calcium blooms: where it reaches a lumen's centre (marked per vessel) the stenosis may be more severe "
    "than measured.",
    "Non-calcified plaque thinner than about 2.5 edge blurs is not seen.",
)


def straightened_key_image(volume: Volume, vessel: VesselResult, pixel_mm: float = 0.25) -> NDArray[np.uint8]:
    """The vessel's straightened MPR lying horizontally (proximal left), stenoses underlined by grade."""
    image, position = straightened(np.asarray(volume.array), IndexMap.of_volume(volume), vessel.centreline_mm,
                                   vessel.normal, vessel.binormal, half_width_mm=6.0, pixel_mm=pixel_mm)
    rgb = grey(np.asarray(image).T, *KEY_WINDOW)
    for st in vessel.stenoses:
        mask = np.zeros(rgb.shape[:2], dtype=bool)
        inside = (position >= st.start_mm) & (position <= st.end_mm)
        mask[-4:, inside] = True
        rgb = paint(rgb, mask, GRADE_COLOURS.get(st.grade, (255, 255, 255)))
    return rgb


def _vessel_rows(result: CoronaryResult) -> tuple[tuple[str, ...], ...]:
    rows = [("Vessel", "Length mm", "Worst %", "Grade", "Calcified mm3", "Non-calc. mm3", "Source")]
    for v in result.vessels:
        worst = v.worst
        rows.append((v.name, f"{v.length_mm:.1f}", f"{worst.percent_diameter:.0f}" if worst else "0",
                     worst.grade if worst else "none", f"{v.calcified_mm3:.1f}", f"{v.noncalcified_mm3:.1f}",
                     v.source))
    return tuple(rows)


def _stenosis_rows(result: CoronaryResult) -> tuple[tuple[str, ...], ...]:
    rows = [("Vessel", "At mm", "Length mm", "% diam.", "% area", "Grade", "MLD mm", "Ref. mm", "Plaque")]
    for v in result.vessels:
        for st in v.stenoses:
            rows.append((v.name, f"{st.position_mm:.1f}", f"{st.length_mm:.1f}", f"{st.percent_diameter:.0f}",
                         f"{st.percent_area:.0f}", st.grade, f"{st.minimal_diameter_mm:.2f}",
                         f"{st.reference_diameter_mm:.2f}", st.plaque))
    return tuple(rows)


def _curve(s: NDArray[np.float64], values: NDArray[np.float64], label: str, colour: tuple[int, int, int]) -> Curve:
    """The measured sections of a profile (sections not measured are left out)."""
    keep = np.isfinite(values)
    return Curve(tuple(float(x) for x in s[keep]), tuple(float(y) for y in values[keep]), label, colour)


def _profile(vessel: VesselResult) -> Plot:
    s = vessel.position_mm
    return Plot((_curve(s, vessel.mean_diameter_mm, "mean diameter", (33, 150, 243)),
                 _curve(s, vessel.minimal_diameter_mm, "minimal diameter", (0, 0, 0)),
                 _curve(s, vessel.reference_diameter_mm, "reference", (150, 150, 150))),
                "position along the vessel (mm)", "diameter (mm)", f"{vessel.name}: lumen diameter")


def section(result: CoronaryResult, volume: Optional[Volume]) -> ReportSection:
    """Summary, vessel and stenosis tables, diameter profiles and straightened MPRs of ``result``."""
    summary = Table((
        ("CAD-RADS (analysed vessels)", result.cad_rads),
        ("Vessels", f"{len(result.vessels)} ({result.method})"),
        ("Stenoses listed", str(sum(len(v.stenoses) for v in result.vessels))),
        ("Grading", f"SCCT 2014 from the {result.params.diameter_measure} diameter against the interpolated "
                    "reference of the normal segments"),
    ), title="Summary", heading=False)
    blocks: list[Block] = [summary, Table(_vessel_rows(result), "Vessels")]
    if any(v.stenoses for v in result.vessels):
        blocks.append(Table(_stenosis_rows(result), "Stenoses and plaque"))
    else:
        blocks.append(Paragraph("No stenosis or plaque found in the analysed vessels."))
    blocks += [_profile(v) for v in result.vessels[:MAX_KEY_IMAGES]]
    if volume is not None and result.vessels:
        images = tuple(KeyImage(straightened_key_image(volume, v),
                                f"{v.name}, {v.length_mm:.0f} mm, proximal left")
                       for v in result.vessels[:MAX_KEY_IMAGES])
        blocks.append(Images(images, "Straightened MPR (window 800/200 HU; stenoses underlined by grade)", per_row=1,
                             max_height_mm=30.0))
    blocks.append(Notes(tuple(result.warnings) + LIMITS, title="Warnings and limits"))
    return ReportSection(TITLE, tuple(blocks), result.provenance)
