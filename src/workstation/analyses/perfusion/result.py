"""The perfusion result: maps on the series grid plus what a report needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.aif import VascularCurve
from workstation.analyses.perfusion.summary import StrokeSummary
from workstation.core.provenance import Provenance

#: Map name -> (title, unit).
MAP_INFO: dict[str, tuple[str, str]] = {
    "cbf": ("Cerebral blood flow", "ml/100g/min"),
    "cbv": ("Cerebral blood volume", "ml/100g"),
    "mtt": ("Mean transit time", "s"),
    "tmax": ("Time to maximum of the residue", "s"),
    "ttp": ("Time to peak", "s"),
}
MAP_NAMES: tuple[str, ...] = tuple(MAP_INFO)


def _curve_json(curve: Optional[VascularCurve], times: tuple[float, ...], mm: Optional[tuple[float, ...]]) -> Any:
    if curve is None:
        return None
    return {
        "source": curve.source,
        "voxel_zyx": list(curve.location),
        "position_mm_lps": None if mm is None else [round(v, 3) for v in mm],
        "n_voxels": int(len(curve.voxels)),
        "scale": float(curve.scale),
        "times_s": [round(t, 4) for t in times],
        "values": [float(v) for v in curve.curve],
    }


def _stats(values: NDArray[np.floating]) -> dict[str, Optional[float]]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"median": None, "p5": None, "p95": None}
    p5, med, p95 = np.percentile(finite, [5, 50, 95])
    return {"median": float(med), "p5": float(p5), "p95": float(p95)}


@dataclass(frozen=True, eq=False)
class PerfusionResult:
    """Perfusion maps (``(z, y, x)`` float32, NaN outside tissue) and their context.

    ``maps`` holds ``cbf`` (ml/100 g/min), ``cbv`` (ml/100 g), ``mtt`` (s), ``tmax``
    (s) and ``ttp`` (s); ``tissue`` is the mask they are defined on;
    ``threshold_map`` the SVD threshold used per voxel (constant except for oSVD).
    """

    maps: Mapping[str, NDArray[np.float32]]
    tissue: NDArray[np.bool_]
    threshold_map: NDArray[np.float32]
    method: str
    threshold: Optional[float]
    oi_target: Optional[float]
    times: tuple[float, ...]
    dt_s: float
    baseline_frames: int
    aif: VascularCurve
    aif_mm: tuple[float, ...]
    vof: Optional[VascularCurve]
    summary: StrokeSummary
    device: str
    modality: str
    provenance: Provenance
    warnings: tuple[str, ...] = ()

    @property
    def cbf(self) -> NDArray[np.float32]:
        return self.maps["cbf"]

    @property
    def cbv(self) -> NDArray[np.float32]:
        return self.maps["cbv"]

    @property
    def mtt(self) -> NDArray[np.float32]:
        return self.maps["mtt"]

    @property
    def tmax(self) -> NDArray[np.float32]:
        return self.maps["tmax"]

    @property
    def ttp(self) -> NDArray[np.float32]:
        return self.maps["ttp"]

    def to_json(self) -> dict[str, Any]:
        """What ``workstation-batch run perfusion`` writes (no patient data)."""
        return {
            "analysis": "perfusion",
            "modality": self.modality,
            "method": self.method,
            "threshold": self.threshold,
            "oi_target": self.oi_target,
            "threshold_used": _stats(self.threshold_map),
            "dt_s": self.dt_s,
            "baseline_frames": self.baseline_frames,
            "aif": _curve_json(self.aif, self.times, self.aif_mm),
            "vof": _curve_json(self.vof, self.times, None),
            "summary": self.summary.to_json(),
            "maps": {name: {"unit": MAP_INFO[name][1], **_stats(self.maps[name])} for name in MAP_NAMES},
            "device": self.device,
            "warnings": list(self.warnings),
            "provenance": self.provenance.to_json(),
        }
