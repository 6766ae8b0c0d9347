"""A synthetic contrast-enhanced cardiac CT angiogram with coronary stenoses of known size.

The phantom (DICOM LPS: ``+x`` patient left, ``+y`` posterior, ``+z`` head), 400 x 400
pixels of 0.5 mm and 200 slices of 0.6 mm by default: lungs (-850 HU) around an
oblique ellipsoidal heart (myocardium 110 HU, left ventricle 440 HU, right ventricle
320 HU) in epicardial fat (-100 HU) and a thin pericardium, the ascending aorta
(440 HU) leaving the base in mediastinal fat, the descending aorta, spine and sternum.
The coronary arteries (:mod:`.coronary_tree`: LM, LAD with a diagonal, LCX with a
marginal, RCA) are contrast-filled tubes of tapering radius whose lumen falls from
440 to 330 HU distally, with stenoses of known position, length and percent
diameter, non-calcified plaque (45 HU) and calcified plaque (850 HU).  Every edge is
a partial-volume ramp one voxel wide; the image is blurred by a Gaussian point spread
function (0.35 mm in plane, 0.45 mm along z) and given noise of the same texture
(white noise through the same blur, 30 HU SD).  It is written as a CT Image Storage
series with RescaleIntercept -1024.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume
from workstation.demo import coronary_tree as tree
from workstation.demo.cache import ensure_written

PATIENT = {
    "PatientName": "DEMO^CORONARY",
    "PatientID": "DEMO-0002",
    "PatientAge": "061Y",
    "PatientSex": "F",
    "PatientBirthDate": "19630512",
    "StudyDate": "20240611",
    "StudyTime": "101500",
    "StudyID": "2",
    "StudyDescription": "Demo coronary CT angiography",
}
MYOCARDIUM_HU, LV_HU, RV_HU, FAT_HU, AORTA_HU = 110.0, 440.0, 320.0, -100.0, 440.0
NONCALCIFIED_HU, CALCIUM_HU, WALL_HU = 45.0, 850.0, 45.0
FOV_CENTRE = (5.0, -5.0)
Z_RANGE_TOP = 22.0  # mm, the highest slice


def _ramp(signed_mm: NDArray[np.floating[Any]], h: float) -> NDArray[np.float32]:
    """Partial-volume fraction inside a boundary at signed distance ``signed_mm`` (negative inside)."""
    return np.clip(0.5 - signed_mm / h, 0.0, 1.0).astype(np.float32)


class _Ellipsoids:
    """Signed distances (mm, approximate: (sqrt(q) - 1) times the mean semi-axis) to ellipsoids
    of one orientation, the frame coordinates computed once per set of points."""

    def __init__(self, p: NDArray[np.float32], origin: NDArray[np.float64], frame: tuple[NDArray[np.float64], ...]):
        self.origin = origin
        self.frame = np.stack(frame, axis=1)
        self.local = (p - origin.astype(np.float32)) @ self.frame.astype(np.float32)

    def distance(self, centre: NDArray[np.float64], semi: tuple[float, float, float]) -> NDArray[np.float32]:
        shift = ((centre - self.origin) @ self.frame).astype(np.float32)
        inv = (1.0 / np.asarray(semi)).astype(np.float32)
        q = sum(((self.local[..., k] - shift[k]) * inv[k]) ** 2 for k in range(3))
        return (np.sqrt(q) - 1.0) * np.float32(np.mean(semi))


def _radial(p: NDArray[np.float32], base: NDArray[np.float64], direction: NDArray[np.float64]) -> NDArray[np.float32]:
    """Distance to the axis of a half-infinite cylinder starting at ``base`` (+inf below it)."""
    d = p - base.astype(np.float32)
    h = d @ direction.astype(np.float32)
    radial = np.sqrt(np.maximum(np.einsum("...k,...k->...", d, d) - h * h, 0.0))
    return np.where(h >= 0, radial, np.float32(np.inf))


def _paint(img: NDArray[np.float32], frac: NDArray[np.float32], hu: float) -> None:
    img *= 1.0 - frac
    img += frac * np.float32(hu)


def _background(p: NDArray[np.float32], h: float) -> NDArray[np.float32]:
    """Everything but the coronary arteries at patient points ``p`` (..., 3)."""
    u1, u2, u3 = tree.heart_frame()
    centre = np.asarray(tree.HEART_CENTRE)
    x, y = p[..., 0], p[..., 1]
    img = np.full(p.shape[:-1], -850.0, dtype=np.float32)  # lung
    thorax = (np.hypot(x / 150.0, (y - 5.0) / 104.0) - 1.0) * np.float32(104.0)
    _paint(img, 1.0 - _ramp(thorax, h), 50.0)  # the chest wall around the lungs
    _paint(img, _ramp(np.hypot(x, y - 75) - 30.0, h), 40.0)  # paravertebral tissue
    _paint(img, _ramp(np.hypot(x, y - 78) - 18.0, h), 650.0)  # vertebral body (cortex)
    _paint(img, _ramp(np.hypot(x, y - 78) - 15.5, h), 240.0)  # cancellous bone
    _paint(img, _ramp(np.maximum(np.abs(x) - 14.0, np.abs(y + 101) - 5.0), h), 650.0)  # sternum
    _paint(img, _ramp(np.maximum(np.abs(x) - 12.0, np.abs(y + 101) - 3.0), h), 240.0)
    _paint(img, _ramp(np.hypot(x - 22, y - 50) - 17.0, h), FAT_HU)  # fat around the descending aorta
    _paint(img, _ramp(np.hypot(x - 22, y - 50) - 12.0, h), AORTA_HU - 10.0)
    entry, direction = tree.aorta_entry()
    aorta = _radial(p, entry, direction)
    heart = _Ellipsoids(p, centre, (u1, u2, u3))
    semi = tree.HEART_AXES
    grow = lambda mm: (semi[0] + mm, semi[1] + mm, semi[2] + mm)  # noqa: E731
    _paint(img, _ramp(heart.distance(centre, grow(tree.FAT_MM + 1.0)), h), 30.0)  # pericardium
    _paint(img, _ramp(aorta - np.float32(tree.AORTA_RADIUS_MM + 7.0), h), FAT_HU)
    _paint(img, _ramp(heart.distance(centre, grow(tree.FAT_MM)), h), FAT_HU)
    _paint(img, _ramp(heart.distance(centre, semi), h), MYOCARDIUM_HU)
    lv = centre + 6.0 * u1 + 10.0 * u3 - 4.0 * u2
    _paint(img, _ramp(heart.distance(lv, (38.0, 22.0, 20.0)), h), LV_HU)
    rv = centre - 4.0 * u1 + 14.0 * u2 - 14.0 * u3
    _paint(img, _ramp(heart.distance(rv, (36.0, 12.0, 18.0)), h), RV_HU)
    _paint(img, _ramp(aorta - np.float32(tree.AORTA_RADIUS_MM + 1.2), h), WALL_HU)
    _paint(img, _ramp(aorta - np.float32(tree.AORTA_RADIUS_MM), h), AORTA_HU)
    outflow = _radial(p, lv, direction)
    _paint(img, _ramp(outflow - np.float32(10.0), h) * (img > 200), AORTA_HU)
    return img


def _grid(size: int, pixel_mm: float, n_slices: int, slice_mm: float) -> tuple[NDArray[np.floating[Any]], ...]:
    x = FOV_CENTRE[0] + pixel_mm * (np.arange(size) - 0.5 * (size - 1))
    y = FOV_CENTRE[1] + pixel_mm * (np.arange(size) - 0.5 * (size - 1))
    z = Z_RANGE_TOP - slice_mm * (n_slices - 1) + slice_mm * np.arange(n_slices)
    return x, y, z


def _paint_arteries(img: NDArray[np.float32], truth: tree.CoronaryTruth, axes: tuple[NDArray[np.floating[Any]], ...],
                    h: float) -> None:
    """Lumen, wall and plaque of every artery, composited so that lumens merge at branch points."""
    from scipy.spatial import cKDTree

    x, y, z = axes
    lumen = np.zeros(img.shape, np.float32)
    lumen_hu = np.zeros(img.shape, np.float32)
    vessel = np.zeros(img.shape, np.float32)
    calcium = np.zeros(img.shape, np.float32)
    heart = np.asarray(tree.HEART_CENTRE)
    for artery in truth.arteries:
        c = artery.centreline_mm
        reach = float(artery.wall_radius_mm.max()) + 2.0
        lo, hi = c.min(axis=0) - reach, c.max(axis=0) + reach
        sl = tuple(slice(int(max(np.searchsorted(ax, lo[k]) - 1, 0)), int(np.searchsorted(ax, hi[k]) + 1))
                   for ax, k in ((z, 2), (y, 1), (x, 0)))
        zz, yy, xx = np.meshgrid(z[sl[0]], y[sl[1]], x[sl[2]], indexing="ij")
        pts = np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
        dist, i = cKDTree(c).query(pts, distance_upper_bound=reach)
        near = np.isfinite(dist)
        d, i, q = dist[near].astype(np.float32), i[near], pts[near]
        lf = _ramp(d - artery.lumen_radius_mm[i].astype(np.float32), h)
        vf = _ramp(d - artery.wall_radius_mm[i].astype(np.float32), h)
        t = np.gradient(c, axis=0)[i]
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        out = c[i] - heart
        out -= np.sum(out * t, axis=1, keepdims=True) * t
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        rel = q - c[i]
        angle = np.degrees(np.abs(np.arctan2(np.sum(rel * np.cross(t, out), axis=1), np.sum(rel * out, axis=1))))
        cf = np.where(angle <= artery.calcium_arc_deg[i] / 2.0, vf - lf, 0.0).astype(np.float32)
        flat = np.ravel_multi_index(np.unravel_index(np.flatnonzero(near), zz.shape), zz.shape)
        for target, values, combine in ((lumen, lf, np.maximum), (vessel, vf, np.maximum), (calcium, cf, np.maximum)):
            block = target[sl].reshape(-1)
            block[flat] = combine(block[flat], values)
            target[sl] = block.reshape(zz.shape)
        block = lumen_hu[sl].reshape(-1)
        block[flat] = np.where(lf > 0, np.maximum(block[flat], artery.lumen_hu[i].astype(np.float32)), block[flat])
        lumen_hu[sl] = block.reshape(zz.shape)
    bright = img > 300.0  # no wall inside the aorta at the ostia
    vessel = np.where(bright, lumen, np.maximum(vessel, lumen))
    plaque = vessel - lumen
    calcium = np.minimum(calcium, plaque)
    img *= 1.0 - vessel
    img += lumen * lumen_hu + (plaque - calcium) * np.float32(NONCALCIFIED_HU) + calcium * np.float32(CALCIUM_HU)


def generate_coronary_cta(seed: int = 0, *, size: int = 400, pixel_mm: float = 0.5, n_slices: int = 200,
                          slice_mm: float = 0.6, noise_hu: float = 30.0, blur_mm: tuple[float, float] = (0.35, 0.45),
                          progress: Optional[Callable[[float, str], None]] = None) -> tuple[Volume, tree.CoronaryTruth]:
    """Build the demo CTA volume (HU, int16) and its coronary truth.

    ``size`` x ``size`` pixels of ``pixel_mm`` centred on the heart, ``n_slices`` slices of
    ``slice_mm`` ending at z = 22 mm; ``blur_mm`` is the PSF (in plane, along z) and
    ``noise_hu`` the noise SD.
    """
    import scipy.ndimage as ndi

    truth = tree.build_arteries()
    axes = _grid(size, pixel_mm, n_slices, slice_mm)
    x, y, z = axes
    h = float(min(pixel_mm, slice_mm))
    img = np.empty((n_slices, size, size), dtype=np.float32)
    xx, yy = np.meshgrid(x.astype(np.float32), y.astype(np.float32))
    chunk = 8
    for k0 in range(0, n_slices, chunk):
        if progress is not None:
            progress(0.6 * k0 / n_slices, "heart and chest")
        zs = z[k0: k0 + chunk].astype(np.float32)
        p = np.stack(np.broadcast_arrays(xx[None], yy[None], zs[:, None, None]), axis=-1)
        img[k0: k0 + chunk] = _background(p, h)
    if progress is not None:
        progress(0.6, "coronary arteries")
    _paint_arteries(img, truth, axes, h)
    sigma = (blur_mm[1] / slice_mm, blur_mm[0] / pixel_mm, blur_mm[0] / pixel_mm)
    if progress is not None:
        progress(0.8, "blur and noise")
    img = ndi.gaussian_filter(img, sigma)
    if noise_hu > 0:
        noise = ndi.gaussian_filter(np.random.default_rng(seed).standard_normal(img.shape, dtype=np.float32), sigma)
        img += noise * np.float32(noise_hu / float(noise.std()))
    out = np.clip(np.rint(img), -1024, 3071).astype(np.int16)
    volume = Volume(out, spacing=(slice_mm, pixel_mm, pixel_mm), origin=(float(x[0]), float(y[0]), float(z[0])),
                    direction=np.eye(3), modality="CT",
                    meta={"patient_id": PATIENT["PatientID"], "patient_sex": PATIENT["PatientSex"],
                          "patient_age_years": 61.0, "slice_thickness": slice_mm, "rescale_applied": True,
                          "study_date": "2024-06-11"})
    return volume, truth


def write_coronary_cta(folder: str | Path, seed: int = 0, **kwargs: object) -> tree.CoronaryTruth:
    """Generate the demo CTA and write it as a CT Image Storage series into ``folder``."""
    from workstation.io.dicom_write import write_series

    volume, truth = generate_coronary_cta(seed, **kwargs)  # type: ignore[arg-type]
    tags: dict[str, object] = dict(PATIENT)
    tags.update({"KVP": 100, "Manufacturer": "Workstation demo", "BodyPartExamined": "HEART",
                 "ConvolutionKernel": "Bv36", "AccessionNumber": "DEMO0002", "PatientPosition": "HFS"})
    write_series(volume, folder, modality="CT", tags=tags, series_description="Coronary CTA 0.6 mm",
                 slope=1.0, intercept=-1024.0, slice_thickness=volume.spacing[0])
    return truth


def ensure_demo(folder: Optional[str | Path] = None, progress: Optional[Callable[[float, str], None]] = None) -> Path:
    """Write the demo coronary CTA once (seed 0) and return its folder (see :mod:`.cache`)."""
    return ensure_written("coronary_cta", lambda target: write_coronary_cta(target, seed=0, progress=progress),
                          folder)
