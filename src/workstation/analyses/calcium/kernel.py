"""Device kernels of calcium scoring, written once against ``backend.xp``.

One pass labels every axial slice in 2D (8-connectivity) with a single call, using a
3x3x3 structure whose z-neighbours are zero.  The foreground voxels are then
compacted (``flatnonzero``) and every per-lesion statistic is a ``bincount`` or a
scatter-min/max over the compacted voxels only, never a per-label loop and never a
reduction over the background (GPU_NOTES traps 2 and 3).  Lesions touching across
neighbouring slices (26-connectivity) are found by looking up the nine voxels above
each foreground voxel; the resulting pairs of 2D labels are small and joined on the
host.  Label numbers are made canonical (raster order of each lesion's first voxel),
so NumPy and CuPy give identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.compute.backend import Backend

#: Labelling with ``scipy``/``cupyx`` ``ndimage.label`` overflows beyond this (trap 3).
MAX_LABEL_ELEMENTS = 2**31 - 1


@dataclass(frozen=True)
class SliceLesionTable:
    """Per 2D lesion statistics (host arrays indexed by canonical label - 1).

    ``pairs`` lists canonical labels ``(a, b)`` of lesions on slices ``z`` and
    ``z + 1`` that touch (26-connectivity).  ``fg_index`` and ``fg_label`` (device
    arrays) hold every foreground voxel's flat index and canonical label.
    """

    n_pixels: NDArray[np.int64]
    peak: NDArray[np.float64]
    value_sum: NDArray[np.float64]
    z: NDArray[np.int64]
    sum_y: NDArray[np.float64]
    sum_x: NDArray[np.float64]
    pairs: NDArray[np.int64]
    fg_index: Any
    fg_label: Any

    @property
    def n_lesions(self) -> int:
        return int(self.n_pixels.shape[0])


def _scatter(backend: Backend, kind: str, out: Any, index: Any, values: Any) -> None:
    if backend.is_gpu:
        import cupyx

        (cupyx.scatter_max if kind == "max" else cupyx.scatter_min)(out, index, values)
    else:
        (np.maximum if kind == "max" else np.minimum).at(out, index, values)


def _scatter_dtype(dtype: Any) -> Any:
    """A dtype CuPy's scatter_max supports (int32, uint32, float32, float64) holding ``dtype`` exactly."""
    dt = np.dtype(dtype)
    if dt.kind in "iub":
        if dt.itemsize < 4 or dt == np.int32:
            return np.int32
        return np.uint32 if dt == np.uint32 else np.float64
    return dt if dt in (np.float32, np.float64) else np.float64


def _extreme(dtype: Any, kind: str) -> Any:
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return info.min if kind == "max" else info.max
    return -np.inf if kind == "max" else np.inf


def threshold_mask(hu: Any, threshold: float) -> Any:
    """``hu >= threshold`` without promoting integer volumes to float."""
    dt = np.dtype(hu.dtype)
    if dt.kind in "iu":
        limit = int(np.ceil(threshold))
        info = np.iinfo(dt)
        if limit > info.max:
            return hu < info.min  # all False
        return hu >= dt.type(max(limit, info.min))
    return hu >= threshold


def label_slices(mask: Any, backend: Backend) -> tuple[Any, int]:
    """2D connected components (8-connectivity) of ``mask`` on every slice, in one call.

    Returns the label volume (int32, device) and the number of labels.
    """
    if mask.size > MAX_LABEL_ELEMENTS:
        raise ValueError(f"volume of {mask.size} voxels is too large to label in one call")
    xp = backend.xp
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    labels, n = backend.ndimage.label(mask, structure=structure)
    if labels.dtype != xp.int32:
        labels = labels.astype(xp.int32)
    return labels, int(n)


def _bounding_box(xp: Any, mask: Any) -> Optional[tuple[int, int, int, int]]:
    """Rows and columns ``(y0, y1, x0, x1)`` holding foreground on any slice, or None."""
    projection = mask.any(axis=0)
    rows = xp.flatnonzero(projection.any(axis=1))
    if rows.size == 0:
        return None
    cols = xp.flatnonzero(projection.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _canonical_order(backend: Backend, fg_index: Any, fg_label: Any, n: int) -> Any:
    """Map old label -> new label so labels follow the raster order of their first voxel."""
    xp = backend.xp
    # uint64: CuPy's scatter_min has atomics for int32, uint32, uint64, float32, float64.
    first = xp.full(n + 1, np.iinfo(np.uint64).max, dtype=xp.uint64)
    _scatter(backend, "min", first, fg_label, fg_index.astype(xp.uint64))
    order = xp.argsort(first[1:])  # old label - 1, in canonical order
    remap = xp.zeros(n + 1, dtype=xp.int32)
    remap[order + 1] = xp.arange(1, n + 1, dtype=xp.int32)
    return remap


def _dedupe(xp: Any, codes: Any) -> Any:
    """Unique values; consecutive repeats (voxels of one run) are dropped first, cheaply."""
    if codes.size == 0:
        return codes
    keep = xp.ones(codes.shape, dtype=bool)
    keep[1:] = codes[1:] != codes[:-1]
    return xp.unique(codes[keep])


#: Pair code ``a * PAIR_BASE + b`` of labels ``a`` (slice z) and ``b`` (slice z + 1).
PAIR_BASE = 2**31

_PAIRS_CUDA = r"""
extern "C" __global__ void touching_pairs(
    const int* labels, const long long* index, const int* label, long long n,
    int nz, int ny, int nx, long long* out, unsigned long long* count, unsigned long long capacity)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    long long plane = (long long)ny * nx;
    long long p = index[i];
    if (p >= (long long)(nz - 1) * plane) return;
    int y = (int)((p % plane) / nx), x = (int)(p % nx);
    long long a = (long long)label[i] * 2147483648LL;
    long long above = p + plane;
    int straight = labels[above];
    if (straight > 0) {  // the whole 3x3 window's foreground carries this label
        unsigned long long k = atomicAdd(count, 1ULL);
        if (k < capacity) out[k] = a + straight;
        return;
    }
    int last = 0;
    for (int dy = -1; dy <= 1; ++dy) {
        if (y + dy < 0 || y + dy >= ny) continue;
        for (int dx = -1; dx <= 1; ++dx) {
            if (x + dx < 0 || x + dx >= nx || (dy == 0 && dx == 0)) continue;
            int b = labels[above + (long long)dy * nx + dx];
            if (b > 0 && b != last) {
                unsigned long long k = atomicAdd(count, 1ULL);
                if (k < capacity) out[k] = a + b;
                last = b;
            }
        }
    }
}
"""


@lru_cache(maxsize=1)
def _pairs_kernel() -> Any:
    import cupy

    return cupy.RawKernel(_PAIRS_CUDA, "touching_pairs")


def _pairs_of_codes(code: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.stack([code // PAIR_BASE, code % PAIR_BASE], axis=1).astype(np.int64)


def _touching_pairs(backend: Backend, labels_flat: Any, fg_index: Any, fg_label: Any, shape: tuple[int, ...]) -> Any:
    """Unique ``(a, b)`` label pairs with a voxel of ``b`` among the 9 above a voxel of ``a``.

    When the voxel straight above is foreground, every foreground voxel of that 3x3
    window is 8-adjacent to it and so carries the same label: one look-up settles
    it.  Only voxels with background straight above need the other eight.  On the
    GPU one thread per foreground voxel does this and appends codes atomically.
    """
    if backend.is_gpu:
        return _touching_pairs_cuda(backend, labels_flat, fg_index, fg_label, shape)
    xp = backend.xp
    nz, ny, nx = shape
    plane = ny * nx
    below_top = fg_index < (nz - 1) * plane
    idx, lab = fg_index[below_top], fg_label[below_top]
    if idx.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    above = labels_flat[idx + plane]
    direct = above > 0
    codes = [lab[direct].astype(xp.int64) * PAIR_BASE + above[direct].astype(xp.int64)]
    idx, lab = idx[~direct], lab[~direct]
    y = (idx % plane) // nx
    x = idx % nx
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            ok = (y + dy >= 0) & (y + dy < ny) & (x + dx >= 0) & (x + dx < nx)
            nb = labels_flat[(idx + (plane + dy * nx + dx))[ok]]
            hit = nb > 0
            codes.append(lab[ok][hit].astype(xp.int64) * PAIR_BASE + nb[hit].astype(xp.int64))
    return _pairs_of_codes(backend.asnumpy(_dedupe(xp, xp.concatenate(codes))))


def _touching_pairs_cuda(backend: Backend, labels_flat: Any, fg_index: Any, fg_label: Any,
                         shape: tuple[int, ...]) -> Any:
    import cupy

    nz, ny, nx = shape
    n = int(fg_index.size)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    labels_flat = cupy.ascontiguousarray(labels_flat, dtype=cupy.int32)
    index = cupy.ascontiguousarray(fg_index, dtype=cupy.int64)
    label = cupy.ascontiguousarray(fg_label, dtype=cupy.int32)
    capacity = 2 * n
    while True:
        out = cupy.empty(capacity, dtype=cupy.int64)
        count = cupy.zeros(1, dtype=cupy.uint64)
        threads = 256
        _pairs_kernel()(((n + threads - 1) // threads,), (threads,),
                        (labels_flat, index, label, np.int64(n), np.int32(nz), np.int32(ny), np.int32(nx),
                         out, count, np.uint64(capacity)))
        used = int(count.get()[0])
        if used <= capacity:
            return _pairs_of_codes(cupy.unique(out[:used]).get())
        capacity = used


def slice_lesions(hu: Any, threshold: float, backend: Backend) -> SliceLesionTable:
    """Find and measure the 2D lesions of a volume already on ``backend``'s device.

    Parameters
    ----------
    hu
        ``(z, y, x)`` values in HU on the backend's device.
    threshold
        Calcium threshold in HU (voxels ``>= threshold``).
    """
    xp = backend.xp
    full_mask = threshold_mask(hu, threshold)
    box = _bounding_box(xp, full_mask)
    if box is None:
        return _empty_table(xp)
    y0, y1, x0, x1 = box  # label only the rows/columns that hold foreground
    mask = full_mask[:, y0:y1, x0:x1]
    del full_mask
    nz, ny, nx = hu.shape
    h, w = y1 - y0, x1 - x0
    labels, n = label_slices(mask, backend)
    labels_flat = labels.reshape(-1)
    fg_local = xp.flatnonzero(mask).astype(xp.int64)
    del mask
    plane = h * w
    slice_of = fg_local // plane
    rows = (fg_local % plane) // w + y0
    cols = fg_local % w + x0
    fg_index = slice_of * (ny * nx) + rows * nx + cols
    values = hu.reshape(-1)[fg_index]
    old_label = labels_flat[fg_local]
    remap = _canonical_order(backend, fg_local, old_label, n)
    fg_label = remap[old_label]
    labels_flat[fg_local] = fg_label  # canonical labels for the neighbour look-up
    values = values.astype(_scatter_dtype(values.dtype), copy=False)
    peak = xp.full(n + 1, _extreme(values.dtype, "max"), dtype=values.dtype)
    _scatter(backend, "max", peak, fg_label, values)
    z = xp.zeros(n + 1, dtype=xp.int64)
    z[fg_label] = slice_of
    # one (6, n) float64 table and one device-to-host copy; every entry is exact in float64
    stats = backend.asnumpy(xp.stack([
        xp.bincount(fg_label, minlength=n + 1)[1:].astype(xp.float64),
        peak[1:].astype(xp.float64),
        xp.bincount(fg_label, weights=values.astype(xp.float64), minlength=n + 1)[1:],
        z[1:].astype(xp.float64),
        xp.bincount(fg_label, weights=rows.astype(xp.float64), minlength=n + 1)[1:],
        xp.bincount(fg_label, weights=cols.astype(xp.float64), minlength=n + 1)[1:],
    ]))
    pairs = _touching_pairs(backend, labels_flat, fg_local, fg_label, (nz, h, w))
    return SliceLesionTable(
        n_pixels=stats[0].astype(np.int64),
        peak=stats[1],
        value_sum=stats[2],
        z=stats[3].astype(np.int64),
        sum_y=stats[4],
        sum_x=stats[5],
        pairs=pairs,
        fg_index=fg_index,
        fg_label=fg_label,
    )


def _empty_table(xp: Any) -> SliceLesionTable:
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return SliceLesionTable(
        n_pixels=empty_i, peak=empty_f, value_sum=empty_f, z=empty_i, sum_y=empty_f, sum_x=empty_f,
        pairs=np.zeros((0, 2), np.int64), fg_index=xp.zeros(0, xp.int64), fg_label=xp.zeros(0, xp.int32),
    )


def lesion_voxels(backend: Backend, table: SliceLesionTable, lesion_of_label: NDArray[np.int32]) -> tuple[
    NDArray[np.int64], NDArray[np.int32]
]:
    """Flat indices and lesion ids (host) of the voxels of kept lesions.

    ``lesion_of_label[l]`` is the 3D lesion id of canonical 2D label ``l`` (0: dropped).
    """
    ids = backend.asarray(lesion_of_label.astype(np.int32))[table.fg_label]
    keep = ids > 0
    return backend.asnumpy(table.fg_index[keep]).astype(np.int64), backend.asnumpy(ids[keep]).astype(np.int32)
