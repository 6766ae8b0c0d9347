"""Structure contours onto a dose grid: the fraction of each voxel a structure covers.

Conventions, stated because every DVH depends on them:

* Contours are closed planar polygons in patient mm; each must lie in a plane of the
  grid's slice stack (``k`` index constant to 1 % of a slice).  Contours of other
  orientations are left out with a warning.
* In-plane, a voxel is sampled on ``subsample x subsample`` points; a point is inside
  when a ray from it crosses the plane's polygons an odd number of times (even-odd
  rule), so holes (a contour inside another) and several contours per plane need no
  special case.  CLOSEDPLANAR_XOR contours are the same rule by definition.
* Along the slice normal a contour stands for a slab of the structure's plane spacing
  ``t`` centred on its plane (the spacing of its distinct planes, their median when
  uneven; the grid's slice spacing for a single plane).  This is *half-slice end
  capping*: the structure reaches ``t / 2`` beyond its first and last contours, as in
  dicompyler and most planning systems.  Each voxel is sampled at ``z_subsample``
  depths; a depth takes the nearest plane's cross-section when it lies in that slab.

The coverage is a sparse list (flat voxel index, fraction in ``(0, 1]``) on the grid,
computed on the backend of ``xp`` (NumPy or CuPy: one body for both, the crossing
counts scattered with ``add.at`` / ``scatter_add``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.kernels import segment_ids
from workstation.core.rt import StructureRoi
from workstation.core.volume import Volume

PLANE_TOLERANCE = 0.01  # of a slice: contour points off their plane by more are not planar
MAX_SAMPLES = 1 << 26  # in-plane samples rasterised at once (int8 each, a few copies)


@dataclass(frozen=True, eq=False)
class Planes:
    """The closed contours of one structure in grid index units, grouped by plane.

    ``k`` (sorted) holds each plane's slice index (continuous); ``polygons[i]`` the
    ``(n, 2)`` (row, column) index coordinates of the contours of plane ``i``.
    """

    k: NDArray[np.float64]
    polygons: tuple[tuple[NDArray[np.float64], ...], ...]
    thickness: float  # slab thickness in slice index units
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return len(self.k) == 0


@dataclass(frozen=True, eq=False)
class Coverage:
    """Where a structure lies on a grid: flat voxel indices and the fraction of each covered."""

    index: Any  # (n,) int64, sorted, on the backend
    fraction: Any  # (n,) float32 in (0, 1]
    shape: tuple[int, int, int]

    @property
    def voxels(self) -> int:
        return int(self.index.shape[0])


def planes_of(roi: StructureRoi, grid: Volume) -> Planes:
    """Group ``roi``'s closed contours by grid plane, in grid index units."""
    warnings: list[str] = []
    by_plane: dict[int, list[NDArray[np.float64]]] = {}
    skipped = 0
    for contour in roi.contours or ():
        if not contour.closed or len(contour.points_mm) < 3:
            continue
        idx = grid.patient_to_index(np.asarray(contour.points_mm, dtype=np.float64))
        k = idx[:, 0]
        if float(np.ptp(k)) > PLANE_TOLERANCE:
            skipped += 1
            continue
        key = int(round(float(k.mean()) * 1000.0))
        by_plane.setdefault(key, []).append(idx[:, 1:].copy())
    if skipped:
        warnings.append(f"{roi.name}: {skipped} contour(s) not parallel to the dose grid's planes were left out")
    keys = sorted(by_plane)
    k_values = np.asarray(keys, dtype=np.float64) / 1000.0
    steps = np.diff(k_values)
    thickness = float(np.median(steps)) if steps.size else 1.0
    if steps.size and float(np.ptp(steps)) > 0.05 * thickness:
        warnings.append(f"{roi.name}: contour planes are unevenly spaced; slabs use their median spacing")
    return Planes(k_values, tuple(tuple(by_plane[key]) for key in keys), thickness, tuple(warnings))


def _edges(planes: Planes, row0: int, col0: int) -> NDArray[np.float64]:
    """All polygon edges as rows ``(plane, y0, x0, y1, x1)`` relative to the box origin."""
    out = []
    for p, polygons in enumerate(planes.polygons):
        for poly in polygons:
            a = poly - np.array([row0, col0], dtype=np.float64)
            b = np.roll(a, -1, axis=0)
            out.append(np.column_stack([np.full(len(a), p, dtype=np.float64), a, b]))
    return np.concatenate(out) if out else np.zeros((0, 5))


def _plane_coverage(xp: ModuleType, edges: Any, n_planes: int, rows: int, cols: int, s: int) -> Any:
    """In-plane covered fraction ``(planes, rows, cols)`` by even-odd sampling on ``s x s`` points.

    Each edge toggles the parity of the samples right of where it crosses a sample row;
    only the parity of the crossings counts, so they are counted with ``unique`` (no
    atomics) and accumulated as int8 (a cumulative sum keeps its parity when it wraps).
    """
    fine_rows, fine_cols = rows * s, cols * s
    p, y0, x0, y1, x1 = (edges[:, i] for i in range(5))
    lo, hi = xp.minimum(y0, y1), xp.maximum(y0, y1)
    # fine sample rows whose centre y = (r + 0.5) / s - 0.5 lies in [lo, hi)
    r_start = xp.clip(xp.ceil((lo + 0.5) * s - 0.5), 0, fine_rows).astype(xp.int64)
    r_stop = xp.clip(xp.ceil((hi + 0.5) * s - 0.5), 0, fine_rows).astype(xp.int64)
    counts = r_stop - r_start
    total = int(counts.sum())
    toggles = xp.zeros((n_planes, fine_rows, fine_cols), dtype=xp.int8)
    if total:
        edge = segment_ids(xp, counts, total)
        first = xp.cumsum(counts) - counts
        row = r_start[edge] + (xp.arange(total) - first[edge])
        y = (row.astype(xp.float64) + 0.5) / s - 0.5
        t = (y - y0[edge]) / (y1[edge] - y0[edge])
        x = x0[edge] + t * (x1[edge] - x0[edge])
        col = xp.maximum(xp.ceil((x + 0.5) * s - 0.5), 0).astype(xp.int64)
        keep = col < fine_cols  # a crossing right of every sample changes none
        flat = ((p[edge].astype(xp.int64) * fine_rows + row) * fine_cols + col)[keep]
        where, times = xp.unique(flat, return_counts=True)
        toggles.reshape(-1)[where] = (times & 1).astype(xp.int8)
    inside = xp.cumsum(toggles, axis=2, dtype=xp.int8) & 1
    blocks = inside.reshape(n_planes, rows, s, cols, s).sum(axis=(2, 4), dtype=xp.int16)
    return blocks.astype(xp.float32) * np.float32(1.0 / (s * s))


def _chunked_coverage(xp: ModuleType, edges: Any, n_planes: int, rows: int, cols: int, s: int,
                      max_samples: int = MAX_SAMPLES) -> Any:
    """:func:`_plane_coverage` a few planes at a time, so the sample grid stays under ``max_samples``."""
    step = max(1, max_samples // max(rows * cols * s * s, 1))
    if step >= n_planes:
        return _plane_coverage(xp, edges, n_planes, rows, cols, s)
    out = xp.empty((n_planes, rows, cols), dtype=xp.float32)
    plane = edges[:, 0]
    for start in range(0, n_planes, step):
        stop = min(start + step, n_planes)
        part = edges[(plane >= start) & (plane < stop)].copy()
        part[:, 0] -= start
        out[start:stop] = _plane_coverage(xp, part, stop - start, rows, cols, s)
    return out


def coverage(xp: ModuleType, planes: Planes, shape: tuple[int, int, int], *, subsample: int = 4,
             z_subsample: int = 2) -> Coverage:
    """Fraction of each voxel of a grid of ``shape`` that the structure covers (see the module notes)."""
    nz, ny, nx = shape
    empty = Coverage(xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.float32), shape)
    if planes.empty:
        return empty
    pts = np.concatenate([poly for polys in planes.polygons for poly in polys])
    row0, col0 = (max(int(np.floor(pts[:, i].min())) - 1, 0) for i in (0, 1))
    row1 = min(int(np.ceil(pts[:, 0].max())) + 2, ny)
    col1 = min(int(np.ceil(pts[:, 1].max())) + 2, nx)
    half = planes.thickness / 2.0
    k0 = max(int(np.floor(planes.k[0] - half)), 0)
    k1 = min(int(np.ceil(planes.k[-1] + half)) + 1, nz)
    if row1 <= row0 or col1 <= col0 or k1 <= k0:
        return empty
    rows, cols = row1 - row0, col1 - col0
    edges = xp.asarray(_edges(planes, row0, col0))
    per_plane = _chunked_coverage(xp, edges, len(planes.k), rows, cols, subsample)
    k_planes = xp.asarray(planes.k)
    frames = xp.arange(k0, k1, dtype=xp.float64)
    box = xp.zeros((k1 - k0, rows, cols), dtype=xp.float32)
    for j in range(z_subsample):
        z = frames + (j + 0.5) / z_subsample - 0.5
        nearest = xp.clip(xp.searchsorted(k_planes, z), 1, len(planes.k) - 1) if len(planes.k) > 1 else None
        if nearest is None:
            chosen = xp.zeros(z.shape, dtype=xp.int64)
        else:
            left = nearest - 1
            chosen = xp.where(xp.abs(z - k_planes[left]) <= xp.abs(z - k_planes[nearest]), left, nearest)
        inside = xp.abs(z - k_planes[chosen]) <= half + 1e-6
        box += per_plane[chosen] * inside[:, None, None].astype(xp.float32)
    box /= np.float32(z_subsample)
    kk, rr, cc = xp.nonzero(box > 0)
    fraction = box[kk, rr, cc]
    index = ((kk + k0).astype(xp.int64) * ny + (rr + row0)) * nx + (cc + col0)
    return Coverage(index, fraction.astype(xp.float32), shape)


def _inside(point: NDArray[np.float64], poly: NDArray[np.float64]) -> bool:
    """Even-odd test of one point against one polygon (row, column coordinates)."""
    y, x = poly[:, 0], poly[:, 1]
    y2, x2 = np.roll(y, -1), np.roll(x, -1)
    spans = (y <= point[0]) != (y2 <= point[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = x + (point[0] - y) * (x2 - x) / (y2 - y)
    return bool(np.count_nonzero(spans & (cross > point[1])) % 2)


def contour_volume_cc(planes: Planes, grid: Volume) -> float:
    """The structure's volume from its polygons alone (area times slab thickness), cm^3.

    A polygon inside an odd number of the plane's other polygons is a hole and counts
    negative (the even-odd rule of :func:`coverage`).
    """
    dz, dy, dx = grid.spacing
    area = 0.0
    for polygons in planes.polygons:
        for i, poly in enumerate(polygons):
            y, x = poly[:, 0], poly[:, 1]
            size = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
            depth = sum(_inside(poly[0], other) for j, other in enumerate(polygons) if j != i)
            area += -size if depth % 2 else size
    return area * dy * dx * planes.thickness * dz / 1000.0


def coverage_mask(cov: Coverage) -> NDArray[np.float32]:
    """The coverage as a dense ``(z, y, x)`` float32 array on the host (display, tests)."""
    from workstation.compute.arrays import to_host

    out = np.zeros(int(np.prod(cov.shape)), dtype=np.float32)
    out[to_host(cov.index)] = to_host(cov.fraction)
    return out.reshape(cov.shape)


def structures_planes(rois: Sequence[StructureRoi], grid: Volume) -> dict[int, Planes]:
    """:func:`planes_of` for every ROI with closed contours, by ROI number."""
    out = {}
    for roi in rois:
        planes = planes_of(roi, grid)
        if not planes.empty:
            out[roi.number] = planes
    return out
