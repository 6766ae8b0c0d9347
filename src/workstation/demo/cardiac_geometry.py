"""A beating heart of simple shapes whose volumes are known exactly: the cine phantom's truth.

Coordinates are the short-axis frame, in mm: ``x`` and ``y`` in the image plane
(``x`` along image rows, ``y`` down the columns), ``u`` along the left-ventricular
long axis from the end-diastolic mitral plane (``u = 0``) toward the apex.

* LV cavity: a prolate half-ellipsoid cut by the mitral plane (tilted by
  ``mitral_tilt_deg``); radius ``R_endo`` at its equator, the apex fixed and the base
  descending ``base_descent_mm`` in systole.  Papillary muscles sit inside it and count
  as cavity (blood-pool volume), as in the reference values of Petersen et al. 2017.
* LV myocardium: between that and a wider ellipsoid of the same centre, thickening in
  systole; an optional hypokinetic sector thickens less (``hypokinesis``).
* RV cavity: an ellipse beside the septum minus the LV epicardium, shrinking in systole,
  cut by a tilted tricuspid plane; RV free wall 3 mm thick.  Above the valve planes the
  atria: the left one inside the LV's outline, the right one a round, thin-walled
  chamber (so a section tells atrium from ventricle by its shape and wall).

Volumes come from the exact area of every cross-section (radial intervals per angle
from the ventricle's centre, intersected with the valve planes' half-planes)
integrated over ``u`` in 0.25 mm steps (1 degree per ray): independent of any image grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Label values of the phantom (and the bundled model): blood pools and LV myocardium.
LV_BLOOD, LV_MYO, RV_BLOOD = 1, 2, 3
LABELS = {LV_BLOOD: "lv blood pool", LV_MYO: "lv myocardium", RV_BLOOD: "rv blood pool"}
#: Rendering classes beyond the labels (label 0): papillary muscle, atrial blood, RV wall,
#: pericardial fat, atrial wall.
PAPILLARY, ATRIUM, RV_WALL, FAT, ATRIAL_WALL = 4, 5, 6, 7, 8
DENSITY_G_PER_ML = 1.05
_EPS = 1e-9


@dataclass(frozen=True)
class HeartParams:
    """One heart: sizes at end-diastole (ED) and end-systole (ES), in mm and degrees."""

    r_endo_ed: float = 26.0
    r_endo_es: float = 17.5
    length_ed: float = 86.0  # mitral plane to endocardial apex along the axis
    wall_ed: float = 8.5
    base_descent_mm: float = 11.0
    cap_fraction: float = 0.3  # mitral plane above the ellipsoid's equator, as a fraction of its semi-axis
    mitral_tilt_deg: float = 18.0
    mitral_tilt_dir_deg: float = 200.0
    rv_angle_deg: float = 200.0  # direction of the RV centre from the LV axis in the image plane
    rv_offset_mm: float = 37.0
    rv_radial_mm: float = 23.0  # RV ellipse semi-axis toward the RV
    rv_tangential_mm: float = 52.0
    rv_length_mm: float = 74.0
    rv_shrink: float = 0.33  # fraction of the RV semi-axes lost at ES
    rv_base_descent_mm: float = 15.0
    tricuspid_tilt_deg: float = 22.0
    hypokinesis: float = 0.0  # 0: normal; 1: the sector does not thicken at all
    hypokinesis_angle_deg: float = 95.0  # from the RV direction, toward anterior
    es_fraction: float = 0.34  # ES time as a fraction of the R-R interval
    papillary_radius_mm: float = 4.0

    @property
    def wall_es(self) -> float:
        """ES wall thickness keeping the myocardial cross-section volume (incompressible wall)."""
        length_es = self.length_ed - self.base_descent_mm
        area_ed = (self.r_endo_ed + self.wall_ed) ** 2 - self.r_endo_ed ** 2
        return float(np.sqrt(self.r_endo_es ** 2 + area_ed * self.length_ed / length_es) - self.r_endo_es)


def sample_params(rng: np.random.Generator, *, hypokinesis: bool | None = None) -> HeartParams:
    """A plausible heart, normal or dilated/impaired, drawn from ``rng``."""
    r_ed = float(rng.uniform(22.0, 30.0))
    ef_like = float(rng.uniform(0.35, 0.75))  # fraction of the radius kept at ES, 0.55-0.8
    r_es = r_ed * (1.0 - 0.5 * ef_like) * float(rng.uniform(0.95, 1.05))
    hypo = bool(rng.random() < 0.35) if hypokinesis is None else hypokinesis
    wall, radial = float(rng.uniform(6.5, 11.5)), float(rng.uniform(18.0, 27.0))
    return HeartParams(
        r_endo_ed=r_ed, r_endo_es=r_es, length_ed=float(rng.uniform(72.0, 98.0)),
        wall_ed=wall, base_descent_mm=float(rng.uniform(6.0, 14.0)),
        cap_fraction=float(rng.uniform(0.2, 0.4)), mitral_tilt_deg=float(rng.uniform(8.0, 25.0)),
        mitral_tilt_dir_deg=float(rng.uniform(0.0, 360.0)), rv_angle_deg=float(rng.uniform(170.0, 230.0)),
        rv_offset_mm=r_ed + wall + radial * float(rng.uniform(-0.1, 0.25)),
        rv_radial_mm=radial, rv_tangential_mm=float(rng.uniform(44.0, 60.0)),
        rv_length_mm=float(rng.uniform(60.0, 85.0)), rv_shrink=float(rng.uniform(0.2, 0.4)),
        rv_base_descent_mm=float(rng.uniform(10.0, 20.0)), tricuspid_tilt_deg=float(rng.uniform(10.0, 30.0)),
        hypokinesis=float(rng.uniform(0.5, 0.9)) if hypo else 0.0,
        hypokinesis_angle_deg=float(rng.choice([-1.0, 1.0]) * rng.uniform(80.0, 130.0)),
        es_fraction=float(rng.uniform(0.3, 0.38)), papillary_radius_mm=float(rng.uniform(3.0, 5.0)),
    )


def contraction(phase: Any, es_fraction: float) -> NDArray[np.float64]:
    """Systolic state ``s`` (0 at ED, 1 at ES) at ``phase`` (fraction of the R-R interval).

    Cosine systole to ES, rapid filling to ``s = 0.25`` within 0.2 R-R, diastasis to
    0.15, then the atrial kick back to 0 over the last 15 %.
    """
    p = np.mod(np.asarray(phase, dtype=np.float64), 1.0)
    e = es_fraction
    rapid_end, kick = e + 0.2, 0.85
    s = np.where(p <= e, 0.5 * (1 - np.cos(np.pi * p / e)), 0.0)
    fill = (p > e) & (p <= rapid_end)
    s = np.where(fill, 0.25 + 0.75 * 0.5 * (1 + np.cos(np.pi * (p - e) / 0.2)), s)
    rest = (p > rapid_end) & (p <= kick)
    s = np.where(rest, 0.25 - 0.1 * (p - rapid_end) / (kick - rapid_end), s)
    atrial = p > kick
    return np.where(atrial, 0.15 * 0.5 * (1 + np.cos(np.pi * (p - kick) / (1 - kick))), s)


@dataclass(frozen=True)
class Shape:
    """The heart at one systolic state ``s``: every size the classifier and integrals need."""

    p: HeartParams
    s: float

    @property
    def r_endo(self) -> float:
        return self.p.r_endo_ed + (self.p.r_endo_es - self.p.r_endo_ed) * self.s

    @property
    def base(self) -> float:
        """``u`` of the mitral plane on the LV axis."""
        return self.p.base_descent_mm * self.s

    @property
    def semi_axis(self) -> float:
        """Endocardial ellipsoid semi-axis along ``u`` (its centre lies ``cap * L`` below the base)."""
        return (self.p.length_ed - self.base) / (1.0 + self.p.cap_fraction)

    @property
    def centre(self) -> float:
        return self.base + self.p.cap_fraction * self.semi_axis

    @property
    def apex_wall(self) -> float:
        return 0.8 * self.p.wall_ed

    def wall(self, theta: Any) -> NDArray[np.float64]:
        """Equatorial wall thickness (mm) at image-plane angle ``theta`` (radians)."""
        p = self.p
        grow = (p.wall_es - p.wall_ed) * self.s
        centre = np.deg2rad(p.rv_angle_deg + p.hypokinesis_angle_deg)
        d = np.angle(np.exp(1j * (np.asarray(theta) - centre)))
        bump = np.where(np.abs(d) < np.deg2rad(40.0), np.cos(d * np.pi / np.deg2rad(80.0)) ** 2, 0.0)
        return p.wall_ed + grow * (1.0 - p.hypokinesis * bump)

    def _scale(self, u: Any, semi: float) -> NDArray[np.float64]:
        z = np.maximum(np.asarray(u, dtype=np.float64) - self.centre, -self.p.cap_fraction * self.semi_axis)
        return np.sqrt(np.clip(1.0 - (z / semi) ** 2, 0.0, None))

    def r_endo_at(self, u: Any) -> NDArray[np.float64]:
        return self.r_endo * self._scale(u, self.semi_axis)

    def r_epi_at(self, u: Any, theta: Any) -> NDArray[np.float64]:
        return (self.r_endo + self.wall(theta)) * self._scale(u, self.semi_axis + self.apex_wall)

    def r_envelope(self, u: Any) -> NDArray[np.float64]:
        """LV epicardium where no sector is hypokinetic (the septum the RV wraps)."""
        return (self.r_endo + self.p.wall_ed + (self.p.wall_es - self.p.wall_ed) * self.s) * self._scale(
            u, self.semi_axis + self.apex_wall)

    # -- valve planes: a point is ventricle when (x, y) . n <= d(u) --------------------------
    def mitral(self, u: Any) -> tuple[NDArray[np.float64], tuple[float, float]]:
        a = np.deg2rad(self.p.mitral_tilt_dir_deg)
        return _plane_distance(np.asarray(u, dtype=np.float64) - self.base, self.p.mitral_tilt_deg), \
            (float(np.cos(a)), float(np.sin(a)))

    def tricuspid(self, u: Any) -> tuple[NDArray[np.float64], tuple[float, float]]:
        a = np.deg2rad(self.p.rv_angle_deg)  # the RV base tilts toward the RV free wall
        base = self.p.rv_base_descent_mm * self.s
        return _plane_distance(np.asarray(u, dtype=np.float64) - base, self.p.tricuspid_tilt_deg), \
            (float(np.cos(a)), float(np.sin(a)))

    # -- RV ----------------------------------------------------------------------------------
    @property
    def rv_centre(self) -> tuple[float, float]:
        a = np.deg2rad(self.p.rv_angle_deg)
        return (self.p.rv_offset_mm * float(np.cos(a)), self.p.rv_offset_mm * float(np.sin(a)))

    def rv_axes(self, u: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """RV ellipse semi-axes (radial, tangential) in mm at ``u``; zero past the RV apex."""
        p = self.p
        base = p.rv_base_descent_mm * self.s
        semi = (p.rv_length_mm - base) / 1.25
        z = np.maximum(np.asarray(u, dtype=np.float64) - (base + 0.25 * semi), -0.25 * semi)
        f = np.sqrt(np.clip(1.0 - (z / semi) ** 2, 0.0, None)) * (1.0 - p.rv_shrink * self.s)
        return p.rv_radial_mm * f, p.rv_tangential_mm * f


def _plane_distance(depth: NDArray[np.float64], tilt_deg: float) -> NDArray[np.float64]:
    """Signed in-plane distance of a valve plane's trace at ``depth`` mm below its centre."""
    t = np.tan(np.deg2rad(tilt_deg))
    if t < 1e-6:
        return np.where(depth >= 0, np.inf, -np.inf)
    return depth / t


def classify(shape: Shape, x: NDArray[np.float64], y: NDArray[np.float64], u: NDArray[np.float64],
             papillary: bool = True) -> NDArray[np.uint8]:
    """Rendering class of each point: 0 (not heart), the labels, or :data:`PAPILLARY` etc."""
    out = np.zeros(np.broadcast(x, y, u).shape, dtype=np.uint8)
    rho, theta = np.hypot(x, y), np.arctan2(y, x)
    d_mv, n_mv = shape.mitral(u)
    below_mv = x * n_mv[0] + y * n_mv[1] <= d_mv
    r_endo, r_epi = shape.r_endo_at(u), shape.r_epi_at(u, theta)
    env = shape.r_envelope(u)
    atrial_zone = u > shape.base - 40.0
    apex = shape.centre + shape.semi_axis + shape.apex_wall
    # pericardial fat and atria first; the ventricles overwrite them
    out[(rho < env + 3.0) & atrial_zone & (u < apex + 3.0)] = FAT
    atrium = ~below_mv & atrial_zone & (rho < env)
    out[atrium] = ATRIAL_WALL
    out[atrium & (rho < env - 2.0)] = ATRIUM
    cx, cy = shape.rv_centre
    a, b = shape.rv_axes(u)
    ang = np.deg2rad(shape.p.rv_angle_deg)
    dx, dy = x - cx, y - cy
    radial, tangential = dx * np.cos(ang) + dy * np.sin(ang), -dx * np.sin(ang) + dy * np.cos(ang)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_in = (radial / np.maximum(a, _EPS)) ** 2 + (tangential / np.maximum(b, _EPS)) ** 2
        e_wall = (radial / (a + 3.0)) ** 2 + (tangential / (b + 3.0)) ** 2
    rv_zone = (a > 0.5) & (rho >= env) & atrial_zone
    d_tv, n_tv = shape.tricuspid(u)
    below_tv = x * n_tv[0] + y * n_tv[1] <= d_tv
    ventricle = rv_zone & below_tv
    out[ventricle & (e_wall < 1.6)] = FAT
    out[ventricle & (e_wall < 1.0)] = RV_WALL
    out[ventricle & (e_in < 1.0)] = RV_BLOOD
    # above the tricuspid plane: the right atrium, round and thin-walled, in a fat pad
    ra_x, ra_y = cx + 0.3 * a * np.cos(ang), cy + 0.3 * a * np.sin(ang)
    ra_r = 0.55 * b
    d_ra = np.hypot(x - ra_x, y - ra_y)
    atrium_zone = rv_zone & ~below_tv
    out[atrium_zone & (d_ra < ra_r + 3.0)] = FAT
    out[atrium_zone & (d_ra < ra_r)] = ATRIAL_WALL
    out[atrium_zone & (d_ra < ra_r - 2.0)] = ATRIUM
    out[below_mv & (rho < r_epi)] = LV_MYO
    out[below_mv & (rho < r_endo)] = LV_BLOOD
    if papillary:
        out[below_mv & _papillary(shape, x, y, u, r_endo)] = PAPILLARY
    return out


def _papillary(shape: Shape, x: NDArray[np.float64], y: NDArray[np.float64], u: NDArray[np.float64],
               r_endo: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Two muscles (anterolateral, posteromedial) hanging from the mid wall into the cavity."""
    found = np.zeros(np.broadcast(x, y, u).shape, dtype=bool)
    z = (np.asarray(u) - shape.centre) / shape.semi_axis
    span = (z > -0.15) & (z < 0.6)
    radius = shape.p.papillary_radius_mm * (1.0 + 0.25 * shape.s)
    for offset in (-75.0, 135.0):
        a = np.deg2rad(shape.p.rv_angle_deg + 180.0 + offset)
        cx, cy = 0.62 * r_endo * np.cos(a), 0.62 * r_endo * np.sin(a)
        found |= span & ((x - cx) ** 2 + (y - cy) ** 2 < radius ** 2) & (r_endo > 2.5 * radius)
    return found


# -- exact volumes --------------------------------------------------------------------------
_THETA = np.linspace(-np.pi, np.pi, 361)[:-1]
_DTHETA = 2.0 * np.pi / _THETA.size


def _half_plane_interval(theta: NDArray[np.float64], d: NDArray[np.float64], n: tuple[float, float],
                         origin: tuple[float, float] = (0.0, 0.0)) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Radial interval ``[lo, hi]`` of each ray from ``origin`` lying in ``p . n <= d``."""
    c = np.cos(theta) * n[0] + np.sin(theta) * n[1]
    dd = d - (origin[0] * n[0] + origin[1] * n[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = dd / c
    lo = np.where(c < 0, np.maximum(t, 0.0), 0.0)
    hi = np.where(c > 0, t, np.inf)
    none = (np.abs(c) < 1e-12) & (dd < 0)
    return np.where(none, np.inf, lo), np.where(none, -np.inf, hi)


def _ring_area(lo: Any, hi: Any) -> NDArray[np.float64]:
    """Sum over rays of 0.5 (hi^2 - lo^2) dtheta for the non-empty intervals."""
    lo, hi = np.broadcast_arrays(lo, hi)
    ok = hi > lo
    return (0.5 * np.where(ok, hi ** 2 - np.where(ok, lo, 0.0) ** 2, 0.0) * _DTHETA).sum(axis=-1)


def section_areas(shape: Shape, u: NDArray[np.float64]) -> dict[int, NDArray[np.float64]]:
    """Exact cross-section areas (mm^2) of LV cavity, LV myocardium and RV cavity at ``u``."""
    u2, th = np.asarray(u, dtype=np.float64)[:, None], _THETA[None, :]
    d_mv, n_mv = shape.mitral(u2)
    lo, hi = _half_plane_interval(th, d_mv, n_mv)
    r_endo, r_epi = shape.r_endo_at(u2), shape.r_epi_at(u2, th)
    cavity = _ring_area(lo, np.minimum(hi, r_endo))
    epi = _ring_area(lo, np.minimum(hi, r_epi))
    return {LV_BLOOD: cavity, LV_MYO: epi - cavity, RV_BLOOD: _rv_areas(shape, u2, th)}


def _rv_areas(shape: Shape, u2: NDArray[np.float64], th: NDArray[np.float64]) -> NDArray[np.float64]:
    cx, cy = shape.rv_centre
    a, b = shape.rv_axes(u2)
    rel = th - np.deg2rad(shape.p.rv_angle_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_e = np.where(a > 0.5, 1.0 / np.sqrt((np.cos(rel) / np.maximum(a, _EPS)) ** 2
                                                + (np.sin(rel) / np.maximum(b, _EPS)) ** 2), 0.0)
    d_tv, n_tv = shape.tricuspid(u2)
    h_lo, h_hi = _half_plane_interval(th, d_tv, n_tv, origin=(cx, cy))
    lo, hi = h_lo, np.minimum(h_hi, rho_e)
    # the LV epicardial circle along each ray from the RV centre: |c + rho e|^2 < R^2
    radius = shape.r_envelope(u2)
    bq = cx * np.cos(th) + cy * np.sin(th)
    disc = bq ** 2 - (cx ** 2 + cy ** 2 - radius ** 2)
    root = np.sqrt(np.clip(disc, 0.0, None))
    c_lo, c_hi = np.where(disc > 0, -bq - root, np.inf), np.where(disc > 0, -bq + root, -np.inf)
    return _ring_area(lo, hi) - _ring_area(np.maximum(lo, c_lo), np.minimum(hi, c_hi))


def volumes_ml(shape: Shape, step_mm: float = 0.25) -> dict[int, float]:
    """Exact volumes (ml) of LV cavity (with papillary muscles), LV myocardium and RV cavity."""
    u = np.arange(-60.0, shape.p.length_ed + 20.0, step_mm) + 0.5 * step_mm
    areas = section_areas(shape, u)
    return {k: float(v.sum() * step_mm / 1000.0) for k, v in areas.items()}
