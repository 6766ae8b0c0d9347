"""The result of a cardiac function run: volumes, function, mass, the curves, the segments and the labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.cardiac_function.regional import Segment
from workstation.analyses.cardiac_function.volumes import Limits
from workstation.core.provenance import Provenance


def _r(value: Optional[float], digits: int = 2) -> Optional[float]:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


@dataclass(frozen=True)
class Ventricle:
    """End-diastolic and end-systolic volume (ml) of one ventricle and what follows from them."""

    edv_ml: float
    esv_ml: float
    ed_phase: int
    es_phase: int
    mass_g: Optional[float] = None
    heart_rate_bpm: Optional[float] = None
    bsa_m2: Optional[float] = None

    @property
    def sv_ml(self) -> float:
        return self.edv_ml - self.esv_ml

    @property
    def ef_pct(self) -> float:
        return 100.0 * self.sv_ml / self.edv_ml if self.edv_ml > 0 else float("nan")

    @property
    def co_l_min(self) -> Optional[float]:
        """Cardiac output: stroke volume x heart rate."""
        return None if self.heart_rate_bpm is None else self.sv_ml * self.heart_rate_bpm / 1000.0

    def indexed(self) -> dict[str, Optional[float]]:
        """Values per m^2 of body surface area (empty without height and weight)."""
        if not self.bsa_m2:
            return {}
        b = self.bsa_m2
        out: dict[str, Optional[float]] = {"edv_ml_m2": self.edv_ml / b, "esv_ml_m2": self.esv_ml / b,
                                           "sv_ml_m2": self.sv_ml / b}
        if self.mass_g is not None:
            out["mass_g_m2"] = self.mass_g / b
        if self.co_l_min is not None:
            out["ci_l_min_m2"] = self.co_l_min / b
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"edv_ml": _r(self.edv_ml), "esv_ml": _r(self.esv_ml), "sv_ml": _r(self.sv_ml),
                               "ef_pct": _r(self.ef_pct), "ed_phase": self.ed_phase, "es_phase": self.es_phase}
        if self.mass_g is not None:
            out["mass_g"] = _r(self.mass_g)
        if self.co_l_min is not None:
            out["co_l_min"] = _r(self.co_l_min, 3)
        indexed = {k: _r(v) for k, v in self.indexed().items()}
        if indexed:
            out["indexed"] = indexed
        return out


@dataclass(frozen=True, eq=False)
class CardiacResult:
    """Everything a cardiac function run found.

    ``labels`` are ``(phases, slices, rows, cols)`` uint8 on the host (1 LV blood pool,
    2 LV myocardium, 3 RV blood pool), cleaned, with any edits the reader made;
    ``lv_limits`` / ``rv_limits`` hold the slices summed at each phase.
    """

    lv: Ventricle
    rv: Ventricle
    lv_curve_ml: tuple[float, ...]
    rv_curve_ml: tuple[float, ...]
    myo_curve_ml: tuple[float, ...]
    times_s: tuple[float, ...]
    timed: bool
    lv_limits: tuple[Limits, ...]
    rv_limits: tuple[Limits, ...]
    base_high: bool
    segments: tuple[Segment, ...]
    labels: NDArray[np.uint8]
    model: str
    version: str
    device: str
    provenance: Provenance
    method: Mapping[str, Any] = field(default_factory=dict)
    intended_use: str = "Not for clinical use"
    warnings: tuple[str, ...] = ()
    edited_planes: tuple[tuple[int, int], ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def basal_end(self) -> str:
        return "highest slice number" if self.base_high else "slice 0"

    def to_json(self) -> dict[str, Any]:
        def limits(items: tuple[Limits, ...], phase: int) -> dict[str, Optional[int]]:
            return {"basal_slice": items[phase].basal, "apical_slice": items[phase].apical}

        return {
            "analysis": "cardiac-function",
            "model": self.model,
            "version": self.version,
            "intended_use": self.intended_use,
            "device": self.device,
            "lv": {**self.lv.to_json(), "limits_ed": limits(self.lv_limits, self.lv.ed_phase),
                   "limits_es": limits(self.lv_limits, self.lv.es_phase)},
            "rv": {**self.rv.to_json(), "limits_ed": limits(self.rv_limits, self.rv.ed_phase),
                   "limits_es": limits(self.rv_limits, self.rv.es_phase)},
            "heart_rate_bpm": _r(self.lv.heart_rate_bpm, 1),
            "bsa_m2": _r(self.lv.bsa_m2, 3),
            "segments": [s.to_json() for s in self.segments],
            "curve": {"time_s" if self.timed else "phase": [_r(t, 4) for t in self.times_s],
                      "lv_ml": [_r(v) for v in self.lv_curve_ml], "rv_ml": [_r(v) for v in self.rv_curve_ml],
                      "lv_myocardium_ml": [_r(v) for v in self.myo_curve_ml]},
            "basal_end": self.basal_end,
            "method": dict(self.method),
            "edited_planes": [list(p) for p in self.edited_planes],
            "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "provenance": self.provenance.to_json(),
        }
