"""Coronary calcifications of the demo chest CT and their Agatston score by construction.

Each lesion is a pixel-aligned rectangle of constant HU on one or more whole axial
slices, placed along the LM, LAD, LCX or RCA path of the demo heart.  Because the
lesion has exact edges, a constant value and no noise, and no other voxel near the
heart reaches 130 HU, its Agatston contribution follows from arithmetic alone:

``area = n_pixels * dx * dy``; ``weight`` from the peak HU (130-199: 1, 200-299: 2,
300-399: 3, >= 400: 4); ``agatston = area * weight * increment / 3 mm``;
``volume = n_voxels * dx * dy * dz``; ``mass = c * HU * volume`` with ``c`` in
mg/cm^3 per HU.  The truth below is computed that way, never by running a scorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Default calcium mass calibration factor, mg hydroxyapatite per cm^3 per HU.
DEFAULT_MASS_CALIBRATION = 0.74

#: Reference slice increment of the Agatston score (mm).
AGATSTON_REFERENCE_MM = 3.0


@dataclass(frozen=True)
class LesionSpec:
    """Where a demo lesion goes: centre (mm, LPS), slices (mm heights), size (pixels), HU."""

    artery: str
    x_mm: float
    y_mm: float
    z_mm: tuple[float, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    hu: tuple[int, ...]


#: The demo lesions.  Heights are snapped to the nearest slice; HU values sit on the
#: weight boundaries on purpose (130, 199, 200, 399, 400).
LESIONS: tuple[LesionSpec, ...] = (
    LesionSpec("LM", 18.0, -24.0, (21.0,), (4,), (4,), (250,)),
    LesionSpec("LAD", 28.0, -58.0, (3.0, 0.0), (6, 4), (5, 4), (450, 320)),
    LesionSpec("LAD", 38.0, -65.0, (-27.0,), (3,), (3,), (199,)),
    LesionSpec("LCX", 50.0, -10.0, (6.0,), (5,), (4,), (399,)),
    LesionSpec("RCA", -30.0, -38.0, (12.0,), (6,), (6,), (400,)),
    LesionSpec("RCA", -42.0, -20.0, (-18.0,), (3,), (4,), (200,)),
    LesionSpec("RCA", -20.0, 10.0, (-45.0,), (5,), (5,), (130,)),
)

#: Specks below the default 1 mm^2 minimum area at 0.7 mm pixels (1 and 2 pixels).
SPECKS: tuple[LesionSpec, ...] = (
    LesionSpec("LAD", 0.0, -50.0, (-9.0,), (1,), (1,), (300,)),
    LesionSpec("LAD", 45.0, -40.0, (-33.0,), (1,), (2,), (500,)),
)


def agatston_weight(peak_hu: float) -> int:
    """Agatston density weight of a peak HU (0 below 130)."""
    if peak_hu >= 400:
        return 4
    if peak_hu >= 300:
        return 3
    if peak_hu >= 200:
        return 2
    if peak_hu >= 130:
        return 1
    return 0


@dataclass(frozen=True)
class TruthLesion:
    """One placed lesion and its scores by construction."""

    artery: str
    slice_indices: tuple[int, ...]
    pixel_boxes: tuple[tuple[int, int, int, int], ...]  # (row0, col0, rows, cols) per slice
    area_mm2: float
    peak_hu: int
    weight: int
    agatston: float
    volume_mm3: float
    mass_mg: float
    centroid_mm: tuple[float, float, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "artery": self.artery,
            "slice_indices": list(self.slice_indices),
            "area_mm2": self.area_mm2,
            "peak_hu": self.peak_hu,
            "weight": self.weight,
            "agatston": self.agatston,
            "volume_mm3": self.volume_mm3,
            "mass_mg": self.mass_mg,
            "centroid_mm": list(self.centroid_mm),
        }


@dataclass(frozen=True)
class CalciumTruth:
    """Known calcium of a demo CT: lesions scored by construction, plus ignored specks."""

    lesions: tuple[TruthLesion, ...]
    specks: tuple[TruthLesion, ...]
    pixel_mm: float
    increment_mm: float
    mass_calibration: float = DEFAULT_MASS_CALIBRATION
    patient: dict[str, str] = field(default_factory=dict)

    @property
    def agatston_total(self) -> float:
        return float(sum(les.agatston for les in self.lesions))

    @property
    def volume_mm3_total(self) -> float:
        return float(sum(les.volume_mm3 for les in self.lesions))

    @property
    def mass_mg_total(self) -> float:
        return float(sum(les.mass_mg for les in self.lesions))

    def per_artery(self) -> dict[str, dict[str, float]]:
        out = {a: {"agatston": 0.0, "volume_mm3": 0.0, "mass_mg": 0.0} for a in ("LM", "LAD", "LCX", "RCA", "other")}
        for les in self.lesions:
            row = out[les.artery]
            row["agatston"] += les.agatston
            row["volume_mm3"] += les.volume_mm3
            row["mass_mg"] += les.mass_mg
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "agatston_total": self.agatston_total,
            "volume_mm3_total": self.volume_mm3_total,
            "mass_mg_total": self.mass_mg_total,
            "per_artery": self.per_artery(),
            "lesions": [les.to_json() for les in self.lesions],
            "specks_below_min_area": [les.to_json() for les in self.specks],
            "pixel_mm": self.pixel_mm,
            "increment_mm": self.increment_mm,
            "mass_calibration_mg_per_cm3_per_hu": self.mass_calibration,
        }


def place_lesion(
    image: NDArray[np.integer],
    spec: LesionSpec,
    *,
    slice_z: NDArray[np.floating],
    x0: float,
    y0: float,
    pixel_mm: float,
    mass_calibration: float = DEFAULT_MASS_CALIBRATION,
) -> TruthLesion:
    """Paint ``spec`` into ``image`` (z, y, x) and return its scores by construction."""
    increment = float(slice_z[1] - slice_z[0]) if len(slice_z) > 1 else AGATSTON_REFERENCE_MM
    slices, boxes = [], []
    agatston = volume = mass = 0.0
    n_pix_total = 0
    sums = np.zeros(3)
    for z_mm, rows, cols, hu in zip(spec.z_mm, spec.rows, spec.cols, spec.hu):
        k = int(np.argmin(np.abs(slice_z - z_mm)))
        row0 = int(round((spec.y_mm - y0) / pixel_mm - (rows - 1) / 2))
        col0 = int(round((spec.x_mm - x0) / pixel_mm - (cols - 1) / 2))
        image[k, row0 : row0 + rows, col0 : col0 + cols] = hu
        n_pix = rows * cols
        area = n_pix * pixel_mm * pixel_mm
        agatston += area * agatston_weight(hu) * increment / AGATSTON_REFERENCE_MM
        vol = area * increment
        volume += vol
        mass += mass_calibration * hu * vol / 1000.0
        slices.append(k)
        boxes.append((row0, col0, rows, cols))
        n_pix_total += n_pix
        centre = (x0 + pixel_mm * (col0 + (cols - 1) / 2), y0 + pixel_mm * (row0 + (rows - 1) / 2), slice_z[k])
        sums += n_pix * np.asarray(centre)
    peak = max(spec.hu)
    centroid = sums / n_pix_total
    return TruthLesion(
        artery=spec.artery,
        slice_indices=tuple(slices),
        pixel_boxes=tuple(boxes),
        area_mm2=float(n_pix_total * pixel_mm * pixel_mm),
        peak_hu=int(peak),
        weight=agatston_weight(peak),
        agatston=float(agatston),
        volume_mm3=float(volume),
        mass_mg=float(mass),
        centroid_mm=(float(centroid[0]), float(centroid[1]), float(centroid[2])),
    )
