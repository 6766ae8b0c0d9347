"""Sliding-window inference: run a fixed-size network over an image of any size.

Tiles overlap by a fraction of their size; each tile's prediction is weighted by an
importance map (a Gaussian centred on the tile, sigma = 1/8 of the tile size, as in
MONAI's ``sliding_window_inference``, or a constant) and the weighted sum is divided
by the summed weights.  An image smaller than the tile is padded and the padding cut
away afterwards.  Works on NumPy or CuPy arrays (``xp`` follows the input).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

from workstation.compute.arrays import array_module
from workstation.core.progress import ProgressFn, report

Predictor = Callable[[Any], Any]



def window_starts(size: int, tile: int, overlap: float) -> list[int]:
    """Start indices of the windows along one axis (the last one flush with the end).

    Parameters
    ----------
    size, tile
        Image and tile length in voxels (``size >= tile``).
    overlap
        Fraction of a tile shared by neighbours, in [0, 1).
    """
    if size <= tile:
        return [0]
    step = max(int(tile * (1.0 - overlap)), 1)
    count = math.ceil((size - tile) / step) + 1
    return sorted({min(i * step, size - tile) for i in range(count)})


def importance_map(tile: Sequence[int], mode: str = "gaussian", sigma_scale: float = 0.125, xp: Any = np) -> Any:
    """Per-voxel weight of a tile's prediction.

    ``gaussian``: ``exp(-d^2 / (2 sigma^2))`` per axis with ``sigma = sigma_scale *
    tile``, centred on the tile, scaled to a maximum of 1; zeros are raised to the
    smallest positive weight so every voxel counts.  ``constant``: all ones.
    """
    if mode == "constant":
        return xp.ones(tuple(tile), dtype=xp.float32)
    if mode != "gaussian":
        raise ValueError(f"blending must be 'gaussian' or 'constant', got {mode!r}")
    weights = xp.ones(tuple(tile), dtype=xp.float64)
    for axis, n in enumerate(tile):
        centre = (n - 1) / 2.0
        sigma = max(sigma_scale * n, 1e-6)
        coords = xp.arange(n, dtype=xp.float64) - centre
        profile = xp.exp(-(coords**2) / (2.0 * sigma**2))
        shape = [1] * len(tile)
        shape[axis] = n
        weights = weights * profile.reshape(shape)
    weights = weights / weights.max()
    weights = weights.astype(xp.float32)
    positive = weights[weights > 0]
    floor = positive.min() if positive.size else xp.float32(1.0)
    return xp.maximum(weights, floor)


def sliding_window_inference(
    volume_array: Any,
    tile_size: Sequence[int],
    overlap: float,
    predictor: Predictor,
    batch_size: int = 1,
    blending: str = "gaussian",
    progress: Optional[ProgressFn] = None,
    pad_value: float = 0.0,
) -> Any:
    """Predict an image of any size with a network that takes fixed tiles.

    Parameters
    ----------
    volume_array
        ``(C, *spatial)`` or ``(*spatial)`` (one channel), NumPy or CuPy; ``spatial``
        has ``len(tile_size)`` axes.
    tile_size
        Network input size per spatial axis, in voxels.
    overlap
        Fraction of a tile shared with each neighbour, in [0, 1).
    predictor
        ``predictor(batch)``: ``(B, C, *tile)`` float32 -> ``(B, K, *tile)``, same
        array library as the input.
    batch_size
        Tiles per predictor call.
    blending
        ``gaussian`` or ``constant`` weighting of overlapping predictions.
    progress
        ``progress(fraction, message)`` after each batch (raise to cancel).
    pad_value
        Value for padding an image smaller than the tile.

    Returns
    -------
    array
        ``(K, *spatial)`` float32 blended predictions on the input grid.
    """
    xp = array_module(volume_array)
    tile = tuple(int(t) for t in tile_size)
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    image = volume_array[None] if volume_array.ndim == len(tile) else volume_array
    if image.ndim != len(tile) + 1:
        raise ValueError(f"image of shape {volume_array.shape} does not fit a {len(tile)}D tile {tile}")
    spatial = image.shape[1:]
    pad = [(0, max(t - s, 0)) for s, t in zip(spatial, tile)]
    if any(p[1] for p in pad):
        image = xp.pad(image, [(0, 0), *pad], mode="constant", constant_values=pad_value)
    padded = image.shape[1:]
    image = image.astype(xp.float32, copy=False)

    starts = list(itertools.product(*(window_starts(s, t, overlap) for s, t in zip(padded, tile))))
    weights = importance_map(tile, blending, xp=xp)
    out: Any = None
    norm = xp.zeros(padded, dtype=xp.float32)
    for first in range(0, len(starts), batch_size):
        group = starts[first:first + batch_size]
        slices = [tuple(slice(s, s + t) for s, t in zip(start, tile)) for start in group]
        batch = xp.stack([image[(slice(None), *sl)] for sl in slices])
        pred = predictor(batch)
        if out is None:
            out = xp.zeros((pred.shape[1], *padded), dtype=xp.float32)
        for k, sl in enumerate(slices):
            out[(slice(None), *sl)] += pred[k].astype(xp.float32, copy=False) * weights
            norm[sl] += weights
        report(progress, (first + len(group)) / len(starts), f"tile {first + len(group)}/{len(starts)}")
    out /= norm
    crop = tuple(slice(0, s) for s in spatial)
    return out[(slice(None), *crop)]
