"""Bring a study onto a model's grid (orientation, spacing) and its predictions back.

Reorientation only permutes and flips axes (to the nearest of the model's axis
directions), so no values are interpolated.  Spacing changes keep the centre of voxel
0 fixed: output voxel ``i`` samples the input at ``i * new_spacing / old_spacing``,
linear for images and, for labels, either nearest neighbour or the argmax of linearly
resampled class probabilities (smoother borders), done in slabs to bound memory
and interpolated at full resolution only along the borders between labels.
Arrays are NumPy or CuPy; ``ndimage`` is ``scipy.ndimage`` or ``cupyx.scipy.ndimage``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from workstation.compute.arrays import array_module

_LETTERS = {0: ("L", "R"), 1: ("P", "A"), 2: ("S", "I")}  # +x, +y, +z of LPS and their opposites
_REFINE_FLOATS = 1 << 21  # border-voxel scores interpolated at once (8 MiB; 32 MiB with their indices)


def orientation_code(direction: ArrayLike) -> str:
    """Three-letter code (e.g. ``LPS``) of the patient directions of increasing x, y, z index."""
    d = np.asarray(direction, dtype=float)
    code = ""
    used: set[int] = set()
    for col in range(3):
        v = d[:, col]
        order = [int(i) for i in np.argsort(-np.abs(v)) if int(i) not in used]
        axis = order[0]
        used.add(axis)
        code += _LETTERS[axis][0 if v[axis] >= 0 else 1]
    return code


def _axis_of(letter: str) -> tuple[int, bool]:
    for axis, pair in _LETTERS.items():
        if letter in pair:
            return axis, letter == pair[0]
    raise ValueError(f"not an orientation letter: {letter!r}")


@dataclass(frozen=True)
class Reorientation:
    """Axis permutation and flips taking a ``(z, y, x)`` array to another orientation.

    ``perm[k]`` is the source array axis that becomes target array axis ``k``;
    ``flip[k]`` says whether target axis ``k`` runs opposite to its source axis.
    """

    perm: tuple[int, int, int]
    flip: tuple[bool, bool, bool]

    def apply(self, array: Any, leading: int = 0) -> Any:
        """Reorient the last three axes of ``array`` (``leading`` axes before them stay)."""
        out = array.transpose(*range(leading), *(leading + p for p in self.perm))
        for k, f in enumerate(self.flip):
            if f:
                out = out[(slice(None),) * (leading + k) + (slice(None, None, -1),)]
        return out

    def invert(self, array: Any, leading: int = 0) -> Any:
        """Undo :meth:`apply`."""
        for k, f in enumerate(self.flip):
            if f:
                array = array[(slice(None),) * (leading + k) + (slice(None, None, -1),)]
        inverse = [0, 0, 0]
        for k, p in enumerate(self.perm):
            inverse[p] = k
        return array.transpose(*range(leading), *(leading + i for i in inverse))

    def spacing(self, spacing_zyx: Sequence[float]) -> tuple[float, float, float]:
        """Spacing (z, y, x) of the reoriented array."""
        return tuple(float(spacing_zyx[p]) for p in self.perm)  # type: ignore[return-value]


def reorientation(direction: ArrayLike, target: str) -> Reorientation:
    """How to reorient an array with ``direction`` (ITK columns) to the ``target`` code."""
    source = orientation_code(direction)
    src_axes = [_axis_of(c) for c in source]  # per index axis x, y, z: (patient axis, positive)
    perm: list[int] = []
    flip: list[bool] = []
    for array_axis in range(3):  # target array axes z, y, x = index axes 2, 1, 0
        t_axis, t_pos = _axis_of(target[2 - array_axis])
        index_axis = next(i for i, (a, _p) in enumerate(src_axes) if a == t_axis)
        perm.append(2 - index_axis)
        flip.append(src_axes[index_axis][1] != t_pos)
    return Reorientation(tuple(perm), tuple(flip))  # type: ignore[arg-type]


def resampled_shape(shape: Sequence[int], spacing: Sequence[float], new_spacing: Sequence[float]) -> tuple[int, ...]:
    """Voxels at ``new_spacing`` whose centres lie inside the same extent (at least one)."""
    return tuple(max(int(np.floor((n - 1) * s / t + 1e-6)) + 1, 1) for n, s, t in zip(shape, spacing, new_spacing))


def resample(array: Any, spacing: Sequence[float], new_spacing: Sequence[float], ndimage: Any, *,
             order: int = 1, shape: Sequence[int] | None = None) -> Any:
    """Resample a 3D array from ``spacing`` to ``new_spacing`` (mm, z-y-x).

    ``shape`` fixes the output shape (default: :func:`resampled_shape`); ``order`` is
    the spline order (1 for images, 0 for labels; images come out as float32).  Edges
    repeat the border value.
    """
    xp = array_module(array)
    out_shape = tuple(shape) if shape is not None else resampled_shape(array.shape, spacing, new_spacing)
    scale = np.asarray(new_spacing, dtype=float) / np.asarray(spacing, dtype=float)
    if out_shape == tuple(array.shape) and np.allclose(scale, 1.0):
        return array
    if order == 0:
        return ndimage.affine_transform(array, xp.asarray(scale), output_shape=out_shape, order=0, mode="nearest")
    # float32 output straight from the stored dtype: no float copy of the whole input
    return ndimage.affine_transform(array, xp.asarray(scale), output_shape=out_shape, order=order, mode="nearest",
                                    output=xp.float32)


def probabilities_to_labels(prob: Any, spacing: Sequence[float], new_spacing: Sequence[float],
                            shape: Sequence[int], ndimage: Any = None, *, slab: int | None = None,
                            out: Any = None, workers: int | None = None,
                            on_slab: Optional[Callable[[int, int], None]] = None) -> Any:
    """Labels on a finer (or coarser) grid: argmax of linearly resampled class probabilities.

    Target voxel ``i`` samples the source at ``i * new_spacing / spacing`` (clipped to
    the border, as ``mode="nearest"``) with trilinear interpolation, done separably:
    ``z`` then ``y`` on the source columns, which gives every class's score on the
    target rows at the source ``x`` nodes.  Between two ``x`` nodes the scores are
    linear, so where both nodes have the same best class every target voxel between
    them has it too; only the voxels between nodes whose labels differ (the borders
    of structures) are interpolated in ``x`` and compared class by class.  No
    full-resolution score array is built; float32 throughout.

    Parameters
    ----------
    prob
        ``(K, z, y, x)`` class scores on the grid of ``spacing`` (mm), ``K <= 256``.
    new_spacing, shape
        The target grid (mm, voxels).
    ndimage
        Not needed (kept so callers may pass their ``ndimage`` module as for :func:`resample`).
    slab
        Target slices done at a time (default 8 with NumPy, 64 with CuPy).  Memory per
        slab in flight: about ``2 * K * slab * y * x_src`` floats (``x_src`` source
        columns used; 25 MB for 6 classes, 8 slices of 512 rows, 128 columns) plus
        ``slab * y * x`` bytes of labels and at most 32 MB for border voxels.
    out
        Optional ``uint8`` array of ``shape`` to fill (a strided view is fine).
    workers
        NumPy only: slabs done at once in threads (default: the usable cores, at most 8),
        each with its own slab memory.  CuPy does one slab at a time.
    on_slab
        ``on_slab(z0, z1)`` once target slices ``z0:z1`` hold their final labels (from
        the worker thread that filled them).

    Returns
    -------
    array
        ``uint8`` labels of ``shape`` (``out`` when given).
    """
    xp = array_module(prob)
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or prob.ndim != 4:
        raise ValueError(f"need (K, z, y, x) scores and a 3D shape, got {prob.shape} and {shape}")
    if prob.shape[0] > 256:
        raise ValueError(f"{prob.shape[0]} classes do not fit uint8 labels")
    scale = np.asarray(new_spacing, dtype=float) / np.asarray(spacing, dtype=float)
    plan = _Plan(prob, [_LinearAxis.of(n, s, m) for n, s, m in zip(shape, scale, prob.shape[1:])], xp)
    labels = out if out is not None else xp.empty(shape, dtype=xp.uint8)
    step = max(int(slab if slab is not None else (8 if xp is np else 64)), 1)
    starts = range(0, shape[0], step)

    def fill(z0: int) -> None:
        z1 = min(z0 + step, shape[0])
        labels[z0:z1] = plan.slab(z0, z1)
        if on_slab is not None:
            on_slab(z0, z1)

    n_threads = 1 if xp is not np else min(workers or usable_cores(), 8, len(starts))
    if n_threads <= 1:
        for z0 in starts:
            fill(z0)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(fill, starts))
    return labels


@dataclass(frozen=True)
class _LinearAxis:
    """Linear interpolation along one axis: target ``i`` = ``(1 - w) * src[lower] + w * src[upper]``.

    ``nodes`` are the source indices used; ``lower``/``upper`` index into ``nodes``
    (``upper == lower`` where the target falls on a node or past the border).
    """

    nodes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, n_out: int, scale: float, n_in: int) -> "_LinearAxis":
        """Target ``i`` at source coordinate ``i * scale`` (voxels), clipped to ``[0, n_in - 1]``."""
        coord = np.clip(np.arange(n_out) * float(scale), 0.0, n_in - 1)
        lower = np.floor(coord).astype(np.intp)
        frac = coord - lower
        upper = np.where(frac > 0, lower + 1, lower)
        nodes = np.unique(np.concatenate([lower, upper]))
        return cls(nodes, np.searchsorted(nodes, lower), np.searchsorted(nodes, upper), frac.astype(np.float32))

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Per node ``p``: the first target strictly between nodes ``p`` and ``p + 1``, and how many."""
        inside = np.flatnonzero(self.upper != self.lower)
        count = np.bincount(self.lower[inside], minlength=len(self.nodes))
        first = np.zeros(len(self.nodes), dtype=np.intp)
        has = count > 0
        first[has] = inside[np.searchsorted(self.lower[inside], np.flatnonzero(has))]
        return first, count


class _Plan:
    """Source scores on the used rows and columns, and the per-axis tables on the array's device."""

    def __init__(self, prob: Any, axes: Sequence[_LinearAxis], xp: Any) -> None:
        z, y, x = axes
        src = prob.astype(xp.float32, copy=False)
        if len(y.nodes) < src.shape[2]:  # downsampling: drop rows and columns no target uses
            src = xp.take(src, xp.asarray(y.nodes), axis=2)
        if len(x.nodes) < src.shape[3]:
            src = xp.take(src, xp.asarray(x.nodes), axis=3)
        self.xp, self.prob, self.z = xp, xp.ascontiguousarray(src), z
        self.y_lower, self.y_upper = xp.asarray(y.lower), xp.asarray(y.upper)
        self.y_weight = xp.asarray(y.weight).reshape(1, 1, -1, 1)
        first, count = x.spans()
        self.x_lower, self.x_weight = xp.asarray(x.lower), xp.asarray(x.weight)
        self.x_first, self.x_count = xp.asarray(first), xp.asarray(count)
        self.x_between = xp.asarray(count[:-1] > 0)  # node pairs with targets between them
        self.x_width = max(int(count.max(initial=0)), 1)

    def slab(self, z0: int, z1: int) -> Any:
        """``uint8`` labels of target slices ``z0:z1``."""
        xp, z = self.xp, self.z
        z_weight = xp.asarray(z.weight[z0:z1]).reshape(1, -1, 1, 1)
        scores = _lerp(self.prob, xp.asarray(z.nodes[z.lower[z0:z1]]), xp.asarray(z.nodes[z.upper[z0:z1]]),
                       z_weight, 1, xp)
        scores = _lerp(scores, self.y_lower, self.y_upper, self.y_weight, 2, xp)  # (K, slab, y, x nodes)
        node_labels = _argmax(scores, xp)
        labels = xp.take(node_labels, self.x_lower, axis=2)
        self._refine(scores, node_labels, labels)
        return labels

    def _refine(self, scores: Any, node_labels: Any, labels: Any) -> None:
        """Interpolate in ``x`` the target voxels between two nodes of different labels."""
        xp = self.xp
        n_nodes = scores.shape[-1]
        if n_nodes < 2:
            return
        node_rows = node_labels.reshape(-1, n_nodes)
        row, node = xp.nonzero((node_rows[:, :-1] != node_rows[:, 1:]) & self.x_between)
        chunk = max(_REFINE_FLOATS // (scores.shape[0] * self.x_width), 1)
        for c0 in range(0, int(row.size), chunk):
            self._refine_pairs(scores.reshape(scores.shape[0], -1, n_nodes), row[c0:c0 + chunk],
                               node[c0:c0 + chunk], labels)

    def _refine_pairs(self, rows_scores: Any, row: Any, node: Any, labels: Any) -> None:
        """Labels of the targets between nodes ``node`` and ``node + 1`` of target rows ``row``."""
        xp = self.xp
        steps = xp.minimum(xp.arange(self.x_width)[None, :], self.x_count[node][:, None] - 1)
        cols = self.x_first[node][:, None] + steps  # short spans repeat their last column
        a = rows_scores[:, row, node][:, :, None]
        b = rows_scores[:, row, node + 1][:, :, None]
        values = a + (b - a) * self.x_weight[cols]
        labels.reshape(-1)[row[:, None] * labels.shape[-1] + cols] = _argmax(values, xp)


def _lerp(a: Any, lower: Any, upper: Any, weight: Any, axis: int, xp: Any) -> Any:
    """``a[lower] + (a[upper] - a[lower]) * weight`` along ``axis`` (float32)."""
    low = xp.take(a, lower, axis=axis)
    high = xp.take(a, upper, axis=axis)
    high -= low
    high *= weight
    low += high
    return low


def _argmax(values: Any, xp: Any) -> Any:
    """``uint8`` index of the largest of ``values[k]`` (the first one on ties), without a copy per class."""
    best = values[0].copy()
    index = xp.zeros(best.shape, dtype=xp.uint8)
    better = xp.empty(best.shape, dtype=bool)
    for k in range(1, values.shape[0]):
        xp.greater(values[k], best, out=better)
        xp.maximum(best, values[k], out=best)
        xp.maximum(index, better.view(xp.uint8) * k, out=index)  # k exceeds every earlier index
    return index


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1

