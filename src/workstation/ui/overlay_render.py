"""Colour a 2D slice of the context overlays into one RGBA image: plain NumPy, no Qt.

Label overlays use their colour table and opacity (label 0 and hidden labels are
transparent); scalar overlays go through a colour map between ``vmin`` and ``vmax``
with NaN transparent.  Overlays are composited in the order given ("over" operator).
:data:`RASTER` maps each raster overlay type to its renderer (another kind is added
with :func:`workstation.ui.overlay_layers.register_raster`); overlays of other types
(vector overlays) are left to the vector painters.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
from numpy.typing import NDArray

from workstation.core.overlays import LabelOverlay, Overlay, ScalarOverlay
from workstation.ui.colormaps import colormap_lut

SliceFn = Callable[[NDArray[np.generic]], NDArray[np.generic]]
RasterFn = Callable[[Any, SliceFn], NDArray[np.float32]]


def label_rgba(labels: NDArray[np.integer], overlay: LabelOverlay) -> NDArray[np.float32]:
    """Premultiplied-free RGBA (0-1 floats) of a 2D label slice."""
    out = np.zeros(labels.shape + (4,), dtype=np.float32)
    if not overlay.colors:
        return out
    max_label = max(int(labels.max(initial=0)), max(overlay.colors))
    table = np.zeros((max_label + 1, 4), dtype=np.float32)
    for value, rgb in overlay.colors.items():
        if value <= 0 or (overlay.visible is not None and value not in overlay.visible):
            continue
        table[value, :3] = np.asarray(rgb, dtype=np.float32) / 255.0
        table[value, 3] = float(overlay.opacity)
    safe = np.clip(labels, 0, max_label)
    return table[safe]


def scalar_rgba(values: NDArray[np.floating], overlay: ScalarOverlay) -> NDArray[np.float32]:
    """RGBA (0-1 floats) of a 2D map slice; NaN is transparent."""
    lut = colormap_lut(overlay.colormap).astype(np.float32) / 255.0
    span = max(float(overlay.vmax) - float(overlay.vmin), 1e-12)
    v = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(v)
    t = np.clip((np.where(finite, v, overlay.vmin) - overlay.vmin) / span, 0.0, 1.0)
    idx = np.rint(t * (len(lut) - 1)).astype(np.intp)
    out = np.empty(v.shape + (4,), dtype=np.float32)
    out[..., :3] = lut[idx]
    shown = finite if overlay.transparent_below is None else finite & (v >= overlay.transparent_below)
    out[..., 3] = np.where(shown, float(overlay.opacity), 0.0)
    return out


def composite(layers: Iterable[NDArray[np.float32]], shape: tuple[int, int]) -> NDArray[np.uint8]:
    """Stack RGBA float layers with the "over" operator into straight-alpha uint8 RGBA."""
    color = np.zeros(shape + (3,), dtype=np.float32)  # premultiplied
    alpha = np.zeros(shape, dtype=np.float32)
    for layer in layers:
        a = layer[..., 3]
        color = layer[..., :3] * a[..., None] + color * (1.0 - a[..., None])
        alpha = a + alpha * (1.0 - a)
    straight = np.where(alpha[..., None] > 0, color / np.maximum(alpha[..., None], 1e-6), 0.0)
    out = np.empty(shape + (4,), dtype=np.uint8)
    out[..., :3] = np.clip(straight * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


RASTER: dict[type, RasterFn] = {
    LabelOverlay: lambda o, cut: label_rgba(np.asarray(cut(o.labels)), o),
    ScalarOverlay: lambda o, cut: scalar_rgba(np.asarray(cut(o.values)), o),
}


def render_overlays(
    overlays: Iterable[Overlay], take_slice: SliceFn, shape: tuple[int, int]
) -> NDArray[np.uint8] | None:
    """RGBA uint8 image of the raster ``overlays`` on one slice, or ``None`` when there are none.

    ``take_slice`` cuts the displayed 2D plane out of a 3D overlay array.  Overlays with
    no raster renderer (vector overlays) are skipped.
    """
    layers = [RASTER[type(o)](o, take_slice) for o in overlays if type(o) in RASTER]
    if not layers:
        return None
    return composite(layers, shape)
