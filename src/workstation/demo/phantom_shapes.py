"""Analytic 2D shapes on a pixel grid in millimetres, for synthetic phantoms.

Every function takes the patient-space coordinates of the pixel centres of one
slice (``x_mm``, ``y_mm``: 2D arrays, DICOM LPS, so ``+x`` is patient left and
``+y`` posterior) and returns a boolean mask.  Shapes are sampled at pixel centres
(no partial volume), so areas in pixels are exact and reproducible.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.floating]


def pixel_grid(n_rows: int, n_cols: int, pixel_mm: float) -> tuple[FloatArray, FloatArray, float, float]:
    """Pixel-centre coordinates of an image centred on the patient axis.

    Returns
    -------
    x_mm, y_mm
        2D arrays ``(n_rows, n_cols)``: x grows with the column index, y with the row.
    x0, y0
        Coordinates (mm) of the centre of pixel ``(0, 0)``.
    """
    x0 = -0.5 * (n_cols - 1) * pixel_mm
    y0 = -0.5 * (n_rows - 1) * pixel_mm
    xs = (x0 + pixel_mm * np.arange(n_cols)).astype(np.float32)
    ys = (y0 + pixel_mm * np.arange(n_rows)).astype(np.float32)
    x_mm, y_mm = np.meshgrid(xs, ys)
    return x_mm, y_mm, float(x0), float(y0)


def ellipse(x_mm: FloatArray, y_mm: FloatArray, cx: float, cy: float, ax: float, ay: float) -> BoolArray:
    """Filled axis-aligned ellipse with centre ``(cx, cy)`` and semi-axes ``ax``, ``ay`` (mm)."""
    if ax <= 0 or ay <= 0:
        return np.zeros(x_mm.shape, dtype=bool)
    return ((x_mm - cx) / ax) ** 2 + ((y_mm - cy) / ay) ** 2 <= 1.0


def disc(x_mm: FloatArray, y_mm: FloatArray, cx: float, cy: float, r: float) -> BoolArray:
    """Filled circle of radius ``r`` mm."""
    return ellipse(x_mm, y_mm, cx, cy, r, r)


def rectangle(x_mm: FloatArray, y_mm: FloatArray, x_lo: float, x_hi: float, y_lo: float, y_hi: float) -> BoolArray:
    """Axis-aligned rectangle ``[x_lo, x_hi] x [y_lo, y_hi]`` (mm, inclusive)."""
    return (x_mm >= x_lo) & (x_mm <= x_hi) & (y_mm >= y_lo) & (y_mm <= y_hi)


def ellipsoid_section(z: float, cz: float, az: float) -> float:
    """Scale factor of an ellipsoid's axial cross-section at height ``z`` (0 outside)."""
    t = (z - cz) / az
    return float(np.sqrt(1.0 - t * t)) if abs(t) < 1.0 else 0.0


def paint_bone(
    image: FloatArray, outer: BoolArray, inner: BoolArray, cortical_hu: float, cancellous_hu: float
) -> None:
    """Paint a bone: ``outer`` at cortical HU, then its marrow ``inner`` at cancellous HU."""
    image[outer] = cortical_hu
    image[inner & outer] = cancellous_hu
