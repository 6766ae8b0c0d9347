"""A 3D image on a regular grid placed in patient space.

Conventions (the same as DICOM and ITK, spelled out because every analysis relies on
them):

* ``array`` is indexed ``(z, y, x)``: slice, row, column.  Values are physical
  (HU for CT, with RescaleSlope/Intercept already applied).  Integer dtypes are kept
  when the rescale is exact, so a CT stays ``int16``.
* ``spacing`` is ``(dz, dy, dx)`` in mm; ``dz`` is the distance between slice centres
  along the slice normal, not SliceThickness.
* ``origin`` is the patient position (x, y, z) in mm, DICOM LPS, of voxel ``(0, 0, 0)``.
* ``direction`` is a 3x3 matrix whose *columns* are the patient-space unit vectors of
  increasing ``x`` index (row direction), ``y`` index (column direction) and ``z``
  index (slice normal), i.e. ITK's direction matrix.
* ``rgb`` (colour images only: RGB, YBR, palette colour) is the ``(z, y, x, 3)``
  ``uint8`` colour the image is displayed in; ``array`` then holds its luminance (or
  the palette indices), which analyses and windowing use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _as_triplet(values: ArrayLike, name: str) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=float).reshape(-1)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be three finite numbers, got {values!r}")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3D scalar image in physical units with its patient-space geometry."""

    array: NDArray[Any]
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: NDArray[np.float64] = field(default_factory=lambda: np.eye(3))
    modality: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    rgb: Optional[NDArray[np.uint8]] = None

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"Volume array must be 3D (z, y, x), got shape {self.array.shape}")
        if self.rgb is not None and (self.rgb.shape != (*self.array.shape, 3) or self.rgb.dtype != np.uint8):
            raise ValueError(f"rgb must be uint8 of shape {(*self.array.shape, 3)}, got {self.rgb.dtype} "
                             f"{self.rgb.shape}")
        spacing = _as_triplet(self.spacing, "spacing")
        if min(spacing) <= 0:
            raise ValueError(f"spacing must be positive, got {spacing}")
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "origin", _as_triplet(self.origin, "origin"))
        direction = np.asarray(self.direction, dtype=float)
        if direction.shape != (3, 3):
            raise ValueError(f"direction must be 3x3, got {direction.shape}")
        if not np.all(np.isfinite(direction)) or abs(float(np.linalg.det(direction))) < 1e-6:
            raise ValueError(f"direction must be finite with independent axes, got {direction.tolist()}")
        direction = direction.copy()
        direction.setflags(write=False)
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.array.shape
        return (int(z), int(y), int(x))

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    @property
    def affine(self) -> NDArray[np.float64]:
        """4x4 matrix mapping homogeneous index ``(x, y, z, 1)`` to patient mm (LPS)."""
        a = np.eye(4)
        a[:3, :3] = self.direction * np.asarray(self.spacing[::-1])[None, :]
        a[:3, 3] = self.origin
        return a

    def index_to_patient(self, index_zyx: ArrayLike) -> NDArray[np.float64]:
        """Patient coordinates (x, y, z) in mm of voxel indices ``(..., 3)`` in z-y-x order."""
        idx = np.asarray(index_zyx, dtype=float)[..., ::-1]
        scaled = idx * np.asarray(self.spacing[::-1])
        return scaled @ self.direction.T + np.asarray(self.origin)

    def patient_to_index(self, point_xyz: ArrayLike) -> NDArray[np.float64]:
        """Continuous voxel indices (z, y, x) of patient points ``(..., 3)`` given in mm."""
        rel = np.asarray(point_xyz, dtype=float) - np.asarray(self.origin)
        scaled = rel @ np.linalg.inv(self.direction).T
        return (scaled / np.asarray(self.spacing[::-1]))[..., ::-1]

    def is_axial(self, tolerance_deg: float = 1.0) -> bool:
        """True when slices are perpendicular to the patient's head-foot axis."""
        normal = self.direction[:, 2]
        cos = abs(float(normal[2])) / float(np.linalg.norm(normal))  # non-zero: checked on creation
        return cos >= np.cos(np.deg2rad(tolerance_deg))

    def with_array(self, array: NDArray[Any], **changes: Any) -> "Volume":
        """A new volume on the same grid with other values (a map, a mask, a filter); it has no colour."""
        if tuple(array.shape) != self.shape:
            raise ValueError(f"array shape {array.shape} differs from volume shape {self.shape}")
        changes.setdefault("rgb", None)
        return replace(self, array=array, **changes)


@dataclass(frozen=True, eq=False)
class VolumeSeries:
    """A time-ordered list of volumes sharing one geometry (perfusion, cine).

    ``times`` are acquisition times in seconds from the first frame; sampling may be
    uneven.
    """

    volumes: tuple[Volume, ...]
    times: tuple[float, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.volumes) == 0:
            raise ValueError("a VolumeSeries needs at least one volume")
        if len(self.volumes) != len(self.times):
            raise ValueError(f"{len(self.volumes)} volumes but {len(self.times)} time points")
        times = np.asarray(self.times, dtype=float)
        if np.any(np.diff(times) <= 0):
            raise ValueError("time points must be strictly increasing")
        first = self.volumes[0]
        for i, v in enumerate(self.volumes[1:], start=1):
            if v.shape != first.shape or not np.allclose(v.spacing, first.spacing) or not np.allclose(
                v.origin, first.origin, atol=1e-3
            ):
                raise ValueError(f"time point {i} does not share the geometry of time point 0")
        object.__setattr__(self, "volumes", tuple(self.volumes))
        object.__setattr__(self, "times", tuple(float(t) for t in times))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def reference(self) -> Volume:
        """The first time point: the geometry every map of this series lives on."""
        return self.volumes[0]

    def as_array(self) -> NDArray[Any]:
        """A ``(t, z, y, x)`` stack of the values."""
        return np.stack([v.array for v in self.volumes])
