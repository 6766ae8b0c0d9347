"""The coronary arteries of the demo cardiac CT angiogram: paths, radii, stenoses and plaque, known by construction.

The heart is an ellipsoid whose long axis runs from the base (right, posterior,
superior) to the apex (left, anterior, inferior); the arteries run in the epicardial
fat :data:`FAT_OFFSET_MM` outside the myocardium, on the ellipsoid grown by that much,
so each path is an exact curve on a known surface.  A path is given by a few
(alpha, beta) control points on that surface (alpha: angle from the apex along the long
axis; beta: angle about it, 0 anterior, positive toward the patient's left), joined by
cubic splines and sampled every 0.1 mm.  The left main and the proximal right coronary
artery leave the aortic root at its ostia and join their surface paths with straight
segments through the fat.  Lumen radius tapers linearly along each artery; stenoses
narrow the lumen with a flat middle third and cosine shoulders, the lost lumen (and
any outward remodelling) is plaque, calcified over a stated arc of the wall facing
away from the heart and non-calcified elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: The heart ellipsoid (mm, LPS): centre, long-axis direction (base -> apex) and semi-axes.
HEART_CENTRE = (10.0, -8.0, -48.0)
LONG_AXIS = (0.55, -0.45, -0.70)
HEART_AXES = (56.0, 43.0, 40.0)
#: Epicardial fat around the myocardium, and the arteries' distance from the myocardium (mm).
FAT_MM = 9.0
FAT_OFFSET_MM = 4.2
#: The ascending aorta leaves the heart at the base pole, AORTA_DEPTH_MM inside the myocardium,
#: rising along AORTA_DIRECTION; the ostia sit where its wall meets the arteries' surface.
AORTA_DEPTH_MM = 8.0
AORTA_DIRECTION = (-0.25, -0.10, 1.0)
AORTA_RADIUS_MM = 13.0
LUMEN_HU = (440.0, 330.0)  # contrast at the ostia and at the distal ends


@dataclass(frozen=True)
class DemoStenosis:
    """A planted lesion: centre along its artery (mm from the artery's start), length, diameter reduction."""

    position_mm: float
    length_mm: float
    percent: float
    calcium_arc_deg: float = 0.0
    outward_mm: float = 0.0

    @property
    def composition(self) -> str:
        if self.calcium_arc_deg <= 0:
            return "non-calcified"
        return "calcified" if self.calcium_arc_deg >= 300 or self.percent == 0 and self.outward_mm == 0 else "mixed"

    def depth(self, s: FloatArray) -> FloatArray:
        """0 outside the lesion, 1 on its middle third, cosine shoulders between."""
        u = np.abs(s - self.position_mm) / (0.5 * self.length_mm)
        shoulder = np.clip((u - 1.0 / 3.0) * 1.5, 0.0, 1.0)
        return np.where(u < 1.0, 0.5 * (1.0 + np.cos(np.pi * shoulder)), 0.0)

    def to_json(self) -> dict[str, Any]:
        return {"position_mm": self.position_mm, "length_mm": self.length_mm, "percent_diameter": self.percent,
                "calcium_arc_deg": self.calcium_arc_deg, "outward_mm": self.outward_mm,
                "composition": self.composition}


@dataclass(frozen=True)
class ArterySpec:
    """How an artery runs: surface control points, radii at both ends, parent and lesions."""

    name: str
    controls: tuple[tuple[float, float], ...]  # (alpha, beta) in units of pi
    radius_mm: tuple[float, float]
    parent: str = ""  # the artery it branches from ("" for an ostial artery)
    stenoses: tuple[DemoStenosis, ...] = ()


ARTERIES: tuple[ArterySpec, ...] = (
    ArterySpec("LM", ((0.84, 0.24), (0.78, 0.22)), (2.2, 2.1)),
    ArterySpec("LAD", ((0.78, 0.22), (0.66, 0.16), (0.50, 0.10), (0.34, 0.07), (0.18, 0.05), (0.06, 0.05)),
               (2.0, 0.9), "LM", (DemoStenosis(22.0, 9.0, 55.0), DemoStenosis(58.0, 7.0, 70.0, 100.0))),
    ArterySpec("LCX", ((0.78, 0.22), (0.77, 0.38), (0.75, 0.55), (0.73, 0.70), (0.70, 0.82)),
               (1.8, 1.0), "LM", (DemoStenosis(20.0, 6.0, 40.0, 140.0),)),
    ArterySpec("RCA", ((0.81, -0.16), (0.77, -0.30), (0.75, -0.50), (0.73, -0.70), (0.71, -0.88),
                       (0.60, -0.98), (0.45, -1.02)),
               (2.1, 1.1), "", (DemoStenosis(30.0, 10.0, 60.0), DemoStenosis(64.0, 5.0, 0.0, 120.0, 1.0),
                                DemoStenosis(92.0, 6.0, 30.0))),
    ArterySpec("D1", ((0.62, 0.15), (0.52, 0.30), (0.40, 0.40), (0.30, 0.45)), (1.2, 0.8), "LAD"),
    ArterySpec("OM1", ((0.765, 0.46), (0.62, 0.55), (0.50, 0.60), (0.40, 0.62)), (1.2, 0.8), "LCX"),
)


@dataclass(frozen=True, eq=False)
class Artery:
    """One artery of the demo, sampled every 0.1 mm: centreline, arc length, lumen and wall radii, lesions."""

    name: str
    parent: str
    centreline_mm: FloatArray
    s_mm: FloatArray
    reference_radius_mm: FloatArray
    lumen_radius_mm: FloatArray
    wall_radius_mm: FloatArray
    calcium_arc_deg: FloatArray  # per sample: the calcified arc of its wall
    lumen_hu: FloatArray
    stenoses: tuple[DemoStenosis, ...] = ()

    @property
    def length_mm(self) -> float:
        return float(self.s_mm[-1])

    def to_json(self) -> dict[str, Any]:
        step = max(1, int(round(1.0 / max(float(self.s_mm[1] - self.s_mm[0]), 1e-6))))  # every mm
        return {"name": self.name, "parent": self.parent, "length_mm": self.length_mm,
                "centreline_mm": self.centreline_mm[::step].round(3).tolist(),
                "reference_diameter_mm": (2 * self.reference_radius_mm[::step]).round(3).tolist(),
                "stenoses": [st.to_json() for st in self.stenoses]}


@dataclass(frozen=True, eq=False)
class CoronaryTruth:
    """The demo's arteries, its aortic root and its ostia (mm, LPS)."""

    arteries: tuple[Artery, ...]
    aortic_root_mm: tuple[float, float, float]
    ostia_mm: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def artery(self, name: str) -> Artery:
        for a in self.arteries:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"aortic_root_mm": list(self.aortic_root_mm),
                "ostia_mm": {k: list(v) for k, v in self.ostia_mm.items()},
                "arteries": [a.to_json() for a in self.arteries]}


def heart_frame() -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unit long axis (base -> apex), anterior-pointing and leftward short axes."""
    u1 = np.asarray(LONG_AXIS, dtype=np.float64)
    u1 /= np.linalg.norm(u1)
    anterior = np.array([0.0, -1.0, 0.0]) - np.dot([0.0, -1.0, 0.0], u1) * u1
    u2 = anterior / np.linalg.norm(anterior)
    u3 = np.cross(u1, u2)
    if np.dot(u3, [1.0, 0.0, 0.0]) < 0:
        u3 = -u3
    return u1, u2, u3


def surface_point(alpha: FloatArray, beta: FloatArray, offset_mm: float) -> FloatArray:
    """Points (n, 3) on the heart ellipsoid grown by ``offset_mm`` (angles in radians)."""
    u1, u2, u3 = heart_frame()
    a, b, c = (x + offset_mm for x in HEART_AXES)
    alpha, beta = np.asarray(alpha)[:, None], np.asarray(beta)[:, None]
    return (np.asarray(HEART_CENTRE) + a * np.cos(alpha) * u1
            + np.sin(alpha) * (b * np.cos(beta) * u2 + c * np.sin(beta) * u3))


def _offset_q(p: FloatArray, offset_mm: float) -> FloatArray:
    """The quadratic form of the heart ellipsoid grown by ``offset_mm`` (1 on its surface)."""
    u1, u2, u3 = heart_frame()
    d = np.atleast_2d(p) - np.asarray(HEART_CENTRE)
    a, b, c = (x + offset_mm for x in HEART_AXES)
    return (d @ u1 / a) ** 2 + (d @ u2 / b) ** 2 + (d @ u3 / c) ** 2


def surface_angles(p: FloatArray, offset_mm: float) -> tuple[float, float]:
    """(alpha, beta) radians of the point of the grown ellipsoid nearest in direction to ``p``."""
    u1, u2, u3 = heart_frame()
    d = np.asarray(p) - np.asarray(HEART_CENTRE)
    a, b, c = (x + offset_mm for x in HEART_AXES)
    x = np.array([d @ u1 / a, d @ u2 / b, d @ u3 / c])
    x /= np.linalg.norm(x)
    return float(np.arccos(np.clip(x[0], -1, 1))), float(np.arctan2(x[2], x[1]))


def aorta_entry() -> tuple[FloatArray, FloatArray]:
    """A point of the aortic axis inside the heart's base, and the axis direction."""
    u1, _, _ = heart_frame()
    entry = np.asarray(HEART_CENTRE) - (HEART_AXES[0] - AORTA_DEPTH_MM) * u1
    d = np.asarray(AORTA_DIRECTION, dtype=np.float64)
    return entry, d / np.linalg.norm(d)


def ostium(target: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Where the aortic wall facing ``target`` meets the arteries' surface: the ostium (1 mm
    inside the wall) and the axis point at its height."""
    entry, d = aorta_entry()
    v = target - entry
    v -= np.dot(v, d) * d
    n = v / np.linalg.norm(v)
    lo, hi = 0.0, 60.0
    for _ in range(60):  # the wall point leaves the grown ellipsoid between lo and hi
        mid = 0.5 * (lo + hi)
        if _offset_q(entry + mid * d + AORTA_RADIUS_MM * n, FAT_OFFSET_MM)[0] < 1.0:
            lo = mid
        else:
            hi = mid
    axis = entry + lo * d
    return axis + (AORTA_RADIUS_MM - 1.0) * n, axis


def _dense(points: FloatArray, step: float = 0.1) -> FloatArray:
    """A polyline resampled every ``step`` mm."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1] + 1e-9, step)
    return np.stack([np.interp(t, s, points[:, k]) for k in range(3)], axis=1)


def _surface_path(controls: FloatArray) -> FloatArray:
    """The grown-ellipsoid curve through (alpha, beta) control points (radians)."""
    from scipy.interpolate import CubicSpline

    ab = np.asarray(controls, dtype=np.float64)
    t = np.arange(len(ab), dtype=np.float64)
    fine = np.linspace(0.0, t[-1], 4000)
    if len(ab) > 2:
        alpha, beta = CubicSpline(t, ab[:, 0])(fine), CubicSpline(t, ab[:, 1])(fine)
    else:
        alpha, beta = np.interp(fine, t, ab[:, 0]), np.interp(fine, t, ab[:, 1])
    return surface_point(alpha, beta, FAT_OFFSET_MM)


def _artery(spec: ArterySpec, centre: FloatArray) -> Artery:
    dense = _dense(centre)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
    frac = s / s[-1]
    ref = spec.radius_mm[0] + (spec.radius_mm[1] - spec.radius_mm[0]) * frac
    lumen, wall, arc = ref.copy(), ref + 0.3, np.zeros_like(s)
    for st in spec.stenoses:
        depth = st.depth(s)
        lumen = np.minimum(lumen, ref * (1.0 - st.percent / 100.0 * depth))
        wall = np.maximum(wall, ref + 0.3 + st.outward_mm * (depth > 0))
        arc = np.where(depth > 0, np.maximum(arc, st.calcium_arc_deg), arc)
    hu = LUMEN_HU[0] + (LUMEN_HU[1] - LUMEN_HU[0]) * frac
    return Artery(spec.name, spec.parent, dense, s, ref, lumen, wall, arc, hu, spec.stenoses)


def build_arteries() -> CoronaryTruth:
    """The demo's arteries with their truth (a pure function: no randomness)."""
    centres: dict[str, FloatArray] = {}
    ostia: dict[str, tuple[float, float, float]] = {}
    axis_points = []
    for spec in ARTERIES:
        controls = np.asarray(spec.controls, dtype=np.float64) * np.pi
        if not spec.parent:  # an ostial artery: from the aortic wall onto the surface
            o, axis = ostium(surface_point(controls[:1, 0], controls[:1, 1], FAT_OFFSET_MM)[0])
            ostia[spec.name] = (float(o[0]), float(o[1]), float(o[2]))
            axis_points.append(axis)
            wall = o + 1.0 * (o - axis) / np.linalg.norm(o - axis)
            first = np.asarray(surface_angles(wall, FAT_OFFSET_MM))
            path = _surface_path(np.concatenate([first[None, :], controls]))
            path = np.concatenate([np.linspace(o, path[0], 12)[:-1], path])
        else:
            path = _surface_path(controls)
        if spec.parent:
            parent = centres[spec.parent]
            start = parent[int(np.argmin(np.linalg.norm(parent - path[0], axis=1)))]
            path = np.concatenate([[start], path])
        centres[spec.name] = path
    arteries = tuple(_artery(spec, centres[spec.name]) for spec in ARTERIES)
    root = np.mean(axis_points, axis=0)
    return CoronaryTruth(arteries, (float(root[0]), float(root[1]), float(root[2])), ostia)
