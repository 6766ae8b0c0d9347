"""Stenoses along a vessel's diameter profile, graded as SCCT 2014 recommends.

The reference diameter follows the normal segments: a local linear fit (tricube
weights over +-15 mm) of the diameters, refitted four times without the sections
narrowed by more than 15 % (or widened by more than 40 %, side branches) against the
previous fit.  A lesion is a run of sections narrowed by at least
:data:`EXTENT_PERCENT` against that reference (runs less than 1 mm apart merge); its
length runs from its first to its last such section.  Its percent diameter stenosis
is ``100 (1 - MLD / reference)`` with the minimal lumen diameter (MLD, on the
diameter profile median-filtered over three sections) and the reference diameter
interpolated at the MLD between the normal segments proximal and distal to the
lesion (median diameter over 5 mm beside each end; one side when the other is
missing, the fitted reference when both are).  Sections carrying plaque extend
lesions and make lesions of their own where the lumen is not narrowed.  A narrowing
that runs into the vessel's first or last measured section has no normal segment
beyond it (the taper of a traced vessel's end looks like one) and is listed only
from 50 %.  Area stenosis is computed the same
way from the areas.  Grades (Leipsic et al., J Cardiovasc Comput Tomogr 8:342, 2014):
0 % none, 1-24 % minimal, 25-49 % mild, 50-69 % moderate, 70-99 % severe, 100 %
occluded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Sections narrowed at least this much (percent of the reference) belong to a lesion.
EXTENT_PERCENT = 10.0
REFERENCE_WINDOW_MM = 15.0
REFERENCE_PASSES = 4
NARROWED, WIDENED = 0.85, 1.4
NORMAL_SEGMENT_MM = 5.0
MERGE_GAP_MM = 1.0
#: A section with this much plaque (mm^2 of its cross-section) belongs to a lesion.
PLAQUE_SECTION_MM2 = 0.5
#: A lesion reaching the vessel's first or last measured section (no normal segment beyond it)
#: is listed only from this diameter stenosis on.
EDGE_PERCENT = 50.0
GRADES = ((0.0, "none"), (25.0, "minimal"), (50.0, "mild"), (70.0, "moderate"), (100.0, "severe"))


def grade(percent: float, occluded: bool = False) -> str:
    """SCCT 2014 grade of a percent diameter stenosis."""
    if occluded or percent >= 100.0:
        return "occluded"
    if percent <= 0.0:
        return "none"
    for upper, name in GRADES[1:]:
        if percent < upper:
            return name
    return "severe"


@dataclass(frozen=True)
class Stenosis:
    """One lesion along a vessel (positions in mm from the vessel's start)."""

    position_mm: float
    start_mm: float
    end_mm: float
    percent_diameter: float
    percent_area: float
    grade: str
    minimal_diameter_mm: float
    minimal_area_mm2: float
    reference_diameter_mm: float
    reference_area_mm2: float
    calcified_mm3: float = 0.0
    noncalcified_mm3: float = 0.0

    @property
    def length_mm(self) -> float:
        return self.end_mm - self.start_mm

    @property
    def plaque(self) -> str:
        """``calcified``, ``non-calcified``, ``mixed`` or ``none`` (by volume, 10 % of the total either way)."""
        total = self.calcified_mm3 + self.noncalcified_mm3
        if total <= 0.0:
            return "none"
        share = self.calcified_mm3 / total
        return "calcified" if share >= 0.9 else "non-calcified" if share <= 0.1 else "mixed"

    def to_json(self) -> dict[str, Any]:
        return {
            "position_mm": self.position_mm, "start_mm": self.start_mm, "end_mm": self.end_mm,
            "length_mm": self.length_mm, "percent_diameter": self.percent_diameter,
            "percent_area": self.percent_area, "grade": self.grade,
            "minimal_diameter_mm": self.minimal_diameter_mm, "minimal_area_mm2": self.minimal_area_mm2,
            "reference_diameter_mm": self.reference_diameter_mm, "reference_area_mm2": self.reference_area_mm2,
            "calcified_plaque_mm3": self.calcified_mm3, "noncalcified_plaque_mm3": self.noncalcified_mm3,
            "plaque": self.plaque,
        }


def median3(values: FloatArray) -> FloatArray:
    """Median over each section and its two neighbours, ignoring NaN (ends use what exists)."""
    padded = np.concatenate([[np.nan], values, [np.nan]])
    stack = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    out = np.full(values.shape, np.nan)
    has = np.isfinite(stack).any(axis=0)
    out[has] = np.nanmedian(stack[:, has], axis=0)
    return out


def _local_linear(s: FloatArray, d: FloatArray, keep: NDArray[np.bool_], window: float) -> FloatArray:
    """Tricube-weighted local linear fit of ``d`` (kept points) evaluated at every ``s``."""
    u = np.abs(s[:, None] - s[None, :]) / window
    w = np.where((u < 1.0) & keep[None, :], (1.0 - u**3) ** 3, 0.0)
    dv = np.where(keep, d, 0.0)
    sw, sx, sy = w.sum(1), (w * s).sum(1), (w * dv).sum(1)
    sxx, sxy = (w * s * s).sum(1), (w * s * dv).sum(1)
    det = sw * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(np.abs(det) > 1e-9, (sw * sxy - sx * sy) / det, 0.0)
        mean = np.where(sw > 0, sy / sw, np.nan)
        mean_s = np.where(sw > 0, sx / sw, 0.0)
    return mean + slope * (s - mean_s)


def reference_profile(s: FloatArray, d: FloatArray) -> FloatArray:
    """The reference (normal) diameter along ``s`` from the profile ``d`` (NaN: not measured)."""
    measured = np.isfinite(d) & (d > 0)
    if measured.sum() < 3:
        value = float(np.nanmedian(d[measured])) if measured.any() else np.nan
        return np.full(s.shape, value)
    keep = measured.copy()
    ref = np.full(s.shape, np.nan)
    for _ in range(REFERENCE_PASSES):
        fit = _local_linear(s, d, keep, REFERENCE_WINDOW_MM)
        if np.isfinite(fit).sum() < 2:
            break
        ref = fit
        keep = measured & (d >= NARROWED * ref) & (d <= WIDENED * ref)
        if keep.sum() < 3:
            keep = measured
    hole = ~np.isfinite(ref)
    if hole.any():
        ref[hole] = np.interp(s[hole], s[~hole], ref[~hole]) if (~hole).any() else np.nanmedian(d[measured])
    return ref


def _runs(flag: NDArray[np.bool_], s: FloatArray) -> list[tuple[int, int]]:
    """Index ranges ``[a, b]`` of runs of ``flag``, merged across gaps shorter than MERGE_GAP_MM."""
    idx = np.flatnonzero(flag)
    if idx.size == 0:
        return []
    runs = [[int(idx[0]), int(idx[0])]]
    for i in idx[1:]:
        if s[i] - s[runs[-1][1]] <= MERGE_GAP_MM + 1e-9:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return [(a, b) for a, b in runs]


def _beside(s: FloatArray, values: FloatArray, normal: NDArray[np.bool_], lo: float, hi: float) -> Optional[
        tuple[float, float]]:
    """Median value and mean position of the normal sections with ``lo <= s <= hi``."""
    sel = normal & (s >= lo) & (s <= hi) & np.isfinite(values)
    if not sel.any():
        return None
    return float(np.median(values[sel])), float(np.mean(s[sel]))


def _interpolated(s0: float, s: FloatArray, values: FloatArray, normal: NDArray[np.bool_], start: float,
                  end: float, fallback: float) -> float:
    prox = _beside(s, values, normal, start - NORMAL_SEGMENT_MM, start - 1e-9)
    dist = _beside(s, values, normal, end + 1e-9, end + NORMAL_SEGMENT_MM)
    if prox and dist:
        (vp, sp), (vd, sd) = prox, dist
        return float(vp + (vd - vp) * (s0 - sp) / (sd - sp)) if sd > sp else 0.5 * (vp + vd)
    if prox or dist:
        return (prox or dist)[0]  # type: ignore[index]
    return fallback


def find_stenoses(s: FloatArray, diameter: FloatArray, area: FloatArray, min_percent: float,
                  plaque_mm3: Optional[tuple[FloatArray, FloatArray]] = None, spacing_mm: float = 0.5,
                  min_plaque_mm3: float = np.inf) -> tuple[list[Stenosis], FloatArray]:
    """Lesions of a profile and the reference diameter.

    Parameters
    ----------
    s, diameter, area
        Position (mm), the grading diameter (mm) and the lumen area (mm^2) per section;
        NaN where a section was not measured, 0 where it has no lumen.
    min_percent
        Lesions narrower than this (percent diameter) are left out unless their plaque
        reaches ``min_plaque_mm3``.
    plaque_mm3
        Calcified and non-calcified plaque per section (mm^3 of the slab each section stands for).
    """
    ref = reference_profile(s, diameter)
    smooth_d = median3(diameter)
    smooth_a = median3(area)
    with np.errstate(invalid="ignore", divide="ignore"):
        narrowing = 100.0 * (1.0 - smooth_d / ref)
    flag = np.isfinite(narrowing) & (narrowing >= EXTENT_PERCENT)
    normal = np.isfinite(narrowing) & ~flag
    if plaque_mm3 is not None:  # plaque without narrowing (positive remodelling) is a lesion too
        flag = flag | (np.nan_to_num(plaque_mm3[0] + plaque_mm3[1]) >= PLAQUE_SECTION_MM2 * spacing_mm)
    ref_area_fit = np.pi * ref * ref / 4.0
    measured = np.flatnonzero(np.isfinite(diameter))
    first, last = (int(measured[0]), int(measured[-1])) if measured.size else (0, len(s) - 1)
    found = []
    for a, b in _runs(flag, s):
        part = slice(a, b + 1)
        k = a + int(np.nanargmax(narrowing[part])) if np.isfinite(narrowing[part]).any() else (a + b) // 2
        start, end = float(s[a]), float(s[b]) + spacing_mm
        mld = float(smooth_d[k])
        ref_d = _interpolated(float(s[k]), s, diameter, normal, start, end, float(ref[k]))
        mla = float(np.nanmin(smooth_a[part])) if np.isfinite(smooth_a[part]).any() else np.nan
        ref_a = _interpolated(float(s[k]), s, area, normal, start, end, float(ref_area_fit[k]))
        occluded = bool(np.any(diameter[part] == 0.0))
        pct_d = 100.0 if occluded else float(np.clip(100.0 * (1.0 - mld / ref_d), 0.0, 100.0))
        pct_a = 100.0 if occluded else float(np.clip(100.0 * (1.0 - mla / ref_a), 0.0, 100.0))
        calc = ncp = 0.0
        if plaque_mm3 is not None:
            calc, ncp = float(np.nansum(plaque_mm3[0][part])), float(np.nansum(plaque_mm3[1][part]))
        if pct_d < min_percent and calc + ncp < min_plaque_mm3:
            continue
        if (a <= first or b >= last) and pct_d < EDGE_PERCENT:
            continue  # the taper into the vessel's last (or first) measured sections, no reference beyond
        name = grade(pct_d, occluded)
        if name == "none" and calc + ncp > 0.0:
            name = "minimal"  # plaque without luminal narrowing
        found.append(Stenosis(float(s[k]), start, end, pct_d, pct_a, name, 0.0 if occluded else mld,
                              0.0 if occluded else mla, ref_d, ref_a, calc, ncp))
    return found, ref
