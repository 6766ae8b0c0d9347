"""Mammogram preprocessing for the detector: common orientation, resize, breast mask.

Every view is flipped so the chest wall is on the left (the detector's common
orientation), resized to fit the network input keeping its aspect ratio (area
anti-aliasing: a Gaussian of sigma ``0.5 * (1/s - 1)`` input pixels before linear
interpolation) and padded with zeros at the right and bottom.  The breast is found by
Otsu's threshold and the largest connected component; the values are then divided by
the 99th percentile inside the breast and clipped to [0, 1.5], air set to 0.

All kernels are written against ``backend.xp`` and run on NumPy or CuPy alike.
:class:`ViewGeometry` maps boxes between network-input pixels and original pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.compute.backend import Backend

INPUT_SHAPE: tuple[int, int] = (256, 208)  # (rows, columns) of the network input
NORM_PERCENTILE = 99.0
NORM_CLIP = 1.5


@dataclass(frozen=True)
class ViewGeometry:
    """How one original image maps onto the network input.

    ``scale`` is (rows, columns) input pixels per original pixel, ``shape`` the
    original (rows, columns), ``flipped`` whether columns were mirrored to put the
    chest wall on the left, ``spacing_mm`` the original (row, column) pixel spacing.
    Coordinates are pixel *edges*: pixel ``i`` spans ``[i, i + 1)``.
    """

    shape: tuple[int, int]
    scale: tuple[float, float]
    flipped: bool
    spacing_mm: tuple[float, float]

    @property
    def resized_shape(self) -> tuple[int, int]:
        return (int(round(self.shape[0] * self.scale[0])), int(round(self.shape[1] * self.scale[1])))

    def input_to_original(self, boxes: Any) -> np.ndarray:
        """Boxes ``(n, 4)`` as (x0, y0, x1, y1) in input pixels -> original pixels."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        b[:, [0, 2]] /= self.scale[1]
        b[:, [1, 3]] /= self.scale[0]
        if self.flipped:
            b[:, [0, 2]] = self.shape[1] - b[:, [2, 0]]
        return b

    def original_to_input(self, boxes: Any) -> np.ndarray:
        """Inverse of :meth:`input_to_original`."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
        if self.flipped:
            b[:, [0, 2]] = self.shape[1] - b[:, [2, 0]]
        b[:, [0, 2]] *= self.scale[1]
        b[:, [1, 3]] *= self.scale[0]
        return b

    def pixels_to_mm(self, boxes: Any) -> np.ndarray:
        """Original-pixel boxes -> mm from the image's top-left corner (x along columns)."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return b * np.array([self.spacing_mm[1], self.spacing_mm[0]] * 2)

    def mm_to_pixels(self, boxes_mm: Any) -> np.ndarray:
        """Inverse of :meth:`pixels_to_mm`."""
        b = np.asarray(boxes_mm, dtype=np.float64).reshape(-1, 4)
        return b / np.array([self.spacing_mm[1], self.spacing_mm[0]] * 2)


def fit_scale(shape: tuple[int, int], target: tuple[int, int] = INPUT_SHAPE) -> tuple[float, float]:
    """Per-axis scale that fits ``shape`` into ``target`` keeping the aspect ratio.

    The common factor is rounded to whole output pixels on each axis, so the two
    factors differ by at most one output pixel's worth.
    """
    s = min(target[0] / shape[0], target[1] / shape[1])
    rows = min(max(int(round(shape[0] * s)), 1), target[0])
    cols = min(max(int(round(shape[1] * s)), 1), target[1])
    return (rows / shape[0], cols / shape[1])


def resize(image: Any, scale: tuple[float, float], backend: Backend) -> Any:
    """Anti-aliased linear resize of a 2D float image on ``backend``."""
    ndi = backend.ndimage
    sigma = tuple(max(0.5 * (1.0 / s - 1.0), 0.0) for s in scale)
    if max(sigma) > 0:
        image = ndi.gaussian_filter(image, sigma=sigma, mode="nearest")
    return ndi.zoom(image, scale, order=1, mode="nearest", grid_mode=True)


def otsu_threshold(values: Any, backend: Backend, bins: int = 256) -> float:
    """Otsu's threshold of a 1D array (maximises the between-class variance)."""
    xp = backend.xp
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return lo
    hist, edges = xp.histogram(values, bins=bins, range=(lo, hi))
    hist = hist.astype(xp.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = xp.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = xp.cumsum(hist * centres) / xp.maximum(w0, 1)
    m1 = (xp.sum(hist * centres) - xp.cumsum(hist * centres)) / xp.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    # class 0 holds bins 0..k: the threshold is the upper edge of bin k
    return float(edges[int(xp.argmax(between[:-1])) + 1])


def breast_mask(image: Any, backend: Backend) -> Any:
    """Largest connected component above Otsu's threshold (boolean, same shape)."""
    xp = backend.xp
    mask = image > otsu_threshold(image.ravel(), backend)
    labels, n = backend.ndimage.label(mask)
    if int(n) <= 1:
        return mask
    counts = xp.bincount(labels.ravel())
    counts[0] = 0
    return labels == int(xp.argmax(counts))


def chest_wall_on_left(image: Any, backend: Backend) -> bool:
    """Guess the chest-wall side from the pixels: the side where the breast meets the edge."""
    mask = breast_mask(image, backend)
    width = max(mask.shape[1] // 20, 1)
    left = float(mask[:, :width].mean())
    right = float(mask[:, -width:].mean())
    return left >= right


def preprocess_view(
    image: Any,
    *,
    flip: bool,
    spacing_mm: tuple[float, float],
    backend: Backend,
    target: tuple[int, int] = INPUT_SHAPE,
) -> tuple[Any, Any, ViewGeometry]:
    """One view -> (network input ``target``-shaped float32, breast mask, geometry).

    Parameters
    ----------
    image
        2D presentation values (bright = dense), NumPy or already on the device.
    flip
        Mirror columns so the chest wall ends up on the left.
    spacing_mm
        Original (row, column) pixel spacing in mm.
    """
    xp = backend.xp
    img = backend.asarray(image, dtype=xp.float32)
    if flip:
        img = img[:, ::-1]
    scale = fit_scale(tuple(img.shape), target)
    small = resize(img, scale, backend).astype(xp.float32)
    mask_small = breast_mask(small, backend)
    inside = small[mask_small]
    ref = float(xp.percentile(inside, NORM_PERCENTILE)) if inside.size else float(small.max() or 1.0)
    norm = xp.clip(small / max(ref, 1e-6), 0, NORM_CLIP) * mask_small
    out = xp.zeros(target, dtype=xp.float32)
    out[: norm.shape[0], : norm.shape[1]] = norm
    mask = xp.zeros(target, dtype=bool)
    mask[: norm.shape[0], : norm.shape[1]] = mask_small
    geom = ViewGeometry(tuple(int(s) for s in image.shape), scale, bool(flip),  # type: ignore[arg-type]
                        (float(spacing_mm[0]), float(spacing_mm[1])))
    return out, mask, geom
