"""Measurement maths for the 2D viewer: distances and ROI statistics, no Qt.

Positions are display pixel coordinates ``(row, col)`` of one slice, pixel centres at
integers; ``pixel_mm`` is the (row height, column width) of a pixel in mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray


def distance_mm(p0: tuple[float, float], p1: tuple[float, float], pixel_mm: tuple[float, float]) -> float:
    """Euclidean distance in mm between two display points on one slice."""
    dr = (p1[0] - p0[0]) * pixel_mm[0]
    dc = (p1[1] - p0[1]) * pixel_mm[1]
    return float(np.hypot(dr, dc))


def roi_mask(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], kind: str = "ellipse"
) -> NDArray[np.bool_]:
    """Boolean mask of the pixels whose centres lie inside the ROI spanned by two corners.

    ``kind`` is ``"ellipse"`` (inscribed in the box) or ``"rectangle"``.  The box edges
    are the given corner coordinates (continuous, in pixels).
    """
    r0, r1 = sorted((float(p0[0]), float(p1[0])))
    c0, c1 = sorted((float(p0[1]), float(p1[1])))
    rows = np.arange(shape[0], dtype=float)[:, None]
    cols = np.arange(shape[1], dtype=float)[None, :]
    if kind == "rectangle":
        return (rows >= r0) & (rows <= r1) & (cols >= c0) & (cols <= c1)
    if kind != "ellipse":
        raise ValueError(f"ROI kind must be 'ellipse' or 'rectangle', got {kind!r}")
    rc, cc = (r0 + r1) / 2.0, (c0 + c1) / 2.0
    ar, ac = max((r1 - r0) / 2.0, 1e-9), max((c1 - c0) / 2.0, 1e-9)
    return ((rows - rc) / ar) ** 2 + ((cols - cc) / ac) ** 2 <= 1.0


@dataclass(frozen=True)
class RoiStats:
    """Statistics of the values inside an ROI (units of the volume, HU for CT)."""

    n_pixels: int
    mean: float
    sd: float
    minimum: float
    maximum: float
    area_mm2: float

    def text(self, unit: str = "HU") -> str:
        if self.n_pixels == 0:
            return "empty ROI"
        return (
            f"mean {self.mean:.1f} {unit}  SD {self.sd:.1f}\n"
            f"min {self.minimum:.0f}  max {self.maximum:.0f}  area {self.area_mm2:.1f} mm²"
        )


def roi_stats(values: NDArray[Any], mask: NDArray[np.bool_], pixel_mm: tuple[float, float]) -> RoiStats:
    """Mean, sample SD (ddof=1), min, max and area (mm^2) of ``values`` under ``mask``."""
    inside = np.asarray(values, dtype=np.float64)[mask]
    inside = inside[np.isfinite(inside)]
    n = int(inside.size)
    area = float(mask.sum()) * pixel_mm[0] * pixel_mm[1]
    if n == 0:
        return RoiStats(0, float("nan"), float("nan"), float("nan"), float("nan"), area)
    sd = float(inside.std(ddof=1)) if n > 1 else 0.0
    return RoiStats(n, float(inside.mean()), sd, float(inside.min()), float(inside.max()), area)


def angle_deg(a: Any, vertex: Any, b: Any) -> float:
    """The angle at ``vertex`` between the arms to ``a`` and ``b``, degrees (0-180); points in mm."""
    u = np.asarray(a, dtype=float) - np.asarray(vertex, dtype=float)
    v = np.asarray(b, dtype=float) - np.asarray(vertex, dtype=float)
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu == 0.0 or nv == 0.0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(float(u @ v) / (nu * nv), -1.0, 1.0))))


def cobb_deg(p0: Any, p1: Any, q0: Any, q1: Any) -> float:
    """Cobb angle between the line p0-p1 and the line q0-q1, degrees (0-90): the angle
    between two lines whatever the direction each was drawn in."""
    u = np.asarray(p1, dtype=float) - np.asarray(p0, dtype=float)
    v = np.asarray(q1, dtype=float) - np.asarray(q0, dtype=float)
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu == 0.0 or nv == 0.0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(abs(float(u @ v)) / (nu * nv), 0.0, 1.0))))


Box = tuple[float, float, float, float]  # x, y, width, height (screen pixels)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _overlap(a: Box, b: Box) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _inside(x: float, y: float, w: float, h: float, bounds: Box) -> tuple[float, float]:
    """A box's corner moved so that the box lies inside ``bounds`` (as far as it fits)."""
    x = min(max(x, bounds[0]), bounds[0] + bounds[2] - w)
    y = min(max(y, bounds[1]), bounds[1] + bounds[3] - h)
    return max(x, bounds[0]), max(y, bounds[1])


def place_labels(anchors: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]],
                 bounds: Box, gap: float = 6.0, avoid: Sequence[Box] = ()) -> list[tuple[float, float]]:
    """Top-left corners (screen pixels) for labels of ``sizes`` next to ``anchors``, none overlapping.

    Each label tries positions around its anchor (below and above, right and left, then
    further away), kept inside ``bounds``; the first that overlaps no placed label and no
    box of ``avoid`` (the shapes drawn, the corner text) wins, else the one overlapping
    least.  A label is never placed outside ``bounds``.
    """
    placed: list[Box] = list(avoid)
    out: list[tuple[float, float]] = []
    for (ax, ay), (w, h) in zip(anchors, sizes):
        best: tuple[float, tuple[float, float]] = (float("inf"), _inside(ax + gap, ay + gap, w, h, bounds))
        for step in range(6):
            d = gap + step * (h + 2)
            for x, y in ((ax + d, ay + d), (ax + d, ay - d - h), (ax - d - w, ay + d), (ax - d - w, ay - d - h),
                         (ax - w / 2, ay + d), (ax - w / 2, ay - d - h), (ax + d, ay - h / 2),
                         (ax - d - w, ay - h / 2)):
                x, y = _inside(x, y, w, h, bounds)
                cost = sum(_overlap((x, y, w, h), other) for other in placed) + 0.01 * d
                if cost < best[0]:
                    best = (cost, (x, y))
            if best[0] < 1.0:
                break
        choice = best[1]
        placed.append((choice[0], choice[1], w, h))
        out.append(choice)
    return out
