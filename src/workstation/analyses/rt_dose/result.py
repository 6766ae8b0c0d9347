"""The results of the RT dose analysis: per-structure DVHs and metrics, and plan optimisation runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from workstation.analyses.rt_dose.dvh import Dvh, DvhMetrics
from workstation.core.provenance import Provenance

TARGET_TYPES = ("PTV", "CTV", "GTV", "TARGET")


def _num(value: Optional[float], digits: int = 4) -> Optional[float]:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


@dataclass(frozen=True)
class EmbeddedComparison:
    """Our DVH beside the one the planning system stored in the RT Dose (DVH Sequence)."""

    volume_cc: float
    mean_gy: Optional[float]
    min_gy: Optional[float]
    max_gy: Optional[float]
    d95_gy: float
    max_curve_difference_pct: float  # percentage points of volume, at matched doses

    def to_json(self) -> dict[str, Any]:
        return {"volume_cc": _num(self.volume_cc, 3), "mean_gy": _num(self.mean_gy), "min_gy": _num(self.min_gy),
                "max_gy": _num(self.max_gy), "d95_gy": _num(self.d95_gy),
                "max_curve_difference_pct": _num(self.max_curve_difference_pct, 3)}


@dataclass(frozen=True, eq=False)
class StructureDvh:
    """One structure's DVH and metrics (doses in Gy, volumes in cm^3)."""

    number: int
    name: str
    roi_type: str
    colour: tuple[int, int, int]
    metrics: DvhMetrics
    dvh: Dvh
    contour_volume_cc: float
    conformity_index: Optional[float] = None
    embedded: Optional[EmbeddedComparison] = None

    @property
    def is_target(self) -> bool:
        return self.roi_type.upper() in TARGET_TYPES

    def to_json(self, curve: bool = True) -> dict[str, Any]:
        m = self.metrics
        out: dict[str, Any] = {
            "number": self.number, "name": self.name, "type": self.roi_type, "colour": list(self.colour),
            "volume_cc": _num(m.volume_cc, 3), "contour_volume_cc": _num(self.contour_volume_cc, 3),
            "min_gy": _num(m.min_gy), "mean_gy": _num(m.mean_gy), "max_gy": _num(m.max_gy),
            **{f"d{p:g}_gy": _num(v) for p, v in m.d_gy.items()},
            "v_cc": {f"{g:g}": _num(v, 3) for g, v in m.v_cc.items()},
            "v_pct": {f"{g:g}": _num(m.v_pct(g), 3) for g in m.v_cc},
            "homogeneity_index": _num(m.homogeneity_index) if self.is_target else None,
            "conformity_index": _num(self.conformity_index),
        }
        if self.embedded is not None:
            out["planning_system"] = self.embedded.to_json()
        if curve:
            keep = _curve_extent(self.dvh)
            out["dvh"] = {"dose_gy": [round(float(v), 4) for v in self.dvh.dose_gy[:keep]],
                          "cumulative_cc": [round(float(v), 4) for v in self.dvh.cumulative_cc[:keep]]}
        return out


def _curve_extent(dvh: Dvh) -> int:
    """Edges up to one past the last with volume (the curve's tail of zeros left out)."""
    nonzero = np.flatnonzero(dvh.cumulative_cc > 0)
    return int(min(len(dvh.dose_gy), nonzero[-1] + 2)) if nonzero.size else 1


@dataclass(frozen=True, eq=False)
class RtDoseResult:
    """DVHs of the structures of a structure set in an RT dose."""

    structures: tuple[StructureDvh, ...]
    prescription_gy: Optional[float]
    dose_units: str
    dose_max_gy: float
    device: str
    provenance: Provenance
    warnings: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)

    def structure(self, name: str) -> StructureDvh:
        for s in self.structures:
            if s.name.lower() == name.lower():
                return s
        raise KeyError(f"no structure {name!r}; known: {', '.join(s.name for s in self.structures)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "analysis": "rt-dose",
            "dose_units": self.dose_units,
            "prescription_gy": _num(self.prescription_gy),
            "dose_max_gy": _num(self.dose_max_gy),
            "device": self.device,
            "structures": [s.to_json() for s in self.structures],
            "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "provenance": self.provenance.to_json(),
        }
