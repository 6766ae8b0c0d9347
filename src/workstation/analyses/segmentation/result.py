"""The result of organ segmentation: labels on the study grid and per-structure measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray

from workstation.core.provenance import Provenance


@dataclass(frozen=True)
class Structure:
    """One segmented structure: label value, name, size and mean value."""

    label: int
    name: str
    voxels: int
    volume_ml: float
    mean_hu: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "voxels": self.voxels,
                "volume_ml": round(self.volume_ml, 3), "mean_hu": round(self.mean_hu, 2)}


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Labels on the study grid (``uint8``, NumPy) and per-structure measurements."""

    model: str
    version: str
    labels: NDArray[np.uint8]
    structures: tuple[Structure, ...]
    names: Mapping[int, str]
    device: str
    provenance: Provenance
    intended_use: str = "Not for clinical use"
    warnings: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "analysis": "segmentation",
            "model": self.model,
            "version": self.version,
            "intended_use": self.intended_use,
            "device": self.device,
            "structures": [s.to_json() for s in self.structures],
            "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
            "provenance": self.provenance.to_json(),
        }
