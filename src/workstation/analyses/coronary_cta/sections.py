"""Cross-sections perpendicular to the centreline and the lumen in each, on the backend's device.

Each section is sampled in polar form: ``n_rays`` rays from the centreline point in
its normal plane (parallel-transport frames, :mod:`.centerline`), one sample every
``dr`` mm out to the section radius, trilinear (:func:`workstation.compute.sampling.sample`).
All sections of a vessel form one ``(sections, rays, radii)`` array and every step
below is a whole-array operation.

The lumen edge on each ray is found by a threshold adapted to the local contrast,
the half-maximum between the lumen and what lies beyond it on that ray:

1. the lumen level ``L`` of a section is the mean within 0.3 mm of its centre;
2. a first edge per ray uses the half-way level between ``L`` and the section's
   background (the lower quartile of its samples beyond 1 mm);
3. the wall level ``W`` of each ray is the median of its samples 0.3-0.7 mm beyond
   that first edge (averaged over neighbouring rays), so a ray running into fat, one
   into plaque and one into myocardium each get their own half-maximum ``(L + W) / 2``;
   the edge found, ``W`` is measured once more beyond it;
4. where a ray meets calcium (brighter than the local lumen mean + k SD), the edge is
   also where it rises half-way from ``L`` to the calcium peak, so blooming calcium is
   never counted as lumen;
5. a lumen comparable to the blur never reaches the full contrast at its centre: its
   radius follows from how far the centre falls short (a disc of radius ``a`` blurred
   by ``sigma`` peaks at ``1 - exp(-a^2 / 2 sigma^2)`` of the contrast, ``sigma`` measured
   on the vessel's wide sections), and the half-maximum edge is also corrected for the
   curvature of a blurred disc (``sigma^2 / 2a`` inward);
6. a centre darker than half-way from the section's surroundings to the reference
   lumen holds no contrast: no lumen (an occlusion).

The edge is interpolated linearly between samples.  From the edge radii ``r(theta)``
come the area (polygon), the chords through the centre ``r(theta) + r(theta + pi)``
(minimal and mean diameter) and the lumen centroid (used to re-centre the centreline).
Rays running out of the section without an edge, or beyond 1.5 times the median ray
(a side branch, the aorta at the ostium), are capped there for the measurements; a
section with more than a quarter of its rays without an edge is not measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.analyses.coronary_cta.centerline import Frames
from workstation.compute.backend import Backend
from workstation.compute.sampling import IndexMap, sample

#: Radial sampling step (mm) and angular resolution of the sections.
DR_MM = 0.1
N_RAYS = 48
#: Lumen level: mean of the samples within this radius (mm).
CORE_MM = 0.3
#: Wall level: samples this far beyond the first edge (mm); calcium is looked for out to CALCIUM_REACH_MM.
WALL_WINDOW_MM = (0.3, 0.7)
CALCIUM_REACH_MM = 1.5
#: A ray ends at calcium brighter than the lumen mean by this many SD or this share of the lumen contrast.
STOP_SD = 4.0
STOP_CONTRAST = 0.25
#: Reference lumen level: upper quartile of the section levels within +- this many mm.
REFERENCE_MM = 7.5
#: A lumen whose centre falls below RATIO_HIGH of the reference contrast blends towards the
#: blurred-disc radius, fully below RATIO_LOW; one reaching it does so only when it is
#: narrower than BLUR_SIGMAS[1] edge blurs (fully below BLUR_SIGMAS[0]).  The blur is
#: measured on lumens wider than SHARP_SIGMAS blurs.
BLUR_SIGMAS = (2.5, 3.5)
RATIO_LOW, RATIO_HIGH = 0.6, 0.8
SHARP_SIGMAS = 4.0
#: Edge blur assumed when no section is wide enough to measure it (mm).
DEFAULT_SIGMA_MM = 0.4
#: A section with more open rays than this share is not measured.
MAX_OPEN_FRACTION = 0.25
#: Open rays are capped at this multiple of the section's median ray.
OPEN_CAP = 1.5
#: Sections pooled for the local lumen statistics: +- this many mm (more than twice a long lesion).
POOL_MM = 10.0


@dataclass(frozen=True)
class PolarGrid:
    """Angles (rad) and radii (mm) of the polar samples of every section."""

    n_rays: int
    radius_mm: float
    dr_mm: float = DR_MM

    @property
    def angles(self) -> np.ndarray:
        return np.arange(self.n_rays) * (2.0 * np.pi / self.n_rays)

    @property
    def radii(self) -> np.ndarray:
        return np.arange(int(round(self.radius_mm / self.dr_mm)) + 1) * self.dr_mm


@dataclass(frozen=True, eq=False)
class Lumen:
    """The lumen of every section (host arrays, one row per section).

    ``radius_mm`` (sections, rays) are the edge radii (open rays capped);
    ``open_ray`` marks rays without an edge or reaching beyond 1.5 times the median ray
    (into a side branch: capped there); ``valid`` sections were measured.
    ``lumen_hu``/``lumen_sd`` are the local lumen mean and SD (pooled over nearby
    sections), ``wall_hu`` the median wall level of the rays, ``calcium_hu`` the
    calcified-plaque threshold.
    """

    radius_mm: np.ndarray
    open_ray: np.ndarray
    valid: np.ndarray
    lumen_hu: np.ndarray
    lumen_sd: np.ndarray
    wall_hu: np.ndarray
    calcium_hu: np.ndarray
    centroid_mm: np.ndarray  # (sections, 2): offset of the lumen centroid along (normal, binormal)
    contrast_ratio: np.ndarray  # centre contrast over the reference lumen contrast
    reference_hu: np.ndarray  # the lumen level of the normal sections nearby
    blooming: np.ndarray  # calcium blooms into the centre: the lumen may be narrower than measured
    blur_mm: float  # Gaussian SD of the lumen edges, measured on the wide sections

    @property
    def area_mm2(self) -> np.ndarray:
        r = self.radius_mm
        n = r.shape[1]
        area = 0.5 * np.sin(2.0 * np.pi / n) * np.sum(r * np.roll(r, -1, axis=1), axis=1)
        return np.where(self.valid, area, np.nan)

    def chords(self) -> np.ndarray:
        half = self.radius_mm.shape[1] // 2
        return self.radius_mm[:, :half] + self.radius_mm[:, half: 2 * half]

    @property
    def minimal_diameter_mm(self) -> np.ndarray:
        return np.where(self.valid, self.chords().min(axis=1), np.nan)

    @property
    def mean_diameter_mm(self) -> np.ndarray:
        return np.where(self.valid, self.chords().mean(axis=1), np.nan)


def polar_points(xp: Any, centres: np.ndarray, frames: Frames, grid: PolarGrid) -> Any:
    """Patient positions (sections, rays, radii, 3) of the polar samples, on ``xp``."""
    c = xp.asarray(centres, dtype=xp.float64)
    n = xp.asarray(frames.normal, dtype=xp.float64)
    b = xp.asarray(frames.binormal, dtype=xp.float64)
    ang = xp.asarray(grid.angles)
    rad = xp.asarray(grid.radii)
    directions = xp.cos(ang)[None, :, None] * n[:, None, :] + xp.sin(ang)[None, :, None] * b[:, None, :]
    return c[:, None, None, :] + rad[None, None, :, None] * directions[:, :, None, :]


def sample_sections(volume: Any, index_map: IndexMap, centres: np.ndarray, frames: Frames, grid: PolarGrid,
                    backend: Backend, cval: float = -1000.0) -> Any:
    """Polar samples (sections, rays, radii), float32 on the backend's device."""
    return sample(volume, polar_points(backend.xp, centres, frames, grid), index_map, cval=cval)


def _first_crossing(xp: Any, samples: Any, low: Any, high: Any, radii: Any) -> tuple[Any, Any]:
    """Radius of the first sample below ``low`` or above ``high`` along each ray (linear between samples).

    ``low``/``high`` are (sections, rays).  Returns radii (sections, rays) and a mask of
    rays without a crossing (their radius is the last radius).
    """
    below = samples < low[..., None]
    above = samples > high[..., None]
    hit = below | above
    hit[..., 0] = False
    k = xp.argmax(hit, axis=-1)
    found = xp.any(hit, axis=-1)
    k = xp.maximum(k, 1)
    v1 = xp.take_along_axis(samples, k[..., None], axis=-1)[..., 0]
    v0 = xp.take_along_axis(samples, (k - 1)[..., None], axis=-1)[..., 0]
    rising = v1 > high
    target = xp.where(rising, high, low)
    denom = v1 - v0
    t = xp.where(xp.abs(denom) > 1e-6, (target - v0) / xp.where(xp.abs(denom) > 1e-6, denom, 1.0), 1.0)
    t = xp.clip(t, 0.0, 1.0)
    dr = radii[1] - radii[0]
    r = radii[k - 1] + t * dr
    return xp.where(found, r, radii[-1]), ~found


def _windows(xp: Any, values: Any, keep: Any, half: int) -> Any:
    """(sections, 2 half + 1) of ``values`` of the kept sections within +-``half`` sections (NaN elsewhere)."""
    n = values.shape[0]
    index = xp.arange(n)[:, None] + xp.arange(-half, half + 1)[None, :]
    inside = (index >= 0) & (index < n)
    index = xp.clip(index, 0, n - 1)
    return xp.where(inside & keep[index], values[index], xp.nan)


def nan_percentile(xp: Any, values: Any, q: float) -> Any:
    """The ``q`` percentile along the last axis ignoring NaN (linear between order statistics,
    as ``numpy.nanpercentile``); NaN where a row holds no number.  Written with a sort so NumPy
    and CuPy run the same steps."""
    missing = xp.isnan(values)
    ordered = xp.sort(xp.where(missing, xp.inf, values), axis=-1)  # the numbers first
    count = xp.sum(~missing, axis=-1)
    position = xp.maximum(count - 1, 0) * (q / 100.0)
    lo = xp.floor(position).astype(xp.int64)
    hi = xp.minimum(lo + 1, xp.maximum(count - 1, 0))
    some = count > 0
    low = xp.where(some, xp.take_along_axis(ordered, lo[..., None], axis=-1)[..., 0], 0.0)
    high = xp.where(some, xp.take_along_axis(ordered, hi[..., None], axis=-1)[..., 0], 0.0)
    return xp.where(some, low + (position - lo) * (high - low), xp.nan)


def _running(xp: Any, values: Any, keep: Any, half: int, q: float = 50.0) -> Any:
    """Per section, the ``q`` percentile of the kept values within +-``half`` sections (none kept nearby:
    that of all kept sections, or of all sections)."""
    out = nan_percentile(xp, _windows(xp, values, keep, half), q)
    pool = xp.where(keep, values, xp.nan) if bool(keep.any()) else values
    return xp.where(xp.isnan(out), nan_percentile(xp, pool, q), out)


def _ray_smooth(xp: Any, values: Any, half: int = 2) -> Any:
    """Circular running mean over +-``half`` neighbouring rays."""
    total = values.copy()
    for k in range(1, half + 1):
        total += xp.roll(values, k, axis=1) + xp.roll(values, -k, axis=1)
    return total / (2 * half + 1)


def _inner_statistics(xp: Any, p: Any, radii: Any, r1: Any) -> tuple[Any, Any]:
    """Mean and SD of each section's samples within half its lumen radius (the lumen's core),
    weighted by the area each polar sample stands for."""
    r_med = xp.median(r1, axis=1)
    inner = radii[None, None, :] <= xp.maximum(0.5 * r_med, CORE_MM)[:, None, None]
    weight = xp.broadcast_to(xp.where(inner, xp.maximum(radii, 0.125 * float(radii[1]))[None, None, :], 0.0),
                             p.shape)
    total = xp.maximum(weight.sum(axis=(1, 2)), 1e-12)
    mean = (weight * p).sum(axis=(1, 2)) / total
    mean_sq = (weight * p * p).sum(axis=(1, 2)) / total
    return mean, xp.sqrt(xp.maximum(mean_sq - mean * mean, 0.0))


def _wall_level(xp: Any, p: Any, radii: Any, r1: Any, window_mm: tuple[float, float], background: Any,
                halfway: Any) -> Any:
    """Median of each ray's samples ``window_mm`` beyond its first edge, smoothed over neighbouring rays."""
    lo, hi = window_mm
    window = (radii[None, None, :] >= r1[..., None] + lo) & (radii[None, None, :] <= r1[..., None] + hi)
    wall = nan_percentile(xp, xp.where(window, p, xp.nan), 50.0)  # NaN beyond the section: filled below
    wall = xp.where(xp.isnan(wall), background[:, None], wall)
    return xp.minimum(_ray_smooth(xp, wall), halfway[:, None])


def _edge_sigma(xp: Any, p: Any, radii: Any, r: Any, level: Any, wall: Any, sharp: Any) -> float:
    """The blur (Gaussian SD, mm) of the lumen edges, from the steepest slope of each ray near its edge.

    A blurred step of contrast ``C`` has slope ``C / (sigma sqrt(2 pi))`` at its edge;
    the median over the rays of the ``sharp`` sections (lumen much wider than the blur).
    """
    if not bool(sharp.any()):
        return DEFAULT_SIGMA_MM
    dr = float(radii[1] - radii[0])
    slope = (p[..., :-2] - p[..., 2:]) / (2.0 * dr)  # -dI/dr at the inner radii
    near = xp.abs(radii[None, None, 1:-1] - r[..., None]) <= 0.3
    steepest = xp.where(near, slope, -xp.inf).max(axis=-1)
    contrast = level[:, None] - wall
    sigma = contrast / (np.sqrt(2.0 * np.pi) * xp.maximum(steepest, 1e-6))
    ok = sharp[:, None] & (steepest > 0) & (contrast > 0)
    if not bool(ok.any()):
        return DEFAULT_SIGMA_MM
    return float(xp.clip(xp.median(sigma[ok]), 0.05, 2.0))


def find_lumen(samples: Any, grid: PolarGrid, spacing_mm: float, calcium_sd: float, backend: Backend) -> Lumen:
    """The lumen of every section from its polar samples (see the module notes)."""
    xp = backend.xp
    p = samples.astype(xp.float64)
    radii = xp.asarray(grid.radii)
    n_sec = p.shape[0]
    core, outer = int(CORE_MM / grid.dr_mm + 1e-6) + 1, int(np.ceil(1.0 / grid.dr_mm - 1e-6))
    level = p[:, :, :core].mean(axis=(1, 2))
    background = xp.percentile(p[:, :, outer:].reshape(n_sec, -1), 25.0, axis=1)
    halfway = (level + background) / 2.0
    r1, _ = _first_crossing(xp, p, xp.broadcast_to(halfway[:, None], p.shape[:2]),
                            xp.full(p.shape[:2], xp.inf), radii)
    # the local lumen attenuation: medians of the lumen cores over +-POOL_MM of the vessel,
    # so calcium blooming into the sections of one lesion does not raise it
    core_mean, core_sd = _inner_statistics(xp, p, radii, r1)
    everywhere = xp.ones(n_sec, dtype=bool)
    pool = max(int(round(POOL_MM / spacing_mm)), 1)
    anchor = _running(xp, core_mean, everywhere, pool)
    sd = _running(xp, core_sd, everywhere, pool)
    calcium = anchor + calcium_sd * sd
    # the wall level of each ray, next to the lumen (never brighter than half-way: calcium
    # is handled by the stop below)
    wall = _wall_level(xp, p, radii, r1, WALL_WINDOW_MM, background, halfway)
    # a ray meeting calcium also ends half-way up to the calcium peak
    peak = xp.where(radii[None, None, :] <= r1[..., None] + CALCIUM_REACH_MM, p, -xp.inf).max(axis=-1)
    bright = anchor + xp.maximum(STOP_SD * sd, STOP_CONTRAST * (anchor - background))
    # a centre brighter than calcium-free lumen (calcium blooming into it) counts as clean lumen
    blooming = level > bright
    level = xp.where(level > anchor + 2.0 * sd, anchor, level)
    high = xp.where(peak > bright[:, None], (level[:, None] + peak) / 2.0, xp.inf)
    r, open_ray = _first_crossing(xp, p, (level[:, None] + wall) / 2.0, high, radii)
    # once more with the wall measured beyond this closer edge (a thin plaque next to fat)
    wall = _wall_level(xp, p, radii, r, WALL_WINDOW_MM, background, halfway)
    r, open_ray = _first_crossing(xp, p, (level[:, None] + wall) / 2.0, high, radii)
    open_fraction = open_ray.mean(axis=1)
    cap = OPEN_CAP * nan_percentile(xp, xp.where(open_ray, xp.nan, r), 50.0)
    cap = xp.where(xp.isnan(cap), radii[-1], cap)
    side = open_ray | (r > cap[:, None])  # into a side branch or a neighbouring bright structure
    r = xp.where(side, xp.minimum(r, cap[:, None]), r)
    valid = open_fraction <= MAX_OPEN_FRACTION
    # a lumen narrower than the blur: its radius from how far its centre falls short of the
    # full contrast, for a disc of radius a blurred by sigma: 1 - exp(-a^2 / 2 sigma^2)
    reference = _running(xp, level, valid, max(int(round(REFERENCE_MM / spacing_mm)), 1), 75.0)
    wall_level = xp.median(wall, axis=1)
    ratio = (level - wall_level) / xp.maximum(reference - wall_level, 1.0)
    equivalent = xp.sqrt(0.5 * np.sin(2.0 * np.pi / grid.n_rays) * xp.sum(r * xp.roll(r, -1, axis=1), axis=1) / np.pi)
    sigma = _edge_sigma(xp, p, radii, r, level, wall, valid & (equivalent >= SHARP_SIGMAS * DEFAULT_SIGMA_MM))
    # the half-maximum contour of a blurred disc of radius a lies sigma^2 / 2a inside its edge
    shift = 0.5 * (xp.sqrt(equivalent * equivalent + 2.0 * sigma * sigma) - equivalent)
    r = r + xp.where(open_ray, 0.0, shift[:, None])
    equivalent = equivalent + shift
    modelled = sigma * xp.sqrt(-2.0 * xp.log(1.0 - xp.clip(ratio, 0.0, 0.999)))
    scale = modelled / xp.maximum(equivalent, 1e-6)
    by_size = xp.clip((equivalent - BLUR_SIGMAS[0] * sigma) / ((BLUR_SIGMAS[1] - BLUR_SIGMAS[0]) * sigma), 0.0, 1.0)
    by_contrast = xp.clip((ratio - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW), 0.0, 1.0)
    blend = xp.where(ratio < RATIO_LOW, by_contrast, xp.maximum(by_size, by_contrast))
    r = r * (blend + (1.0 - blend) * xp.minimum(scale, 1.0))[:, None]
    # a centre darker than half-way from the surroundings to the reference lumen holds no contrast
    r = xp.where((level < 0.5 * (reference + background))[:, None], 0.0, r)
    ang = xp.asarray(grid.angles)
    centroid = _centroid(xp, r, ang)
    host = backend.asnumpy
    return Lumen(
        radius_mm=host(r), open_ray=host(side), valid=host(valid), lumen_hu=host(anchor), lumen_sd=host(sd),
        wall_hu=host(wall_level), calcium_hu=host(calcium), centroid_mm=host(centroid),
        contrast_ratio=host(ratio), reference_hu=host(reference), blooming=host(blooming), blur_mm=sigma,
    )


def _centroid(xp: Any, r: Any, angles: Any) -> Any:
    """Centroid (sections, 2) of the star-shaped polygons ``r(theta)`` in (normal, binormal) mm."""
    x, y = r * xp.cos(angles)[None, :], r * xp.sin(angles)[None, :]
    x2, y2 = xp.roll(x, -1, axis=1), xp.roll(y, -1, axis=1)
    cross = x * y2 - x2 * y
    area = cross.sum(axis=1)
    safe = xp.where(xp.abs(area) > 1e-12, area, 1.0)
    cx = ((x + x2) * cross).sum(axis=1) / (3.0 * safe)
    cy = ((y + y2) * cross).sum(axis=1) / (3.0 * safe)
    return xp.stack([cx, cy], axis=1)
