"""The text form of vessel points: ``x,y,z;x,y,z[;...]`` per vessel, vessels separated by ``|``.

Points are patient coordinates in mm (DICOM LPS).  The first point of a vessel is its
start (the ostium), the last its distal end, any between are waypoints the path must
pass.  The same text is typed in the panel, given as ``--param points=...`` and put in
an ``--inputs`` CSV cell; JSON (``[[[x, y, z], ...], ...]``) is read too.
"""

from __future__ import annotations

import json
import math
from typing import Any

Point = tuple[float, float, float]
VesselPoints = tuple[Point, ...]


def _point(text: str) -> Point:
    parts = [p for p in text.replace(" ", ",").split(",") if p]
    if len(parts) != 3:
        raise ValueError(f"a point is three numbers x,y,z (mm), got {text.strip()!r}")
    values = tuple(float(p) for p in parts)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"point {text.strip()!r} is not finite")
    return values[0], values[1], values[2]


def parse_vessel(text: str) -> VesselPoints:
    """``x,y,z;x,y,z[;...]`` as a tuple of points (at least two)."""
    points = tuple(_point(p) for p in text.split(";") if p.strip())
    if len(points) < 2:
        raise ValueError(f"a vessel needs a start and an end point, got {len(points)} in {text.strip()!r}")
    return points


def parse_points(text: str) -> tuple[VesselPoints, ...]:
    """Every vessel of ``text`` (``|`` between vessels); empty text: no vessel."""
    stripped = text.strip()
    if not stripped:
        return ()
    if stripped.startswith("["):
        return _from_json(json.loads(stripped))
    return tuple(parse_vessel(v) for v in stripped.split("|") if v.strip())


def _from_json(data: Any) -> tuple[VesselPoints, ...]:
    if not isinstance(data, list):
        raise ValueError("points JSON is a list of vessels, each a list of [x, y, z]")
    return tuple(parse_vessel(";".join(",".join(str(float(c)) for c in p) for p in vessel)) for vessel in data)


def parse_names(text: str) -> tuple[str, ...]:
    """Vessel names in the order of the points: ``LAD|LCX|RCA`` (or a JSON list)."""
    stripped = text.strip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        if not isinstance(data, list):
            raise ValueError("names JSON is a list of strings")
        return tuple(str(n).strip() for n in data)
    return tuple(n.strip() for n in stripped.split("|")) if stripped else ()


def format_vessel(points: VesselPoints) -> str:
    """The text form of one vessel's points (0.1 mm)."""
    return "; ".join(",".join(f"{c:.1f}" for c in p) for p in points)


def format_points(vessels: tuple[VesselPoints, ...]) -> str:
    return " | ".join(format_vessel(v) for v in vessels)
