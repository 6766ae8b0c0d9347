"""Analytic calcium phantoms: blocks and discs of known size and HU on a CT grid."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from workstation.core.volume import Volume

BACKGROUND_HU = 40


def blank(shape: Sequence[int], pixel_mm: float, slice_mm: float, **meta: Any) -> np.ndarray:
    """Soft tissue at 40 HU with an air border, int16 (z, y, x)."""
    a = np.full(tuple(shape), BACKGROUND_HU, dtype=np.int16)
    a[:, :2, :] = -1000
    return a


def as_volume(a: np.ndarray, pixel_mm: float, slice_mm: float, thickness: float | None = None) -> Volume:
    """A CT volume centred near the origin with axial slices."""
    nz, ny, nx = a.shape
    origin = (-0.5 * (nx - 1) * pixel_mm, -0.5 * (ny - 1) * pixel_mm, -0.5 * (nz - 1) * slice_mm)
    return Volume(
        a,
        spacing=(slice_mm, pixel_mm, pixel_mm),
        origin=origin,
        modality="CT",
        meta={"slice_thickness": thickness if thickness is not None else slice_mm, "rescale_applied": True},
    )


def disc_mask(ny: int, nx: int, cy: float, cx: float, radius_px: float) -> np.ndarray:
    """Pixels whose centre lies within ``radius_px`` of ``(cy, cx)``."""
    y, x = np.ogrid[:ny, :nx]
    return (y - cy) ** 2 + (x - cx) ** 2 <= radius_px**2


def count_disc_pixels(cy: float, cx: float, radius_px: float) -> int:
    """Independent count of the pixel centres inside a circle (plain loops)."""
    n = 0
    r = int(np.ceil(radius_px)) + 1
    for yy in range(int(cy) - r, int(cy) + r + 2):
        for xx in range(int(cx) - r, int(cx) + r + 2):
            if (yy - cy) ** 2 + (xx - cx) ** 2 <= radius_px**2:
                n += 1
    return n


def reference_agatston(a: np.ndarray, pixel_mm: float, slice_mm: float, min_area_mm2: float = 1.0) -> float:
    """A plain textbook implementation: per slice label, loop over lesions, sum area x weight."""
    import scipy.ndimage as ndi

    total = 0.0
    for k in range(a.shape[0]):
        labels, n = ndi.label(a[k] >= 130, structure=np.ones((3, 3)))
        for i in range(1, n + 1):
            sel = labels == i
            area = sel.sum() * pixel_mm * pixel_mm
            if area < min_area_mm2:
                continue
            peak = a[k][sel].max()
            weight = 4 if peak >= 400 else 3 if peak >= 300 else 2 if peak >= 200 else 1
            total += area * weight
    return total * slice_mm / 3.0
