"""Regional wall thickness and thickening in the AHA 17-segment model (Cerqueira et al., Circulation 2002).

The LV slices inside both the end-diastolic and the end-systolic limits are split into
basal, mid and apical thirds (base to apex).  On each, wall thickness is measured along 120 rays from the
blood pool's centre at ED and at ES (:func:`.kernel.wall_thickness`), and each ray
belongs to a segment by its angle from the mid-septum: the direction of the RV's
centre from the LV's on that slice (the median over the slices where the RV is not
found).  Going from the septum toward the patient's anterior side (the image
orientation says which way that is) come anteroseptal, anterior, anterolateral, then
inferolateral, inferior and inferoseptal, 60 degrees each; apical slices have four
90-degree segments centred on septum, anterior, lateral and inferior wall.  Segment
17 (the apical cap) is not cut by short-axis slices and is not assessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from workstation.analyses.cardiac_function.kernel import (
    LV_BLOOD, RV_BLOOD, centroids, ray_samples, wall_thickness,
)

NAMES = {
    1: "basal anterior", 2: "basal anteroseptal", 3: "basal inferoseptal", 4: "basal inferior",
    5: "basal inferolateral", 6: "basal anterolateral", 7: "mid anterior", 8: "mid anteroseptal",
    9: "mid inferoseptal", 10: "mid inferior", 11: "mid inferolateral", 12: "mid anterolateral",
    13: "apical anterior", 14: "apical septal", 15: "apical inferior", 16: "apical lateral", 17: "apex",
}
N_RAYS = 120
STEP_MM = 0.5
REACH_MM = 60.0
# segment of each 60-degree sector from the septum toward anterior (basal numbering; mid adds 6)
_SIX = (2, 1, 6, 5, 4, 3)  # sectors at 0-60, 60-120, 120-180, 180-240 (= -180..-120), -120..-60, -60..0


@dataclass(frozen=True)
class Segment:
    """One AHA segment: mean wall thickness (mm) at ED and ES and systolic thickening (%)."""

    number: int
    name: str
    ed_mm: Optional[float]
    es_mm: Optional[float]

    @property
    def thickening_pct(self) -> Optional[float]:
        if self.ed_mm is None or self.es_mm is None or self.ed_mm <= 0:
            return None
        return 100.0 * (self.es_mm - self.ed_mm) / self.ed_mm

    def to_json(self) -> dict[str, Any]:
        def r(v: Optional[float]) -> Optional[float]:
            return None if v is None else round(v, 2)

        return {"segment": self.number, "name": self.name, "ed_thickness_mm": r(self.ed_mm),
                "es_thickness_mm": r(self.es_mm), "thickening_pct": r(self.thickening_pct)}


def anterior_angle(direction: Any) -> float:
    """Angle (radians, image plane: 0 along columns, +90 along rows) of the patient's anterior direction."""
    d = np.asarray(direction, dtype=float)
    anterior = np.array([0.0, -1.0, 0.0])  # LPS: -y is anterior
    return float(np.arctan2(anterior @ d[:, 1], anterior @ d[:, 0]))


def levels(slices: Sequence[int], base_high: bool) -> dict[int, str]:
    """Slice -> ``basal``, ``mid`` or ``apical`` (thirds of the slices, base to apex)."""
    ordered = sorted(slices, reverse=base_high)
    return {int(k): level for level, part in zip(("basal", "mid", "apical"), np.array_split(ordered, 3))
            for k in part}


def _segment_of(phi_deg: np.ndarray, level: str) -> np.ndarray:
    """AHA number of each ray at angle ``phi`` (degrees from mid-septum toward anterior, wrapped)."""
    if level == "apical":
        quarter = np.floor(np.mod(phi_deg + 45.0, 360.0) / 90.0).astype(int)  # 0 septal, 1 anterior, 2 lateral, 3 inferior
        return np.array([14, 13, 16, 15])[quarter]
    sector = np.floor(np.mod(phi_deg, 360.0) / 60.0).astype(int)
    return np.array(_SIX)[sector] + (6 if level == "mid" else 0)


def septal_angles(labels: Any, planes: Sequence[int], pixel_spacing: Sequence[float],
                  fallback: float) -> np.ndarray:
    """Per plane, the angle (radians) from the LV's centre to the RV's; the median where the RV is absent."""
    lv, rv = centroids(labels[list(planes)], LV_BLOOD), centroids(labels[list(planes)], RV_BLOOD)
    dy, dx = float(pixel_spacing[0]), float(pixel_spacing[1])
    angles = np.arctan2((rv[:, 0] - lv[:, 0]) * dy, (rv[:, 1] - lv[:, 1]) * dx)
    known = np.isfinite(angles)
    if not known.any():
        return np.full(len(planes), fallback)
    middle = float(np.angle(np.mean(np.exp(1j * angles[known]))))
    return np.where(known, angles, middle)


def segments(ed_labels: Any, es_labels: Any, slices: Sequence[int], base_high: bool, pixel_spacing: Sequence[float],
             direction: Any) -> tuple[Segment, ...]:
    """The 17 segments from ``(slices, rows, cols)`` labels at ED and ES and the ED slice limits."""
    theta = np.linspace(-np.pi, np.pi, N_RAYS, endpoint=False)
    radii = np.arange(0.0, REACH_MM, STEP_MM)
    anterior = anterior_angle(direction)
    level_of = levels(slices, base_high)
    planes = sorted(level_of)
    fallback = anterior + np.pi / 2.0
    septum = septal_angles(ed_labels, planes, pixel_spacing, fallback) if planes else np.zeros(0)
    sums = {phase: {n: [0.0, 0] for n in range(1, 17)} for phase in ("ed", "es")}
    for phase, labels in (("ed", ed_labels), ("es", es_labels)):
        if not planes:
            break
        centres = centroids(labels[planes], LV_BLOOD)
        ok = np.all(np.isfinite(centres), axis=1)
        if not ok.any():
            continue
        used = [p for p, good in zip(planes, ok) if good]
        thickness = wall_thickness(ray_samples(labels, used, centres[ok], theta, radii, pixel_spacing), STEP_MM)
        for row, k in enumerate(used):
            s = septum[planes.index(k)]
            side = 1.0 if np.sin(anterior - s) >= 0 else -1.0
            phi = np.degrees(np.angle(np.exp(1j * side * (theta - s))))
            numbers = _segment_of(phi, level_of[k])
            good = thickness[row] > 0
            for n in np.unique(numbers[good]):
                values = thickness[row][good & (numbers == n)]
                sums[phase][int(n)][0] += float(values.sum())
                sums[phase][int(n)][1] += int(values.size)

    def mean(phase: str, n: int) -> Optional[float]:
        total, count = sums[phase][n]
        return total / count if count else None

    found = [Segment(n, NAMES[n], mean("ed", n), mean("es", n)) for n in range(1, 17)]
    return tuple(found) + (Segment(17, NAMES[17], None, None),)
