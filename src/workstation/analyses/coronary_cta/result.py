"""The result of coronary CTA analysis: per vessel its centreline, lumen profile, plaque and stenoses."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.coronary_cta.naming import cad_rads
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.stenosis import Stenosis
from workstation.core.provenance import Provenance

FloatArray = NDArray[np.float64]


def _list(values: FloatArray, digits: int = 3) -> list[Optional[float]]:
    """Finite values rounded, NaN (a section not measured) as ``None``."""
    return [round(float(v), digits) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


@dataclass(frozen=True, eq=False)
class VesselResult:
    """One vessel, one row per cross-section (every ``section_spacing_mm`` along its centreline).

    ``normal``/``binormal`` are the section frames (parallel transport); ``lumen_radius_mm``
    the lumen edge per section and ray (the rays' angles are ``2 pi k / n_rays`` from the
    normal toward the binormal); diameters and areas are NaN where a section was not
    measured (a side branch or the aorta fills it).
    """

    name: str
    suggested_name: str
    points_mm: tuple[tuple[float, float, float], ...]
    centreline_mm: FloatArray
    normal: FloatArray
    binormal: FloatArray
    position_mm: FloatArray
    mean_diameter_mm: FloatArray
    minimal_diameter_mm: FloatArray
    area_mm2: FloatArray
    reference_diameter_mm: FloatArray
    lumen_radius_mm: FloatArray
    lumen_hu: FloatArray
    calcified_mm2: FloatArray
    noncalcified_mm2: FloatArray
    measured: NDArray[np.bool_]
    blooming: NDArray[np.bool_]
    stenoses: tuple[Stenosis, ...]
    blur_mm: float
    source: str = "points"

    @property
    def length_mm(self) -> float:
        return float(self.position_mm[-1]) if self.position_mm.size else 0.0

    @property
    def section_spacing_mm(self) -> float:
        return float(self.position_mm[1] - self.position_mm[0]) if self.position_mm.size > 1 else 0.0

    @property
    def calcified_mm3(self) -> float:
        return float(np.sum(self.calcified_mm2) * self.section_spacing_mm)

    @property
    def noncalcified_mm3(self) -> float:
        return float(np.sum(self.noncalcified_mm2) * self.section_spacing_mm)

    @property
    def worst(self) -> Optional[Stenosis]:
        return max(self.stenoses, key=lambda s: s.percent_diameter, default=None)

    def section_at(self, position_mm: float) -> int:
        """Index of the cross-section nearest ``position_mm`` along the vessel."""
        return int(np.clip(np.argmin(np.abs(self.position_mm - position_mm)), 0, max(len(self.position_mm) - 1, 0)))

    def to_json(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "name": self.name,
            "suggested_name": self.suggested_name,
            "source": self.source,
            "points_mm": [list(p) for p in self.points_mm],
            "length_mm": round(self.length_mm, 3),
            "centreline_mm": [[round(float(v), 3) for v in p] for p in self.centreline_mm],
            "position_mm": _list(self.position_mm),
            "diameter_mm": _list(self.mean_diameter_mm),
            "minimal_diameter_mm": _list(self.minimal_diameter_mm),
            "area_mm2": _list(self.area_mm2),
            "reference_diameter_mm": _list(self.reference_diameter_mm),
            "lumen_hu": _list(self.lumen_hu, 1),
            "calcified_plaque_mm3": round(self.calcified_mm3, 3),
            "noncalcified_plaque_mm3": round(self.noncalcified_mm3, 3),
            "calcium_blooming_sections": int(np.count_nonzero(self.blooming)),
            "edge_blur_mm": round(self.blur_mm, 3),
            "max_stenosis_percent": round(worst.percent_diameter, 1) if worst else 0.0,
            "stenoses": [s.to_json() for s in self.stenoses],
        }


@dataclass(frozen=True, eq=False)
class CoronaryResult:
    """Every vessel analysed in one CTA, with how they were found."""

    vessels: tuple[VesselResult, ...]
    params: CoronaryParams
    provenance: Provenance
    method: str = "points"  # or "automatic"
    aortic_root_mm: Optional[tuple[float, float, float]] = None
    device: str = "cpu"
    warnings: tuple[str, ...] = ()
    patient_id: str = ""
    study_uid: str = ""

    def vessel(self, name: str) -> VesselResult:
        for v in self.vessels:
            if v.name == name:
                return v
        raise KeyError(f"no vessel {name!r}; vessels: {', '.join(v.name for v in self.vessels) or 'none'}")

    @property
    def cad_rads(self) -> str:
        worst = {v.name: (v.worst.percent_diameter if v.worst else 0.0) for v in self.vessels}
        occluded = [v.name for v in self.vessels if any(s.grade == "occluded" for s in v.stenoses)]
        return cad_rads(worst, occluded)

    def renamed(self, index: int, name: str) -> "CoronaryResult":
        """A copy with vessel ``index`` called ``name`` (the user's assignment)."""
        if not name.strip():
            raise ValueError("a vessel name may not be empty")
        vessels = list(self.vessels)
        vessels[index] = replace(vessels[index], name=name.strip())
        return replace(self, vessels=tuple(vessels))

    def to_json(self) -> dict[str, Any]:
        return {
            "analysis": "coronary-cta",
            "method": self.method,
            "vessels": [v.to_json() for v in self.vessels],
            "cad_rads": self.cad_rads,
            "aortic_root_mm": list(self.aortic_root_mm) if self.aortic_root_mm is not None else None,
            "device": self.device,
            "warnings": list(self.warnings),
            "patient_id": self.patient_id,
            "study_uid": self.study_uid,
            "parameters": self.params.to_json(),
            "provenance": self.provenance.to_json(),
        }
