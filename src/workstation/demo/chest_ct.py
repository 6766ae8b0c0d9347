"""A synthetic non-contrast chest CT with coronary calcium of known Agatston score.

The phantom is 512 x 512 pixels of 0.7 mm, 60 axial slices of 3 mm (3 mm increment),
stored as int16 with RescaleIntercept -1024.  Anatomy, in DICOM LPS (``+x`` patient
left, ``+y`` posterior, ``+z`` head): a body ellipse with subcutaneous fat and a
muscle layer, lungs at -850 HU, a heart ellipsoid (blood and myocardium ~40 HU) in
pericardial fat, the ascending aorta rising from the heart and the descending
aorta beside the spine, a vertebra (cortical 700 HU, cancellous 250 HU), ribs, the
sternum, and the trachea.  Gaussian noise (12 HU SD, seeded) is added everywhere,
but a voxel whose noise-free value is below 130 HU is clipped to at most 125 HU, so
no voxel outside bone and the placed calcifications reaches the 130 HU threshold.
Bone stays at least 30 mm from every calcification, and the calcifications (see
:mod:`workstation.demo.coronary_lesions`) are exact pixel-aligned blocks, so the
score is known by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume
from workstation.demo import phantom_shapes as ps
from workstation.demo.cache import ensure_written
from workstation.demo.coronary_lesions import LESIONS, SPECKS, CalciumTruth, place_lesion

PATIENT = {
    "PatientName": "DEMO^CHEST",
    "PatientID": "DEMO-0001",
    "PatientAge": "055Y",
    "PatientSex": "M",
    "PatientBirthDate": "19690301",
    "StudyDate": "20240115",
    "StudyTime": "093000",
    "StudyID": "1",
    "StudyDescription": "Demo chest CT, coronary calcium",
}

# Anatomy (mm, LPS).  Heart ellipsoid: centre and semi-axes.
HEART_CENTRE = (10.0, -25.0, -20.0)
HEART_AXES = (60.0, 48.0, 52.0)
ASCENDING_AORTA = (-5.0, -15.0, 15.0)  # x, y, lowest z
DESCENDING_AORTA = (22.0, 45.0)
AORTA_RADII = (15.0, 12.0)
VOLUME_CENTRE_Z = -15.0


def _chest_wall(x: NDArray[np.float32], y: NDArray[np.float32]) -> NDArray[np.float32]:
    """The slice content that does not change along z: body, lungs, bones, aortas."""
    img = np.full(x.shape, -1000.0, dtype=np.float32)
    img[ps.ellipse(x, y, 0, 0, 165, 120)] = -100.0  # subcutaneous fat
    img[ps.ellipse(x, y, 0, 0, 152, 106)] = 50.0  # chest wall muscle
    img[ps.ellipse(x, y, 0, 0, 138, 93)] = -80.0  # mediastinal / cavity fat
    img[ps.ellipse(x, y, -85, 5, 55, 82)] = -850.0  # right lung (patient right = -x)
    img[ps.ellipse(x, y, 85, 5, 55, 82)] = -850.0  # left lung
    for angle in np.deg2rad([35, 60, 85, 110, 135, 160, 200, 225, 250, 275, 300, 325]):
        cx, cy = 145 * np.cos(angle), 100 * np.sin(angle)
        if cy < -80 and abs(cx) < 40:
            continue
        ps.paint_bone(img, ps.ellipse(x, y, cx, cy, 6, 5), ps.ellipse(x, y, cx, cy, 4, 3), 700.0, 250.0)
    ps.paint_bone(
        img, ps.rectangle(x, y, -13, 13, -108, -97), ps.rectangle(x, y, -11, 11, -106, -99), 700.0, 250.0
    )  # sternum
    ps.paint_bone(img, ps.disc(x, y, 0, 70, 18), ps.disc(x, y, 0, 70, 16), 700.0, 250.0)  # vertebral body
    img[ps.rectangle(x, y, -16, 16, 100, 112)] = 500.0  # posterior elements
    img[ps.disc(x, y, 0, 97, 7)] = 10.0  # spinal canal
    img[ps.disc(x, y, *DESCENDING_AORTA, AORTA_RADII[1])] = 40.0
    return img


def _slice(base: NDArray[np.float32], x: NDArray[np.float32], y: NDArray[np.float32], z: float) -> NDArray[np.float32]:
    img = base.copy()
    cx, cy, cz = HEART_CENTRE
    ax, ay, az = HEART_AXES
    f_fat = ps.ellipsoid_section(z, cz, az + 6)
    img[ps.ellipse(x, y, cx, cy, (ax + 6) * f_fat, (ay + 6) * f_fat)] = -90.0  # pericardial fat
    f = ps.ellipsoid_section(z, cz, az)
    img[ps.ellipse(x, y, cx, cy, ax * f, ay * f)] = 40.0  # myocardium and blood
    if z >= ASCENDING_AORTA[2]:
        img[ps.disc(x, y, ASCENDING_AORTA[0], ASCENDING_AORTA[1], AORTA_RADII[0])] = 40.0
    if z >= 40.0:
        img[ps.disc(x, y, 0, 20, 9)] = -1000.0  # trachea
    return img


def generate_chest_ct(
    seed: int = 0,
    n_slices: int = 60,
    *,
    size: int = 512,
    pixel_mm: float = 0.7,
    slice_mm: float = 3.0,
    noise_hu: float = 12.0,
) -> tuple[Volume, CalciumTruth]:
    """Build the demo CT volume (HU, int16) and its calcium truth.

    Parameters
    ----------
    seed
        Seed of the noise.
    n_slices, slice_mm
        Number of axial slices and their spacing (= thickness), mm.  The slab is
        centred 15 mm below the heart centre; it must reach every lesion (about 45
        slices of 3 mm).
    size, pixel_mm
        Image matrix and pixel size (mm).
    noise_hu
        Standard deviation of the Gaussian noise (HU).
    """
    x, y, x0, y0 = ps.pixel_grid(size, size, pixel_mm)
    z = (VOLUME_CENTRE_Z + slice_mm * (np.arange(n_slices) - 0.5 * (n_slices - 1))).astype(np.float64)
    base = _chest_wall(x, y)
    clean = np.empty((n_slices, size, size), dtype=np.float32)
    for k in range(n_slices):
        clean[k] = _slice(base, x, y, float(z[k]))
    rng = np.random.default_rng(seed)
    noisy = clean + rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(noise_hu)
    soft = clean < 130.0
    np.minimum(noisy, np.float32(125.0), out=noisy, where=soft)
    out = np.clip(np.rint(noisy), -1024, 3071).astype(np.int16)
    truth_lesions = []
    for spec in LESIONS:
        truth_lesions.append(place_lesion(out, spec, slice_z=z, x0=x0, y0=y0, pixel_mm=pixel_mm))
    specks = tuple(place_lesion(out, spec, slice_z=z, x0=x0, y0=y0, pixel_mm=pixel_mm) for spec in SPECKS)
    z_range = (z.min(), z.max())
    for les in truth_lesions + list(specks):
        if not z_range[0] <= les.centroid_mm[2] <= z_range[1]:
            raise ValueError(f"{n_slices} slices of {slice_mm} mm do not reach the demo lesions")
    volume = Volume(
        array=out,
        spacing=(slice_mm, pixel_mm, pixel_mm),
        origin=(x0, y0, float(z[0])),
        direction=np.eye(3),
        modality="CT",
        meta={
            "patient_id": PATIENT["PatientID"],
            "patient_sex": PATIENT["PatientSex"],
            "patient_age_years": 55.0,
            "slice_thickness": slice_mm,
            "rescale_applied": True,
            "study_date": "2024-01-15",
        },
    )
    truth = CalciumTruth(
        lesions=tuple(truth_lesions),
        specks=specks,
        pixel_mm=pixel_mm,
        increment_mm=slice_mm,
        patient={k: PATIENT[k] for k in ("PatientID", "PatientAge", "PatientSex")},
    )
    return volume, truth


def write_chest_ct(folder: str | Path, seed: int = 0, **kwargs: object) -> CalciumTruth:
    """Generate the demo CT and write it as a CT Image Storage series into ``folder``."""
    from workstation.io.dicom_write import write_series

    volume, truth = generate_chest_ct(seed, **kwargs)  # type: ignore[arg-type]
    tags: dict[str, object] = dict(PATIENT)
    tags.update({"KVP": 120, "Manufacturer": "Workstation demo", "BodyPartExamined": "CHEST",
                 "ConvolutionKernel": "B35f", "AccessionNumber": "DEMO0001", "PatientPosition": "HFS"})
    write_series(
        volume, folder, modality="CT", tags=tags, series_description="Calcium score 3.0 mm",
        slope=1.0, intercept=-1024.0, slice_thickness=volume.spacing[0],
    )
    return truth


def ensure_demo(folder: Optional[str | Path] = None) -> Path:
    """Write the demo chest CT once (seed 0) and return its folder (see :mod:`.cache`)."""
    return ensure_written("chest_ct", lambda target: write_chest_ct(target, seed=0), folder)
