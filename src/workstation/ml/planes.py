"""Stacks of 2D images onto a 2D model's tile, and per-pixel predictions back onto the images.

Shared by the cine analyses and the training scripts, so a 2D network sees at inference
exactly what it saw in training: every plane of a ``(N, rows, cols)`` stack is
resampled linearly to the model's pixel spacing inside one tile-sized window around a
chosen centre (the same window on every plane; outside the image the window holds
zeros), and the class scores come back as labels on the study pixels that window
covers (argmax of linearly resampled scores, :func:`~workstation.ml.resample.probabilities_to_labels`).
Arrays are NumPy or CuPy; ``ndimage`` is ``scipy.ndimage`` or ``cupyx.scipy.ndimage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from workstation.compute.arrays import array_module
from workstation.ml.manifest import InputSpec
from workstation.ml.resample import probabilities_to_labels


@dataclass(frozen=True)
class PlaneWindow:
    """The model's tile on the study planes.

    Model pixel ``(i, j)`` lies at study pixel ``start + (i, j) * model_spacing /
    pixel_spacing``; ``start`` is a whole study pixel, so labels map back without a shift.
    """

    study_shape: tuple[int, int]
    pixel_spacing: tuple[float, float]
    model_spacing: tuple[float, float]
    tile: tuple[int, int]
    start: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """Study pixels per model pixel along rows and columns."""
        return (self.model_spacing[0] / self.pixel_spacing[0], self.model_spacing[1] / self.pixel_spacing[1])

    @property
    def covered(self) -> tuple[int, int]:
        """Study rows and columns from ``start`` that the tile covers."""
        return tuple(int(np.floor((t - 1) * s + 1e-6)) + 1 for t, s in zip(self.tile, self.scale))  # type: ignore[return-value]


def plane_window(study_shape: Sequence[int], pixel_spacing: Sequence[float], spec: InputSpec,
                 centre_rc: Sequence[float]) -> PlaneWindow:
    """The tile of a 2D model centred (to the nearest study pixel) on ``centre_rc``."""
    if spec.ndim != 2:
        raise ValueError(f"model input is {spec.ndim}D; image planes need a 2D model")
    tile = (int(spec.tile[0]), int(spec.tile[1]))
    model = (float(spec.spacing[0]), float(spec.spacing[1]))
    pixel = (float(pixel_spacing[0]), float(pixel_spacing[1]))
    start = tuple(int(round(c - 0.5 * (t - 1) * m / p)) for c, t, m, p in zip(centre_rc, tile, model, pixel))
    return PlaneWindow((int(study_shape[0]), int(study_shape[1])), pixel, model, tile, start)  # type: ignore[arg-type]


def to_model_planes(planes: Any, window: PlaneWindow, ndimage: Any) -> Any:
    """The window of every plane at the model's spacing: ``(N, rows, cols)`` -> ``(N, *tile)`` float32.

    Linear interpolation; model pixels outside the image are 0.
    """
    xp = array_module(planes)
    sy, sx = window.scale
    return ndimage.affine_transform(planes, xp.asarray([1.0, sy, sx]), offset=(0.0, *map(float, window.start)),
                                    output_shape=(planes.shape[0], *window.tile), order=1, mode="constant",
                                    cval=0.0, output=xp.float32)


def labels_to_planes(scores: Any, window: PlaneWindow) -> Any:
    """Class scores ``(K, N, *tile)`` (class first, as they are resampled) -> ``uint8`` labels ``(N, rows, cols)``.

    Study pixels the window does not cover are 0 (background).
    """
    xp = array_module(scores)
    n = scores.shape[1]
    rows, cols = window.study_shape
    out = xp.zeros((n, rows, cols), dtype=xp.uint8)
    cover = window.covered
    r0, c0 = window.start
    lo_r, lo_c = max(r0, 0), max(c0, 0)
    hi_r, hi_c = min(r0 + cover[0], rows), min(c0 + cover[1], cols)
    if hi_r <= lo_r or hi_c <= lo_c:
        return out
    labels = probabilities_to_labels(scores, (1.0, *window.model_spacing), (1.0, *window.pixel_spacing),
                                     (n, *cover))
    out[:, lo_r:hi_r, lo_c:hi_c] = labels[:, lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0]
    return out
