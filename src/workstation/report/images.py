"""Key images for reports: grey levels through the one windowing routine, colours painted on.

Every grey-scale image goes through :func:`workstation.compute.windowing.window_to_uint8`
(the routine the viewer uses), so a report shows what the viewer shows at that window.
Images are ``(rows, columns, 3)`` uint8 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.compute.arrays import to_host
from workstation.compute.windowing import colour_map, window_to_uint8

RGB = tuple[int, int, int]


def grey(values: Any, width: float, level: float) -> NDArray[np.uint8]:
    """A 2D image windowed (``width``, ``level`` in its units) as RGB."""
    g = window_to_uint8(to_host(values), width, level)
    return np.repeat(g[:, :, None], 3, axis=2)


def percentile_window(values: Any, lo_pct: float = 1.0, hi_pct: float = 99.8) -> tuple[float, float]:
    """(width, level) spanning two percentiles of the image (projection images, MR)."""
    lo, hi = np.percentile(to_host(values), (lo_pct, hi_pct))
    return max(float(hi - lo), 1.0), float(lo + hi) / 2.0


def coloured(values: Any, lo: float, hi: float, name: str = "jet") -> NDArray[np.uint8]:
    """A parametric map as RGB between ``lo`` and ``hi``; NaN (no value) is black."""
    return colour_map(to_host(values), lo, hi, name)


def paint(rgb: NDArray[np.uint8], mask: NDArray[np.bool_], colour: RGB, alpha: float = 1.0) -> NDArray[np.uint8]:
    """``rgb`` with ``mask`` painted in ``colour`` (blended by ``alpha``)."""
    out = rgb.copy()
    c = np.asarray(colour, dtype=np.float32)
    out[mask] = np.clip(out[mask] * (1.0 - alpha) + c * alpha + 0.5, 0, 255).astype(np.uint8)
    return out


def outline_box(rgb: NDArray[np.uint8], box: tuple[float, float, float, float], colour: RGB,
                thickness: int = 2) -> NDArray[np.uint8]:
    """``rgb`` with the outline of ``box`` (x0, y0, x1, y1 in its pixels) drawn in ``colour``."""
    out = rgb.copy()
    h, w = out.shape[:2]
    x0, x1 = (int(np.clip(v, 0, w - 1)) for v in (box[0], box[2]))
    y0, y1 = (int(np.clip(v, 0, h - 1)) for v in (box[1], box[3]))
    for t in range(thickness):
        out[y0:y1 + 1, min(x0 + t, w - 1)] = colour
        out[y0:y1 + 1, max(x1 - t, 0)] = colour
        out[min(y0 + t, h - 1), x0:x1 + 1] = colour
        out[max(y1 - t, 0), x0:x1 + 1] = colour
    return out


def shrink_step(shape: tuple[int, ...], max_side: int) -> int:
    """The integer step that brings the longer side of ``shape`` to at most ``max_side``."""
    return max(int(np.ceil(max(shape[:2]) / max_side)), 1)


def enlarge(rgb: NDArray[np.uint8], target_px: int) -> NDArray[np.uint8]:
    """``rgb`` repeated by the whole factor that brings its longer side nearest ``target_px``
    (nearest neighbour: voxels stay visibly square, as in the viewer)."""
    factor = max(1, int(round(target_px / max(rgb.shape[:2]))))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1) if factor > 1 else rgb
