"""Bring a study onto a model's grid (orientation, spacing) and its predictions back.

Reorientation only permutes and flips axes (to the nearest of the model's axis
directions), so no values are interpolated.  Spacing changes keep the centre of voxel
0 fixed: output voxel ``i`` samples the input at ``i * new_spacing / old_spacing``,
linear for images and, for labels, either nearest neighbour or the argmax of linearly
resampled class probabilities (smoother borders), done in slabs to bound memory.
Arrays are NumPy or CuPy; ``ndimage`` is ``scipy.ndimage`` or ``cupyx.scipy.ndimage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

_LETTERS = {0: ("L", "R"), 1: ("P", "A"), 2: ("S", "I")}  # +x, +y, +z of LPS and their opposites


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
    the spline order (1 for images, 0 for labels).  Edges repeat the border value.
    """
    xp = _xp_of(array)
    out_shape = tuple(shape) if shape is not None else resampled_shape(array.shape, spacing, new_spacing)
    scale = np.asarray(new_spacing, dtype=float) / np.asarray(spacing, dtype=float)
    if out_shape == tuple(array.shape) and np.allclose(scale, 1.0):
        return array
    src = array if order == 0 else array.astype(xp.float32, copy=False)
    return ndimage.affine_transform(src, xp.asarray(scale), output_shape=out_shape, order=order, mode="nearest")


def probabilities_to_labels(prob: Any, spacing: Sequence[float], new_spacing: Sequence[float],
                            shape: Sequence[int], ndimage: Any, *, slab: int = 32) -> Any:
    """Labels on a finer (or coarser) grid: argmax of linearly resampled class probabilities.

    Trilinear interpolation is separable, so each class is first resampled in-plane on
    its own slices (bilinear), then interpolated linearly between the two nearest of
    those slices for each target slice: the same values as a 3D linear resampling
    (edges repeat the border) at a fraction of its cost.

    Parameters
    ----------
    prob
        ``(K, z, y, x)`` class scores on the grid of ``spacing`` (mm).
    new_spacing, shape
        The target grid (mm, voxels).
    slab
        Target slices interpolated at a time (memory: about ``3 * slab * y * x`` floats
        beside the ``K * z * y * x`` in-plane resampled scores).

    Returns
    -------
    array
        ``uint8`` labels of ``shape``.
    """
    xp = _xp_of(prob)
    scale = np.asarray(new_spacing, dtype=float) / np.asarray(spacing, dtype=float)
    n_z = int(prob.shape[1])
    out_z = int(shape[0])
    plane_shape = (n_z, int(shape[1]), int(shape[2]))
    matrix = xp.asarray(np.array([1.0, scale[1], scale[2]]))
    planes = [ndimage.affine_transform(prob[k].astype(xp.float32, copy=False), matrix, output_shape=plane_shape,
                                       order=1, mode="nearest") for k in range(prob.shape[0])]
    coord = np.clip(np.arange(out_z) * scale[0], 0.0, n_z - 1)
    lower = np.floor(coord).astype(np.int64)
    upper = np.minimum(lower + 1, n_z - 1)
    frac = (coord - lower).astype(np.float32)
    labels = xp.empty(tuple(shape), dtype=xp.uint8)
    for z0 in range(0, out_z, slab):
        z1 = min(z0 + slab, out_z)
        lo, hi = xp.asarray(lower[z0:z1]), xp.asarray(upper[z0:z1])
        f = xp.asarray(frac[z0:z1]).reshape(-1, 1, 1)
        best: Any = None
        arg: Any = None
        for k, plane in enumerate(planes):
            a = plane[lo]
            value = a + (plane[hi] - a) * f
            if best is None:
                best, arg = value, xp.zeros(value.shape, dtype=xp.uint8)
            else:
                better = value > best
                best = xp.where(better, value, best)
                arg[better] = k
        labels[z0:z1] = arg
    return labels


def _xp_of(a: Any) -> Any:
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np
