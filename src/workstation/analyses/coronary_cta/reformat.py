"""Curved and straightened multiplanar reformations along a centreline, and single cross-sections.

* **Straightened MPR**: row ``i`` is the line through centreline point ``i`` along
  ``cos(phi) N + sin(phi) B`` (its parallel-transport normal and binormal), so the vessel
  runs straight down the middle; ``phi`` rotates the cut about the centreline.
* **Curved MPR** (the *stretched* curved planar reformation of Kanitsar et al., IEEE
  Visualization 2002): every line runs along one direction ``a`` perpendicular to the
  vessel's main axis ``m`` (its first principal direction), shifted sideways by the
  centreline's own offset along ``a``, and the rows are spaced by the centreline's
  length perpendicular to ``a``.  The image keeps the vessel's curvature as seen along
  ``m x a`` and is isometric along the vessel; ``phi`` rotates ``a`` about ``m``.  For a
  straight vessel both are an ordinary MPR through its axis.
* **Cross-section**: the plane perpendicular to the centreline at one point.

All sample the volume trilinearly on its device (:func:`workstation.compute.sampling.sample`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.coronary_cta.centerline import arc_length
from workstation.compute.arrays import array_module
from workstation.compute.sampling import IndexMap, sample

FloatArray = NDArray[np.float64]
AIR_HU = -1024.0


@dataclass(frozen=True, eq=False)
class CurvedImage:
    """A curved MPR: the image (rows, columns), and per row the arc length along the vessel (mm)
    and the column where the centreline is."""

    image: Any
    row_position_mm: FloatArray
    centre_column: FloatArray
    pixel_mm: float


def _offsets(half_width_mm: float, pixel_mm: float) -> FloatArray:
    n = int(np.floor(half_width_mm / pixel_mm))
    return np.arange(-n, n + 1, dtype=np.float64) * pixel_mm


def _resample_rows(centreline: FloatArray, pixel_mm: float, *extra: FloatArray) -> list[FloatArray]:
    """Centreline (and per-point vectors) interpolated every ``pixel_mm`` of arc length."""
    s = arc_length(centreline)
    t = np.arange(0.0, s[-1] + 1e-9, pixel_mm)
    out = [np.stack([np.interp(t, s, a[:, k]) for k in range(3)], axis=1) for a in (centreline,) + extra]
    return [t] + out


def straightened(volume: Any, index_map: IndexMap, centreline: FloatArray, normal: FloatArray, binormal: FloatArray,
                 *, angle_deg: float = 0.0, half_width_mm: float = 10.0, pixel_mm: float = 0.25) -> tuple[Any, FloatArray]:
    """The straightened MPR (rows along the vessel every ``pixel_mm``) and each row's position (mm)."""
    xp = array_module(volume)
    t, c, n, b = _resample_rows(centreline, pixel_mm, normal, binormal)
    phi = np.deg2rad(angle_deg)
    d = np.cos(phi) * n + np.sin(phi) * b
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    u = _offsets(half_width_mm, pixel_mm)
    points = c[:, None, :] + u[None, :, None] * d[:, None, :]
    return sample(volume, xp.asarray(points), index_map, cval=AIR_HU), t


def main_axis(centreline: FloatArray) -> FloatArray:
    """The first principal direction of the centreline points (start-to-end sense)."""
    c = np.asarray(centreline, dtype=np.float64)
    _, _, vt = np.linalg.svd(c - c.mean(axis=0), full_matrices=False)
    m = vt[0]
    return m if float(np.dot(c[-1] - c[0], m)) >= 0 else -m


def _across(m: FloatArray, up: Optional[FloatArray]) -> FloatArray:
    """A unit vector perpendicular to ``m``: ``up`` (default: patient left) made perpendicular."""
    for v in ([] if up is None else [np.asarray(up, dtype=np.float64)]) + [np.eye(3)[0], np.eye(3)[1]]:
        a = v - np.dot(v, m) * m
        if np.linalg.norm(a) > 1e-6:
            return a / np.linalg.norm(a)
    raise ValueError("no direction across the vessel")  # unreachable: x and y cannot both be parallel to m


def curved(volume: Any, index_map: IndexMap, centreline: FloatArray, *, angle_deg: float = 0.0,
           up: Optional[FloatArray] = None, half_width_mm: float = 15.0, pixel_mm: float = 0.25) -> CurvedImage:
    """The stretched curved MPR of the vessel, its cutting direction rotated ``angle_deg`` about its main axis."""
    xp = array_module(volume)
    c = np.asarray(centreline, dtype=np.float64)
    m = main_axis(c)
    a0 = _across(m, up)
    phi = np.deg2rad(angle_deg)
    a = np.cos(phi) * a0 + np.sin(phi) * np.cross(m, a0)
    offset = (c - c[0]) @ a
    step = np.diff(c, axis=0)
    along = np.sqrt(np.maximum(np.sum(step * step, axis=1) - (step @ a) ** 2, 0.0))
    y = np.concatenate([[0.0], np.cumsum(along)])
    rows = np.arange(0.0, y[-1] + 1e-9, pixel_mm)
    s = arc_length(c)
    keep = np.concatenate([[True], np.diff(y) > 1e-9])  # y must increase for the interpolation
    yk = y[keep]
    point = np.stack([np.interp(rows, yk, c[keep, k]) for k in range(3)], axis=1)
    shift = np.interp(rows, yk, offset[keep])
    position = np.interp(rows, yk, s[keep])
    cols = np.arange(np.floor((offset.min() - half_width_mm) / pixel_mm),
                     np.ceil((offset.max() + half_width_mm) / pixel_mm) + 1) * pixel_mm
    points = point[:, None, :] + (cols[None, :] - shift[:, None])[..., None] * a[None, None, :]
    image = sample(volume, xp.asarray(points), index_map, cval=AIR_HU)
    return CurvedImage(image, position, (shift - cols[0]) / pixel_mm, pixel_mm)


def cross_section(volume: Any, index_map: IndexMap, centre: FloatArray, normal: FloatArray, binormal: FloatArray,
                  *, half_width_mm: float = 6.0, pixel_mm: float = 0.1) -> Any:
    """The plane through ``centre`` spanned by ``normal`` (columns) and ``binormal`` (rows)."""
    xp = array_module(volume)
    u = _offsets(half_width_mm, pixel_mm)
    points = (np.asarray(centre)[None, None, :] + u[None, :, None] * np.asarray(normal)[None, None, :]
              + u[:, None, None] * np.asarray(binormal)[None, None, :])
    return sample(volume, xp.asarray(points), index_map, cval=AIR_HU)
