"""Analytic contrast-filled tubes with known centreline, radius and stenoses, for the coronary tests.

Written here, independently of the demo phantom: a tube follows a parametric curve
(a helix segment or a straight line), its lumen radius tapers linearly and narrows
at planted stenoses with a cosine-shouldered profile; plaque fills the space between
the narrowed lumen and the reference wall.  Each voxel's value is the partial-volume
mix (a linear ramp one voxel wide at every boundary) of lumen, plaque and fat, then
blurred by a Gaussian point spread function and given correlated noise of a stated SD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from workstation.core.volume import Volume

LUMEN_HU, FAT_HU, PLAQUE_HU, CALCIUM_HU = 400.0, -100.0, 40.0, 900.0


@dataclass(frozen=True)
class Narrowing:
    """A planted stenosis: centre along the tube (mm), total length (mm), diameter reduction (%)."""

    position_mm: float
    length_mm: float
    percent: float
    calcium_arc_deg: float = 0.0  # the plaque is calcified over this arc of the wall (360: all round)
    outward_mm: float = 0.0  # plaque this thick also grows outward (positive remodelling)

    def factor(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Lumen radius / reference radius along ``s``: 1 outside, 1 - percent/100 on the middle third,
        cosine shoulders over the outer thirds."""
        u = np.abs(s - self.position_mm) / (0.5 * self.length_mm)
        shoulder = np.clip((u - 1.0 / 3.0) * 1.5, 0.0, 1.0)  # 0 on the middle third, 1 at the ends
        depth = 0.5 * (1.0 + np.cos(np.pi * shoulder))
        return np.where(u < 1.0, 1.0 - self.percent / 100.0 * depth, 1.0)

    def bulge(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Outward growth of the wall (mm) along ``s``, with the same profile."""
        return self.outward_mm * (1.0 - self.factor(s)) / max(self.percent / 100.0, 1e-9) if self.percent > 0 else \
            self.outward_mm * (np.abs(s - self.position_mm) < 0.5 * self.length_mm)


@dataclass(frozen=True, eq=False)
class Tube:
    """A tube volume and its truth: dense centreline (mm), arc length, lumen and reference radii."""

    volume: Volume
    centreline_mm: NDArray[np.float64]
    s_mm: NDArray[np.float64]
    lumen_radius_mm: NDArray[np.float64]
    reference_radius_mm: NDArray[np.float64]
    narrowings: tuple[Narrowing, ...]
    plaque_mm3: tuple[tuple[float, float], ...] = ()  # per narrowing: (calcified, non-calcified) volume

    def point_at(self, s: float) -> tuple[float, float, float]:
        p = [float(np.interp(s, self.s_mm, self.centreline_mm[:, k])) for k in range(3)]
        return p[0], p[1], p[2]

    def distance_to_path(self, points_mm: NDArray[np.float64]) -> NDArray[np.float64]:
        return cKDTree(self.centreline_mm).query(points_mm)[0]

    def radius_at(self, s: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(s, self.s_mm, self.lumen_radius_mm)


def helix(radius_mm: float = 18.0, pitch_mm: float = 30.0) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """A helix about z by arc length ``s``: curvature radius ``R + pitch^2 / (4 pi^2 R)``."""
    k = pitch_mm / (2.0 * np.pi)
    speed = np.hypot(radius_mm, k)

    def curve(s: NDArray[np.float64]) -> NDArray[np.float64]:
        t = s / speed
        return np.stack([radius_mm * np.cos(t), radius_mm * np.sin(t), k * t], axis=1)

    return curve


def straight(direction: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Callable[[NDArray[np.float64]],
                                                                                   NDArray[np.float64]]:
    d = np.asarray(direction, dtype=np.float64) / np.linalg.norm(direction)
    return lambda s: s[:, None] * d[None, :]


def _angle_about(centre: NDArray[np.float64], pts: NDArray[np.float64], nearest: NDArray[np.intp]) -> NDArray[
        np.float64]:
    """Angle (degrees, -180..180) of each point about the curve, from a side fixed by the z axis."""
    t = np.gradient(centre, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    side = np.cross(t, [0.0, 0.0, 1.0])
    weak = np.linalg.norm(side, axis=1) < 1e-6
    side[weak] = np.cross(t[weak], [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    other = np.cross(t, side)
    d = pts - centre[nearest]
    return np.degrees(np.arctan2(np.sum(d * other[nearest], axis=1), np.sum(d * side[nearest], axis=1)))


def make_tube(curve: Callable[[NDArray[np.float64]], NDArray[np.float64]], length_mm: float, *,
              r_start: float = 2.0, r_end: float = 1.2, narrowings: tuple[Narrowing, ...] = (),
              spacing: tuple[float, float, float] = (0.6, 0.45, 0.45), blur_mm: float = 0.35,
              noise_hu: float = 20.0, seed: int = 0, margin_mm: float = 8.0,
              occluded: Optional[tuple[float, float]] = None, lumen_hu: float = LUMEN_HU,
              calcium_hu: float = CALCIUM_HU) -> Tube:
    """Render a tube along ``curve`` over ``[0, length_mm]`` into a fat background.

    ``occluded`` (start, end mm) fills the lumen with plaque over that stretch.
    """
    s = np.arange(0.0, length_mm + 1e-9, 0.02)
    centre = curve(s)
    ref = r_start + (r_end - r_start) * s / length_mm
    lumen = ref.copy()
    wall = ref + 0.2
    for n in narrowings:
        lumen = np.minimum(lumen, ref * n.factor(s))
        wall = np.maximum(wall, ref + 0.2 + n.bulge(s))
    if occluded is not None:
        lumen = np.where((s >= occluded[0]) & (s <= occluded[1]), 0.0, lumen)
    lo = centre.min(axis=0) - margin_mm
    hi = centre.max(axis=0) + margin_mm
    dz, dy, dx = spacing
    shape = tuple(int(np.ceil((hi[k] - lo[k]) / d)) + 1 for k, d in zip((2, 1, 0), spacing))
    zz, yy, xx = np.meshgrid(*(lo[k] + d * np.arange(n) for k, d, n in zip((2, 1, 0), spacing, shape)),
                             indexing="ij")
    pts = np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
    dist, nearest = cKDTree(centre).query(pts, distance_upper_bound=wall.max() + 3.0)
    inside = np.isfinite(dist)
    d, i = dist[inside], nearest[inside]
    h = min(spacing)

    def ramp(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.clip(0.5 - x / h, 0.0, 1.0)

    lum = ramp(d - lumen[i])
    vessel = ramp(d - wall[i])  # plaque between the narrowed lumen and the (remodelled) wall
    plaque = np.clip(vessel - lum, 0.0, 1.0)
    calcified = np.zeros_like(plaque)
    angle = _angle_about(centre, pts[inside], i)
    for n in narrowings:
        if n.calcium_arc_deg > 0:
            near = (np.abs(s[i] - n.position_mm) < 0.5 * n.length_mm) & (np.abs(angle) <= n.calcium_arc_deg / 2)
            calcified = np.where(near, plaque, calcified)
    values = np.full(pts.shape[0], FAT_HU)
    values[inside] = (FAT_HU * (1.0 - lum - plaque) + lumen_hu * lum + PLAQUE_HU * (plaque - calcified)
                      + calcium_hu * calcified)
    image = values.reshape(shape)
    voxel = float(np.prod(spacing))
    volumes = []
    for n in narrowings:
        near = np.abs(s[i] - n.position_mm) < 0.5 * n.length_mm + 1.0
        volumes.append((float(calcified[near].sum() * voxel), float((plaque - calcified)[near].sum() * voxel)))
    sig = [blur_mm / d for d in spacing]
    image = ndi.gaussian_filter(image, sig)
    if noise_hu > 0:
        noise = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sig)
        image = image + noise * (noise_hu / noise.std())
    volume = Volume(image.astype(np.float32), spacing=spacing, origin=(float(lo[0]), float(lo[1]), float(lo[2])),
                    modality="CT", meta={"rescale_applied": True})
    return Tube(volume, centre, s, lumen, ref, narrowings, tuple(volumes))
