"""Trilinear sampling of a volume at points given in patient millimetres, on the volume's device.

Reformatting (cross-sections, curved and straightened MPR, oblique planes) samples a
volume at arbitrary patient positions.  :class:`IndexMap` is the affine map from
patient (x, y, z) mm to continuous voxel indices (z, y, x) of a grid; :func:`sample`
applies it to points on the volume's device and interpolates trilinearly
(``map_coordinates`` of order 1, from ``scipy.ndimage`` or ``cupyx.scipy.ndimage``:
the same arithmetic).  Points outside the grid get ``cval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.compute.arrays import array_module, ndimage_module


@dataclass(frozen=True, eq=False)
class IndexMap:
    """``index_zyx = point_xyz @ matrix.T + offset`` for one voxel grid."""

    matrix: NDArray[np.float64]
    offset: NDArray[np.float64]

    @classmethod
    def of_grid(cls, origin: Sequence[float], spacing: Sequence[float], direction: Any) -> "IndexMap":
        """The map of a grid with ``origin`` (x, y, z mm of voxel 0), ``spacing`` (dz, dy, dx)
        and ``direction`` (columns: patient axes of increasing x, y, z index)."""
        inverse = np.linalg.inv(np.asarray(direction, dtype=np.float64))
        matrix = np.stack([inverse[2] / spacing[0], inverse[1] / spacing[1], inverse[0] / spacing[2]])
        return cls(matrix, -matrix @ np.asarray(origin, dtype=np.float64))

    @classmethod
    def of_volume(cls, volume: Any) -> "IndexMap":
        """The map of a :class:`~workstation.core.volume.Volume`."""
        return cls.of_grid(volume.origin, volume.spacing, volume.direction)

    def indices(self, points_mm: Any) -> Any:
        """Continuous indices (..., 3) in z-y-x order of points (..., 3) in x-y-z mm (same device)."""
        xp = array_module(points_mm)
        m = xp.asarray(self.matrix, dtype=points_mm.dtype)
        o = xp.asarray(self.offset, dtype=points_mm.dtype)
        return points_mm @ m.T + o


def sample(volume: Any, points_mm: Any, index_map: IndexMap, *, cval: float = 0.0) -> Any:
    """Trilinear values (float32, shape ``points_mm.shape[:-1]``) of ``volume`` at patient points.

    ``points_mm`` lives on the volume's device (NumPy or CuPy, float32 or float64).
    """
    xp = array_module(volume)
    pts = xp.asarray(points_mm)
    shape = pts.shape[:-1]
    coords = index_map.indices(pts.reshape(-1, 3)).T
    out = ndimage_module(volume).map_coordinates(volume, coords, order=1, mode="constant", cval=cval,
                                                 output=xp.float32)
    return out.reshape(shape)
