"""The 8-bit picture of one plane: windowed grey, inverted, or colour; plain NumPy, no Qt.

Grey images go through the one windowing routine
(:func:`workstation.compute.windowing.window_to_uint8`) with the VOI function the data
call for; colour images (RGB, YBR, palette colour) are shown as decoded; an image with
a supplemental palette is windowed grey except where its values fall in the palette's
range, which take the palette's colour.  Inverting turns every level ``v`` into
``255 - v`` (MONOCHROME1 images start inverted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.compute.windowing import window_to_uint8


@dataclass(frozen=True)
class Window:
    """How grey values are mapped: width, level (centre), VOI function and inversion."""

    width: float
    level: float
    function: str = "LINEAR"
    invert: bool = False


def grey_levels(values: NDArray[Any], window: Window) -> NDArray[np.uint8]:
    """Windowed (and possibly inverted) 8-bit grey levels of ``values``, C-contiguous."""
    gray = window_to_uint8(values, window.width, window.level, function=window.function)
    if window.invert:
        gray = 255 - gray
    return np.ascontiguousarray(gray)


def apply_palette(values: NDArray[Any], gray: NDArray[np.uint8], palette: Mapping[str, Any]) -> NDArray[np.uint8]:
    """RGB of a grey image whose values in the supplemental palette's range take its colours."""
    lut = np.asarray(palette["lut"], dtype=np.uint8)
    index = np.rint((np.asarray(values, dtype=np.float64) - float(palette["first"])) / float(palette["step"]))
    inside = (index >= 0) & (index < len(lut)) & np.isfinite(index)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    rgb[inside] = lut[index[inside].astype(np.intp)]
    return rgb


def display_rgb(values: NDArray[Any], window: Window, colour: Optional[NDArray[np.uint8]] = None,
                palette: Optional[Mapping[str, Any]] = None) -> tuple[NDArray[np.uint8], Optional[NDArray[np.uint8]]]:
    """``(grey, rgb)`` of one plane: the grey levels, and the colour picture when there is one.

    ``colour`` is the plane's decoded colour (``(rows, cols, 3)``), ``palette`` a
    supplemental palette (``first``, ``step``, ``lut``); ``rgb`` is ``None`` for a grey image.
    """
    gray = grey_levels(values, window)
    if colour is not None:
        rgb = np.ascontiguousarray(255 - colour if window.invert else colour)
        return gray, rgb
    if palette is not None:
        return gray, np.ascontiguousarray(apply_palette(values, gray, palette))
    return gray, None
