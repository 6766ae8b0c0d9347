"""Centreline geometry: smoothing and even resampling along the arc, and twist-free section frames.

A traced path is a chain of voxel centres, jagged at the voxel scale.
:func:`resample` smooths it with a Gaussian along its arc length (the ends are
extended by point reflection, so the curve keeps its end points and does not shrink
there) and resamples it every ``step_mm``.  :func:`frames` gives each point a
tangent and two normals by parallel transport (the double-reflection method of Wang
et al., ACM Trans. Graph. 27(1):2, 2008), so consecutive cross-sections do not twist
about the centreline, which a Frenet frame does at every inflection.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Frames(NamedTuple):
    """Unit tangent, normal and binormal per centreline point, ``(n, 3)`` each (patient mm axes)."""

    tangent: FloatArray
    normal: FloatArray
    binormal: FloatArray


def arc_length(points: FloatArray) -> FloatArray:
    """Cumulative length (mm) at each point of a polyline, starting at 0."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def _distinct(points: FloatArray) -> FloatArray:
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(points, axis=0), axis=1) > 1e-9
    return points[keep]


def _uniform(points: FloatArray, step: float) -> tuple[FloatArray, float]:
    """Points every ``step`` mm along the polyline, and its end (a shorter last step), and the length."""
    s = arc_length(points)
    length = float(s[-1])
    targets = np.arange(0.0, length - 0.05 * step, step)
    targets = np.append(targets, length) if targets.size else np.array([0.0, length])
    out = np.stack([np.interp(targets, s, points[:, k]) for k in range(3)], axis=1)
    return out, length


def resample(points: FloatArray, step_mm: float = 0.5, smooth_mm: float = 1.0) -> FloatArray:
    """``points`` (n, 3) smoothed by a Gaussian of ``smooth_mm`` along the arc and resampled every ``step_mm``.

    The result starts at the first point and ends at the last one (the last step may be
    shorter).  Fewer than two distinct points cannot make a centreline (``ValueError``).
    """
    pts = _distinct(np.asarray(points, dtype=np.float64))
    if len(pts) < 2:
        raise ValueError("a centreline needs two distinct points")
    if smooth_mm > 0:
        fine = min(step_mm, smooth_mm) / 2.0
        dense, _ = _uniform(pts, fine)
        pad = min(len(dense) - 1, int(np.ceil(4.0 * smooth_mm / fine)))
        if pad > 0:
            head = 2.0 * dense[0] - dense[1: pad + 1][::-1]
            tail = 2.0 * dense[-1] - dense[-pad - 1: -1][::-1]
            from scipy.ndimage import gaussian_filter1d

            extended = np.concatenate([head, dense, tail])
            smoothed = gaussian_filter1d(extended, smooth_mm / fine, axis=0, mode="nearest", truncate=4.0)
            pts = _distinct(smoothed[pad: pad + len(dense)])
        else:
            pts = dense
    out, _ = _uniform(pts, step_mm)
    return out


def tangents(points: FloatArray) -> FloatArray:
    """Unit tangents by central differences (one-sided at the ends)."""
    t = np.gradient(points, axis=0)
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return t / np.where(norm > 0, norm, 1.0)


def _perpendicular(t: FloatArray, hint: Optional[FloatArray]) -> FloatArray:
    """A unit vector perpendicular to ``t``: ``hint`` made perpendicular, else the least aligned axis."""
    candidates = [] if hint is None else [np.asarray(hint, dtype=np.float64)]
    candidates += [np.eye(3)[int(np.argmin(np.abs(t)))]]
    for v in candidates:
        n = v - np.dot(v, t) * t
        norm = np.linalg.norm(n)
        if norm > 1e-6:
            return n / norm
    raise ValueError("no perpendicular direction")  # unreachable: the least aligned axis always works


def frames(points: FloatArray, up: Optional[FloatArray] = None) -> Frames:
    """Rotation-minimising frames along ``points`` (n, 3).

    ``up`` chooses the first normal (made perpendicular to the first tangent); by
    default the patient axis least aligned with the vessel's start.
    """
    pts = np.asarray(points, dtype=np.float64)
    t = tangents(pts)
    r = np.empty_like(pts)
    r[0] = _perpendicular(t[0], up)
    for i in range(len(pts) - 1):
        v1 = pts[i + 1] - pts[i]
        c1 = float(v1 @ v1)
        if c1 < 1e-18:
            r[i + 1] = r[i]
            continue
        r_l = r[i] - (2.0 / c1) * float(v1 @ r[i]) * v1
        t_l = t[i] - (2.0 / c1) * float(v1 @ t[i]) * v1
        v2 = t[i + 1] - t_l
        c2 = float(v2 @ v2)
        r_next = r_l - (2.0 / c2) * float(v2 @ r_l) * v2 if c2 > 1e-18 else r_l
        r_next = r_next - float(r_next @ t[i + 1]) * t[i + 1]  # keep it exactly perpendicular
        r[i + 1] = r_next / np.linalg.norm(r_next)
    b = np.cross(t, r)
    return Frames(t, r, b)
