"""The result of the mammography CAD: marks, suggested category, how each view was read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workstation.analyses.mammo_cad.birads import Suggestion
from workstation.core.provenance import Provenance


@dataclass(frozen=True)
class Finding:
    """One CAD mark.  Boxes are (x0, y0, x1, y1): pixels (column, row; far edges
    exclusive) and mm from the stored image's top-left corner."""

    id: int
    view: str
    laterality: str
    position: str
    kind: str
    score: float
    box_px: tuple[float, float, float, float]
    box_mm: tuple[float, float, float, float]
    location: str
    sop_instance_uid: str

    @property
    def size_mm(self) -> tuple[float, float]:
        return (self.box_mm[2] - self.box_mm[0], self.box_mm[3] - self.box_mm[1])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "view": self.view, "laterality": self.laterality, "view_position": self.position,
                "type": self.kind, "score": round(self.score, 4),
                "box_px": [round(v, 1) for v in self.box_px], "box_mm": [round(v, 2) for v in self.box_mm],
                "size_mm": [round(v, 2) for v in self.size_mm], "location": self.location,
                "sop_instance_uid": self.sop_instance_uid}


@dataclass(frozen=True)
class ViewInfo:
    """How one view was read: size, spacing, chest-wall side and the hanging mirror."""

    key: str
    shape: tuple[int, int]
    spacing_mm: tuple[float, float]
    chest_wall_left: bool
    display_flip: bool
    sop_instance_uid: str


@dataclass(frozen=True)
class MammoCadResult:
    """Findings, suggested category, per-view geometry, model, device, warnings, timings."""

    findings: tuple[Finding, ...]
    suggestion: Suggestion
    views: tuple[ViewInfo, ...]
    model: str
    model_version: str
    device: str
    score_threshold: float
    provenance: Provenance
    warnings: tuple[str, ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)

    def for_view(self, key: str) -> list[Finding]:
        return [f for f in self.findings if f.view == key]

    def to_json(self) -> dict[str, Any]:
        per_view = {v.key: [f.id for f in self.for_view(v.key)] for v in self.views}
        return {"analysis": "mammo-cad", "intended_use": "Not for clinical use",
                "model": {"name": self.model, "version": self.model_version}, "device": self.device,
                "score_threshold": self.score_threshold, "findings": [f.to_json() for f in self.findings],
                "per_view": per_view, "suggested_assessment": self.suggestion.to_json(),
                "views": [{"view": v.key, "rows": v.shape[0], "columns": v.shape[1],
                           "pixel_spacing_mm": list(v.spacing_mm), "chest_wall": "left" if v.chest_wall_left else "right"}
                          for v in self.views],
                "warnings": list(self.warnings), "timings_s": {k: round(t, 4) for k, t in self.timings_s.items()},
                "provenance": self.provenance.to_json()}
