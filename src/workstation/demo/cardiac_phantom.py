"""A short-axis SSFP cine of the beating heart (:mod:`.cardiac_geometry`) inside a chest.

The stack is double-oblique as a real short-axis cine: slice normal from apex to base
along the LV long axis (which points left, anterior and inferior), image "up" toward
the patient's anterior side, so the RV lies on the image's left.  Every pixel
averages 2 x 2 points in plane and 4 across the slice thickness (partial volume);
its label is the class covering most of those points, so a perfect segmentation
summed by discs reproduces the exact volumes up to the slice sampling.  SSFP-like
contrast (bright blood and fat, grey myocardium and liver, dark lung), a smooth coil
sensitivity, small breath-hold shifts between slices and Rician noise are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume, VolumeSeries
from workstation.demo import cardiac_geometry as geo

#: SSFP signal of each tissue relative to blood (drawn per case around these).
TISSUE = {"blood": 1.0, "myocardium": 0.27, "fat": 0.82, "lung": 0.05, "liver": 0.36, "soft": 0.32,
          "csf": 0.9, "marrow": 0.45, "air": 0.0}
SCALE = 1800.0  # stored value of blood before coil sensitivity
SUB_PLANES, SUB_PIXELS = 4, 2


@dataclass(frozen=True, eq=False)
class CineCase:
    """A synthetic cine and its truth.

    ``images`` and ``labels`` are ``(phases, slices, rows, cols)``; slice 0 is the most
    apical, the slice normal ``direction[:, 2]`` points toward the base.  Geometry is
    DICOM LPS: ``origin`` is the centre of pixel (0, 0) of slice 0, ``direction``
    has columns row, column and slice-normal cosines.
    """

    images: NDArray[np.float32]
    labels: NDArray[np.uint8]
    pixel_mm: float
    thickness_mm: float
    spacing_mm: float
    origin: tuple[float, float, float]
    direction: NDArray[np.float64]
    trigger_ms: tuple[float, ...]
    rr_ms: float
    params: geo.HeartParams
    truth_ml: dict[str, tuple[float, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def heart_rate_bpm(self) -> float:
        return 60000.0 / self.rr_ms

    @property
    def ed_phase(self) -> int:
        return int(np.argmax(self.truth_ml["lv"]))

    @property
    def es_phase(self) -> int:
        return int(np.argmin(self.truth_ml["lv"]))

    def series(self, *, height_m: Optional[float] = 1.75, weight_kg: Optional[float] = 75.0) -> VolumeSeries:
        """The cine as it loads from DICOM: one MR volume per phase, times = trigger delays (s)."""
        n_phases, n_slices = self.images.shape[:2]
        meta = {"modality": "MR", "heart_rate_bpm": self.heart_rate_bpm, "nominal_interval_ms": self.rr_ms,
                "cardiac_number_of_images": n_phases, "slice_thickness": self.thickness_mm,
                "patient_height_m": height_m, "patient_weight_kg": weight_kg, "issues": [],
                "slice_positions_mm": [k * self.spacing_mm for k in range(n_slices)]}
        spacing = (self.spacing_mm, self.pixel_mm, self.pixel_mm)
        volumes = tuple(Volume(self.images[t], spacing=spacing, origin=self.origin, direction=self.direction,
                               modality="MR", meta=meta) for t in range(n_phases))
        return VolumeSeries(volumes, tuple(t / 1000.0 for t in self.trigger_ms), meta=meta)

    @property
    def truth(self) -> dict[str, float]:
        """EDV, ESV, EF and mass of both ventricles at the sampled phases (max and min volume)."""
        lv, rv, myo = (np.asarray(self.truth_ml[k]) for k in ("lv", "rv", "myo"))
        edv, esv = float(lv.max()), float(lv.min())
        rv_edv, rv_esv = float(rv[self.ed_phase]), float(rv.min())
        return {"lv_edv_ml": edv, "lv_esv_ml": esv, "lv_ef_pct": 100.0 * (edv - esv) / edv,
                "lv_mass_g": float(myo[self.ed_phase]) * geo.DENSITY_G_PER_ML,
                "rv_edv_ml": rv_edv, "rv_esv_ml": rv_esv, "rv_ef_pct": 100.0 * (rv_edv - rv_esv) / rv_edv}


def _unit(v: Any) -> NDArray[np.float64]:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def orientation(rng: np.random.Generator, jitter_deg: float = 12.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(direction, long_axis)``: image cosines (columns row, col, normal) and the base-to-apex axis."""
    axis = _unit(np.array([0.6, -0.45, -0.66]) + rng.normal(0.0, np.deg2rad(jitter_deg), 3))
    anterior = np.array([0.0, -1.0, 0.0])
    col = _unit(-(anterior - anterior @ axis * axis))
    normal = -axis  # from apex to base, as scanners stack a short-axis cine
    row = np.cross(col, normal)
    return np.stack([row, col, normal], axis=1), axis


def _angle_in_plane(direction: NDArray[np.float64], v: Any) -> float:
    """Angle (degrees) of patient vector ``v`` projected on the image plane (x along rows)."""
    return float(np.degrees(np.arctan2(np.dot(v, direction[:, 1]), np.dot(v, direction[:, 0]))))


@dataclass(frozen=True)
class _Chest:
    """Tissue signals of this case and its coil sensitivity, in patient coordinates (mm)."""

    signal: dict[str, float]
    bias: tuple[float, float, float]

    def values(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        """Signal of the chest (everything but the heart) at points ``p`` (..., 3)."""
        X, Y, Z = p[..., 0], p[..., 1], p[..., 2]
        s = self.signal
        out = np.full(X.shape, s["air"])
        body = ((X / 165.0) ** 2 + ((Y - 15.0) / 118.0) ** 2) <= 1.0
        inner = ((X / 153.0) ** 2 + ((Y - 15.0) / 106.0) ** 2) <= 1.0
        out[body] = s["fat"]
        out[inner] = s["soft"]
        for cx, cy, cz, ax, ay, az in ((98.0, 18.0, 30.0, 58.0, 72.0, 125.0), (-92.0, 18.0, 40.0, 62.0, 76.0, 135.0)):
            out[(((X - cx) / ax) ** 2 + ((Y - cy) / ay) ** 2 + ((Z - cz) / az) ** 2) <= 1.0] = s["lung"]
        dome = -80.0 + 35.0 * np.exp(-((X + 45.0) / 95.0) ** 2)
        out[inner & (X < 70.0) & (Z < dome)] = s["liver"]
        out[np.hypot(X, Y - 92.0) < 22.0] = s["marrow"]
        out[np.hypot(X, Y - 92.0) < 7.0] = s["csf"]
        out[np.hypot(X - 22.0, Y - 62.0) < 12.0] = s["blood"]
        return out

    def sensitivity(self, p: NDArray[np.float64]) -> NDArray[np.float64]:
        b0, bx, by = self.bias
        return np.clip(b0 + bx * p[..., 0] / 165.0 - by * p[..., 1] / 118.0, 0.45, 1.6)


def _chest(rng: np.random.Generator) -> _Chest:
    signal = {k: v * float(rng.uniform(0.85, 1.15)) if k not in ("air", "blood") else v for k, v in TISSUE.items()}
    signal["blood"] = float(rng.uniform(0.9, 1.05))
    return _Chest(signal, (float(rng.uniform(0.85, 1.1)), float(rng.normal(0.0, 0.12)), float(rng.uniform(0.0, 0.35))))


def _heart_signal(chest: _Chest, rng: np.random.Generator) -> NDArray[np.float64]:
    """Signal per rendering class (index = class code; 0 means "use the chest")."""
    s = chest.signal
    table = np.zeros(9)
    table[geo.LV_BLOOD] = table[geo.ATRIUM] = s["blood"]
    table[geo.RV_BLOOD] = s["blood"] * float(rng.uniform(0.9, 1.0))
    table[geo.LV_MYO] = table[geo.PAPILLARY] = table[geo.RV_WALL] = table[geo.ATRIAL_WALL] = s["myocardium"]
    table[geo.FAT] = s["fat"]
    return table


def generate_cine(
    seed: int = 0, *, n_slices: int = 12, n_phases: int = 30, rows: int = 256, cols: int = 256,
    pixel_mm: float = 1.4, thickness_mm: float = 8.0, gap_mm: float = 2.0, heart_rate_bpm: float = 64.0,
    params: Optional[geo.HeartParams] = None, snr: Optional[float] = None, tilt_jitter_deg: float = 12.0,
    axial: bool = False,
) -> CineCase:
    """Render the phantom of ``seed`` (heart, chest, noise all drawn from it).

    ``axial=True`` stacks the same heart in axial slices instead (a series that is not
    short-axis, for the input checks).
    """
    rng = np.random.default_rng(seed)
    direction, axis = orientation(rng, tilt_jitter_deg)
    if axial:
        direction = np.eye(3)
    chest = _chest(rng)
    heart = _heart_signal(chest, rng)
    p = params or geo.sample_params(rng)
    rv_dir = _angle_in_plane(direction, np.array([-1.0, -0.3, 0.0])) + float(rng.normal(0.0, 8.0))
    anterior = _angle_in_plane(direction, np.array([0.0, -1.0, 0.0]))
    side = 1.0 if np.sin(np.deg2rad(anterior - rv_dir)) >= 0 else -1.0
    p = replace(p, rv_angle_deg=rv_dir, mitral_tilt_dir_deg=rv_dir + 180.0 + float(rng.normal(0.0, 30.0)),
                hypokinesis_angle_deg=side * abs(p.hypokinesis_angle_deg))
    spacing = thickness_mm + gap_mm
    rr = 60000.0 / heart_rate_bpm
    trigger = tuple(float(k * rr / n_phases) for k in range(n_phases))
    states = geo.contraction(np.asarray(trigger) / rr, p.es_fraction)
    apex_u = geo.Shape(p, 0.0).centre + geo.Shape(p, 0.0).semi_axis + geo.Shape(p, 0.0).apex_wall
    middle = 0.5 * (apex_u - 0.6 * spacing) + float(rng.uniform(-0.2, 0.2)) * spacing
    u_slices = middle + (0.5 * (n_slices - 1) - np.arange(n_slices)) * spacing  # slice 0 most apical
    mid_patient = np.array([28.0, -22.0, -5.0]) + rng.normal(0.0, 6.0, 3)
    base_point = mid_patient - 0.45 * apex_u * axis  # the LV axis at the ED mitral plane
    centre_px = np.array([rows, cols], dtype=float) / 2.0 + rng.uniform(-0.12, 0.12, 2) * np.array([rows, cols])
    shifts = rng.normal(0.0, 1.0, (n_slices, 2))
    frame = _Frame(direction, axis, base_point, centre_px, pixel_mm, rows, cols, thickness_mm)
    images = np.empty((n_phases, n_slices, rows, cols), dtype=np.float32)
    labels = np.empty((n_phases, n_slices, rows, cols), dtype=np.uint8)
    truth: dict[str, list[float]] = {"lv": [], "myo": [], "rv": []}
    backgrounds = [frame.chest(float(u), chest) for u in u_slices]
    for t, s in enumerate(states):
        shape = geo.Shape(p, float(s))
        vol = geo.volumes_ml(shape)
        truth["lv"].append(vol[geo.LV_BLOOD])
        truth["myo"].append(vol[geo.LV_MYO])
        truth["rv"].append(vol[geo.RV_BLOOD])
        for k, u in enumerate(u_slices):
            images[t, k], labels[t, k] = frame.render(shape, float(u), shifts[k], *backgrounds[k], heart)
    blood = chest.signal["blood"] * SCALE
    sigma = blood / (snr if snr is not None else float(rng.uniform(18.0, 40.0)))
    images = np.sqrt((images + rng.normal(0.0, sigma, images.shape)) ** 2
                     + rng.normal(0.0, sigma, images.shape) ** 2).astype(np.float32)
    origin = frame.patient(np.array([0.0]), np.array([0.0]), float(u_slices[0]))[0]
    truth_t = {k: tuple(v) for k, v in truth.items()}
    return CineCase(np.minimum(images, 4095.0), labels, pixel_mm, thickness_mm, spacing,
                    tuple(float(v) for v in origin), direction, trigger, rr, p, truth_t,  # type: ignore[arg-type]
                    meta={"seed": seed, "noise_sigma": float(sigma)})


@dataclass(frozen=True)
class _Frame:
    """Pixels and slices of the stack in heart and patient coordinates."""

    direction: NDArray[np.float64]
    axis: NDArray[np.float64]
    base_point: NDArray[np.float64]
    centre_px: NDArray[np.float64]  # (row, col) where the LV axis crosses every slice
    pixel_mm: float
    rows: int
    cols: int
    thickness_mm: float

    def heart_xy(self, r: NDArray[np.float64], c: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return (c - self.centre_px[1]) * self.pixel_mm, (r - self.centre_px[0]) * self.pixel_mm

    def patient(self, r: NDArray[np.float64], c: NDArray[np.float64], u: Any) -> NDArray[np.float64]:
        """Patient LPS (mm) of pixel coordinates ``(r, c)`` on the plane at depth ``u``."""
        x, y = self.heart_xy(r, c)
        row, col = self.direction[:, 0], self.direction[:, 1]
        # the slice plane at depth u passes through base_point + u * axis
        return (self.base_point + np.multiply.outer(np.asarray(u, dtype=float), self.axis)
                + np.multiply.outer(x, row) + np.multiply.outer(y, col))

    def chest(self, u: float, chest: _Chest) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        """The chest's signal (coil sensitivity applied) and the sensitivity on the slice plane at ``u``."""
        r, c = np.mgrid[0:self.rows, 0:self.cols].astype(np.float64)
        pts = self.patient(r, c, u)
        gain = chest.sensitivity(pts)
        return (chest.values(pts) * SCALE * gain).astype(np.float32), gain

    def render(self, shape: geo.Shape, u: float, shift: NDArray[np.float64], background: NDArray[np.float32],
               gain: NDArray[np.float64], heart: NDArray[np.float64]) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
        """Signal and label of one slice at one phase (before noise).

        Pixels whose centre column (``SUB_PLANES`` points across the slice) and the columns of
        their four neighbours hold one class are that class; the others are averaged over
        ``SUB_PIXELS`` x ``SUB_PIXELS`` x ``SUB_PLANES`` points.
        """
        image, labels = background.copy(), np.zeros((self.rows, self.cols), dtype=np.uint8)
        r0, r1, c0, c1 = self._box(shape, u, shift)
        if r1 <= r0 or c1 <= c0:
            return image, labels
        r, c = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        depth = ((np.arange(SUB_PLANES) + 0.5) / SUB_PLANES - 0.5) * self.thickness_mm
        x, y = self.heart_xy(r, c)
        first = geo.classify(shape, (x - shift[0])[..., None], (y - shift[1])[..., None], u - depth)
        code = first[..., 0]
        pure = np.all(first == code[..., None], axis=-1)
        padded = np.pad(first, ((1, 1), (1, 1), (0, 0)), mode="edge")
        for dr, dc in ((0, 1), (2, 1), (1, 0), (1, 2)):
            pure &= np.all(padded[dr:dr + code.shape[0], dc:dc + code.shape[1]] == first, axis=-1)
        signal = np.where(code > 0, heart[code] * SCALE * gain[r0:r1, c0:c1], image[r0:r1, c0:c1])
        lab = _label_of(code)
        mixed = np.flatnonzero(~pure.reshape(-1))
        if mixed.size:
            offs = (np.arange(SUB_PIXELS) + 0.5) / SUB_PIXELS - 0.5
            dr_, dc_, du_ = (a.reshape(1, -1) for a in np.meshgrid(offs, offs, depth, indexing="ij"))
            sx, sy = self.heart_xy(r.reshape(-1)[mixed, None] + dr_, c.reshape(-1)[mixed, None] + dc_)
            classes = geo.classify(shape, sx - shift[0], sy - shift[1], np.broadcast_to(u - du_, sx.shape))
            back = image[r0:r1, c0:c1].reshape(-1)[mixed, None]
            g = gain[r0:r1, c0:c1].reshape(-1)[mixed, None]
            values = np.where(classes > 0, heart[classes] * SCALE * g, back)
            signal.reshape(-1)[mixed] = values.mean(axis=1)
            tally = np.stack([(classes == 0) | (classes > geo.RV_BLOOD) & (classes != geo.PAPILLARY),
                              (classes == geo.LV_BLOOD) | (classes == geo.PAPILLARY),
                              classes == geo.LV_MYO, classes == geo.RV_BLOOD]).sum(axis=2)
            lab.reshape(-1)[mixed] = np.argmax(tally, axis=0)
        image[r0:r1, c0:c1] = signal
        labels[r0:r1, c0:c1] = lab
        return image, labels

    def _box(self, shape: geo.Shape, u: float, shift: NDArray[np.float64]) -> tuple[int, int, int, int]:
        """Pixel rows and columns that may hold heart at depth ``u`` (LV circle and RV ellipse with margins)."""
        reach = float(shape.r_envelope(np.array([u]))[0]) + 8.0
        cx, cy = shape.rv_centre
        a, b = shape.rv_axes(np.array([u]))
        rv = float(max(a[0], b[0])) + 9.0
        xs = (min(-reach, cx - rv) + shift[0], max(reach, cx + rv) + shift[0])
        ys = (min(-reach, cy - rv) + shift[1], max(reach, cy + rv) + shift[1])
        c0, c1 = (int(np.floor(v / self.pixel_mm + self.centre_px[1])) for v in xs)
        r0, r1 = (int(np.floor(v / self.pixel_mm + self.centre_px[0])) for v in ys)
        return max(r0, 0), min(r1 + 2, self.rows), max(c0, 0), min(c1 + 2, self.cols)


def _label_of(code: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Label of each rendering class: papillary muscle is LV blood pool, the rest above RV blood is 0."""
    table = np.zeros(9, dtype=np.uint8)
    table[[geo.LV_BLOOD, geo.PAPILLARY]] = geo.LV_BLOOD
    table[geo.LV_MYO], table[geo.RV_BLOOD] = geo.LV_MYO, geo.RV_BLOOD
    return table[code]
