"""Annotations a reader draws on images (distance, angle, Cobb angle, arrow, text, ROIs): plain data.

An annotation drawn on a slice of a volume keeps its points in patient coordinates
(``space="patient"``: x, y, z mm, DICOM LPS, in the volume's Frame of Reference), so
that it shows on the same anatomy in any view cutting through that plane and is saved
as 3D spatial coordinates.  One drawn on a projection image keeps image pixel
coordinates (``space="image"``: column, row of the stored image, pixel centres at
integers) and the SOP instance (and frame) it belongs to.  ``values`` are the
measurements made when it was drawn: ``(name, value, unit)`` with UCUM units.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

KINDS = ("distance", "angle", "cobb", "arrow", "text", "ellipse", "rectangle")
#: How many points each kind has (ellipse/rectangle: two opposite corners of the box).
POINTS = {"distance": 2, "angle": 3, "cobb": 4, "arrow": 2, "text": 1, "ellipse": 2, "rectangle": 2}
TITLES = {"distance": "Distance", "angle": "Angle", "cobb": "Cobb angle", "arrow": "Arrow", "text": "Text",
          "ellipse": "Ellipse ROI", "rectangle": "Rectangle ROI"}

Point = tuple[float, float, float]


@dataclass(frozen=True)
class Annotation:
    """One annotation and the measurements made on it."""

    uid: str
    kind: str
    points: tuple[Point, ...]
    space: str = "patient"
    frame_of_reference_uid: str = ""
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    frame_number: Optional[int] = None  # 1-based frame of a multi-frame image
    text: str = ""
    label: str = ""
    values: tuple[tuple[str, float, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown annotation kind {self.kind!r}; known: {', '.join(KINDS)}")
        if len(self.points) != POINTS[self.kind]:
            raise ValueError(f"a {self.kind} annotation has {POINTS[self.kind]} points, got {len(self.points)}")
        if self.space not in ("patient", "image"):
            raise ValueError(f"space must be 'patient' or 'image', got {self.space!r}")
        object.__setattr__(self, "points", tuple(tuple(float(v) for v in p) for p in self.points))

    def value(self, name: str) -> Optional[float]:
        """The measurement called ``name`` (``"Length"``, ``"Mean"``...), else ``None``."""
        return next((v for n, v, _ in self.values if n == name), None)

    def with_label(self, label: str) -> "Annotation":
        return replace(self, label=label)

    def summary(self) -> str:
        """The label and its measurements: ``Distance 1: 12.3 mm``; an ROI's statistics on two more lines."""
        head = self.label or TITLES[self.kind]
        if self.kind in ("text", "arrow"):
            return f"{head}: {self.text}" if self.text else head
        if self.kind in ("ellipse", "rectangle"):
            shown = {n: _format(n, v, u) for n, v, u in self.values}
            lines = [" ".join(shown[n] for n in names if n in shown)
                     for names in (("Mean", "Standard Deviation"), ("Minimum", "Maximum", "Area"))]
            return "\n".join([head] + [line for line in lines if line])
        body = ", ".join(_format(n, v, u) for n, v, u in self.values)
        return f"{head}: {body}" if body else head


SHORT = {"Mean": "mean", "Standard Deviation": "SD", "Minimum": "min", "Maximum": "max", "Area": "area"}


def _format(name: str, value: float, unit: str) -> str:
    shown = {"mm": "mm", "mm2": "mm²", "deg": "°", "[hnsf'U]": "HU", "1": ""}.get(unit, unit)
    digits = 0 if name in ("Minimum", "Maximum") else 1
    if name == "Length" or name.endswith("angle") or name == "Angle":
        return f"{value:.{digits}f}{'' if shown == '°' else ' '}{shown}"
    if name in ("Minimum", "Maximum", "Standard Deviation") and shown == "HU":
        shown = ""  # the mean says HU once
    return f"{SHORT.get(name, name.lower())} {value:.{digits}f}{(' ' + shown) if shown else ''}"
