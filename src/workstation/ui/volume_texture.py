"""Prepare a volume for the 3D texture once: downsample and shift to ``uint16``; no Qt.

The GPU keeps the values as a normalised 16-bit texture and applies the contrast
limits in the shader, so changing the transfer function never touches the CPU array
again.  Signed CT values (int16, HU) are shifted by :data:`OFFSET` into the unsigned
range; contrast limits and iso thresholds are shifted the same way
(:meth:`VolumeTexture.to_texture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume

OFFSET = 32768.0
FULL_SCALE = 65535.0


@dataclass(frozen=True, eq=False)
class VolumeTexture:
    """A ``uint16`` copy of a volume ready for upload, and how it maps back.

    Attributes
    ----------
    data
        ``(z, y, x)`` uint16 array: ``(value - offset_value) / value_step`` rounded.
    step
        Index step used along (z, y, x) when downsampling.
    spacing
        mm per texture voxel along (z, y, x).
    offset_value, value_step
        ``value = data * value_step + offset_value`` in the volume's units.
    """

    data: NDArray[np.uint16]
    step: tuple[int, int, int]
    spacing: tuple[float, float, float]
    offset_value: float
    value_step: float

    def to_texture(self, value: float) -> float:
        """Texture units (0..65535) of a value in the volume's units."""
        return (float(value) - self.offset_value) / self.value_step

    def to_normalized(self, value: float) -> float:
        """Normalised texture value (0..1) the shader sees for a volume value."""
        return self.to_texture(value) / FULL_SCALE


def downsample_steps(shape: tuple[int, int, int], max_dim: int) -> tuple[int, int, int]:
    """Integer strides so that no dimension exceeds ``max_dim``."""
    return tuple(max(1, int(np.ceil(n / max_dim))) for n in shape)  # type: ignore[return-value]


def prepare_texture(volume: Volume, max_dim: int = 256) -> VolumeTexture:
    """Downsample ``volume`` by striding (at most ``max_dim`` voxels per axis) to uint16.

    Integer data up to 16 bits keep exact values (shifted by 32768 for signed types);
    other data are scaled linearly from their finite range onto 0..65535, NaN to 0.
    """
    steps = downsample_steps(volume.shape, max_dim)
    sub: NDArray[Any] = volume.array[:: steps[0], :: steps[1], :: steps[2]]
    spacing = tuple(float(s * k) for s, k in zip(volume.spacing, steps))
    dtype = np.dtype(sub.dtype)
    if dtype == np.uint16 or dtype == np.uint8:
        data, offset, step = np.ascontiguousarray(sub, dtype=np.uint16), 0.0, 1.0
    elif dtype in (np.dtype(np.int16), np.dtype(np.int8)):
        data = (sub.astype(np.int32) + int(OFFSET)).astype(np.uint16)
        offset, step = -OFFSET, 1.0
    else:
        values = np.asarray(sub, dtype=np.float64)
        finite = np.isfinite(values)
        lo = float(values[finite].min()) if finite.any() else 0.0
        hi = float(values[finite].max()) if finite.any() else 1.0
        step = max(hi - lo, 1e-12) / FULL_SCALE
        scaled = np.where(finite, (values - lo) / step, 0.0)
        data, offset = np.clip(np.rint(scaled), 0, FULL_SCALE).astype(np.uint16), lo
    return VolumeTexture(np.ascontiguousarray(data), steps, spacing, offset, step)  # type: ignore[arg-type]
