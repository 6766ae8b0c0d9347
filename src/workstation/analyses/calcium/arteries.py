"""Which coronary artery a lesion probably belongs to, from where it lies.

The suggestion uses the lesion centroid relative to the aortic root, in patient
coordinates (DICOM LPS: ``dx > 0`` toward the patient's left, ``dy > 0`` posterior,
``dz > 0`` toward the head), following the course of the arteries:

* the right coronary artery leaves the right sinus toward the patient's right and
  runs down the right atrioventricular groove: ``dx < -8 mm`` -> RCA;
* the left main is short (about 1 cm beyond the aortic wall) at the level of the
  root: within 38 mm of the root axis and ``-25 mm <= dz <= 8 mm`` -> LM;
* beyond the bifurcation the LAD runs anteriorly down the interventricular groove
  and the LCX laterally and posteriorly in the left atrioventricular groove:
  ``dy < -dx / 2`` (more than ~27 degrees anterior of pure left) -> LAD, else LCX;
* anything more than 8 mm above the root (aortic wall) -> other.

It is a suggestion only; the user's assignment always wins.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume


def suggest_artery(centroid_mm: NDArray[np.float64], root_mm: Optional[NDArray[np.float64]]) -> str:
    """Artery name suggested for a lesion centroid (x, y, z mm); ``other`` without a root."""
    if root_mm is None:
        return "other"
    dx, dy, dz = (np.asarray(centroid_mm, dtype=float) - np.asarray(root_mm, dtype=float)).tolist()
    if dz > 8.0:
        return "other"
    if dx < -8.0:
        return "RCA"
    if np.hypot(dx, dy) <= 38.0 and dz >= -25.0:
        return "LM"
    return "LAD" if dy < -0.5 * dx else "LCX"


def _round_blobs(soft: NDArray[np.bool_], pixel_mm: float) -> list[tuple[float, float, float]]:
    """Centres (row, col, radius mm) of disc-like components of radius 8-22 mm in a slice."""
    import scipy.ndimage as ndi

    labels, n = ndi.label(soft)
    if n == 0:
        return []
    dist = ndi.distance_transform_edt(soft) * pixel_mm
    flat_labels, flat_dist = labels.ravel(), dist.ravel()
    radius = np.zeros(n + 1)
    np.maximum.at(radius, flat_labels, flat_dist)
    area = np.bincount(flat_labels, minlength=n + 1) * pixel_mm**2
    out = []
    for label in np.flatnonzero((radius >= 8.0) & (radius <= 22.0) & (area <= 1.6 * np.pi * radius**2)):
        if label == 0:
            continue
        row, col = np.unravel_index(int(np.argmax(np.where(flat_labels == label, flat_dist, -1.0))), soft.shape)
        out.append((float(row), float(col), float(radius[label])))
    return out


def estimate_aortic_root(volume: Volume, step_mm: float = 1.4) -> Optional[NDArray[np.float64]]:
    """Estimate the aortic root (x, y, z mm) of a non-contrast chest CT, or ``None``.

    From the top slice down, the ascending aorta is the most anterior round soft
    tissue disc (radius 8-22 mm, -30..130 HU) of the two great vessels; it is
    followed slice by slice (centre moving < 10 mm) until it merges with the heart.
    The root is its centre on the last slice where it is still a separate disc.
    Slices are block-averaged to about ``step_mm`` pixels first (less noise, faster).
    """
    if not volume.is_axial():
        return None
    _, dy, dx = volume.spacing
    f = max(1, int(round(step_mm / max(dx, dy))))
    arr = np.asarray(volume.array)
    nz, ny, nx = arr.shape
    ny2, nx2 = ny // f, nx // f
    pixel = f * dx
    z_up = int(np.sign(volume.direction[2, 2]) or 1)
    order = range(nz - 1, -1, -1) if z_up > 0 else range(nz)
    track: Optional[tuple[float, float]] = None
    root: Optional[tuple[int, float, float]] = None
    for k in order:
        small = arr[k, : ny2 * f, : nx2 * f].reshape(ny2, f, nx2, f).mean(axis=(1, 3))
        blobs = _round_blobs((small > -30) & (small < 130), pixel)
        if track is None:
            if len(blobs) >= 2:
                # most anterior: smallest patient y (LPS y grows posteriorly)
                row, col, _ = min(blobs, key=lambda b: float(volume.index_to_patient([k, b[0] * f, b[1] * f])[1]))
                track = (row, col)
                root = (k, row, col)
            continue
        near = [b for b in blobs if np.hypot(b[0] - track[0], b[1] - track[1]) * pixel < 10.0]
        if not near:
            break
        row, col, _ = near[0]
        track = (row, col)
        root = (k, row, col)
    if root is None:
        return None
    k, row, col = root
    centre = ((row + 0.5) * f - 0.5, (col + 0.5) * f - 0.5)
    return np.asarray(volume.index_to_patient([k, centre[0], centre[1]]), dtype=np.float64)
