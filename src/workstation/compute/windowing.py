"""Window/level presets and the grey-scale mapping of an image (NumPy or CuPy, no Qt): the one
windowing routine used by the viewer, thumbnails, reports and exports; and the colour
mapping of parametric maps (``jet``) shared by overlays and reports.

The mapping is a DICOM VOI LUT function (PS3.3 C.11.2.1.2-3) for 8-bit output, written
out so that a test can compute the expected pixel of any value by hand:

* ``LINEAR`` (integer stored values, width >= 1)::

      y = clip(((x - (c - 0.5)) / (w - 1) + 0.5) * 255, 0, 255)

* ``LINEAR_EXACT`` (real-valued data such as doses in Gy, any width > 0)::

      y = clip(((x - c) / w + 0.5) * 255, 0, 255)

* ``SIGMOID``: ``y = 255 / (1 + exp(-4 (x - c) / w))``.

Float images whose whole range is below 1 (a dose grid of 0.8-1.3 Gy, a T1 map in s)
need ``LINEAR_EXACT``: :func:`window_function` picks it for floating-point data, and
:func:`min_width` gives the narrowest window each function allows.

(:func:`window_values` maps onto 0-65535 the same way for 16-bit output.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class WindowPreset:
    """A named window: ``width`` and ``level`` (centre) in the volume's units (HU for CT)."""

    name: str
    width: float
    level: float
    shortcut: str = ""


PRESETS: tuple[WindowPreset, ...] = (
    WindowPreset("Lung", 1500.0, -600.0, "1"),
    WindowPreset("Mediastinum", 350.0, 50.0, "2"),
    WindowPreset("Bone", 2000.0, 500.0, "3"),
    WindowPreset("Brain", 80.0, 40.0, "4"),
)


def preset(name: str) -> WindowPreset:
    """The preset called ``name`` (case-insensitive)."""
    for p in PRESETS:
        if p.name.lower() == name.lower():
            return p
    raise KeyError(f"unknown window preset {name!r}; known: {', '.join(p.name for p in PRESETS)}")


VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
#: The narrowest LINEAR_EXACT / SIGMOID window relative to the data's value range.
EXACT_MIN_FRACTION = 1e-6


def window_function(dtype: Any, declared: str = "") -> str:
    """The VOI LUT function for data of ``dtype``: the header's ``declared`` one when known,
    else ``LINEAR_EXACT`` for floating-point values and ``LINEAR`` for integers."""
    name = str(declared or "").strip().upper()
    if name in VOI_FUNCTIONS and not (name == "LINEAR" and np.dtype(dtype).kind == "f"):
        return name
    return "LINEAR_EXACT" if np.dtype(dtype).kind == "f" else "LINEAR"


def min_width(function: str = "LINEAR", value_range: float = 1.0) -> float:
    """The narrowest window ``function`` allows: 1 for LINEAR (PS3.3 C.11.2.1.2.1), else a
    millionth of the data's value range (any positive width is valid)."""
    if function == "LINEAR":
        return 1.0
    return max(abs(float(value_range)) * EXACT_MIN_FRACTION, 1e-12)


def window_to_uint8(
    values: NDArray[Any], width: float, level: float, xp: Any = np, *, function: str = "LINEAR"
) -> NDArray[np.uint8]:
    """Map ``values`` through the VOI window (``width``, ``level``) to 0-255.

    ``function`` is ``LINEAR`` (width >= 1), ``LINEAR_EXACT`` or ``SIGMOID`` (width > 0);
    ``xp`` is the array namespace of ``values`` (``numpy`` or ``cupy``).
    """
    return window_values(values, width, level, np.uint8, xp=xp, function=function)


def window_values(values: NDArray[Any], width: float, level: float, dtype: Any = np.uint8,
                  xp: Any = np, *, function: str = "LINEAR") -> NDArray[Any]:
    """The same VOI window onto the full range of ``dtype``: 0-255 for ``uint8``,
    0-65535 for ``uint16`` (16-bit PNG exports keep the finer grey steps)."""
    if function not in VOI_FUNCTIONS:
        raise ValueError(f"unknown VOI LUT function {function!r}; known: {', '.join(VOI_FUNCTIONS)}")
    top = float(np.iinfo(dtype).max)
    if function == "LINEAR":
        w = max(float(width), 1.0)
        scale = top / max(w - 1.0, 1e-6)
        offset = (0.5 - (float(level) - 0.5) / max(w - 1.0, 1e-6)) * top
    else:
        w = max(float(width), 1e-12)
        scale = top / w
        offset = (0.5 - float(level) / w) * top
    if function == "SIGMOID":
        t = (xp.asarray(values, dtype=xp.float32) - xp.float32(level)) * xp.float32(-4.0 / w)
        out = xp.float32(top) / (xp.float32(1.0) + xp.exp(xp.clip(t, -80.0, 80.0)))
    else:
        out = xp.asarray(values, dtype=xp.float32) * xp.float32(scale) + xp.float32(offset)
    xp.clip(out, 0.0, top, out=out)
    return xp.rint(out).astype(dtype)


def default_window(array: NDArray[Any], modality: str = "") -> tuple[float, float]:
    """A sensible first window: mediastinum for CT, else the 1st-99th percentile span."""
    if modality.upper() == "CT":
        p = preset("Mediastinum")
        return p.width, p.level
    sample = np.asarray(array)[:: max(1, array.shape[0] // 16)]
    finite = sample[np.isfinite(sample)] if np.issubdtype(sample.dtype, np.floating) else sample.ravel()
    if finite.size == 0:
        return 1.0, 0.0
    lo, hi = np.percentile(finite, [1.0, 99.0])
    if hi <= lo:  # a flat image (or a tiny spot on it): the whole range
        lo, hi = float(finite.min()), float(finite.max())
    function = window_function(sample.dtype)
    width = max(float(hi - lo), min_width(function, float(finite.max()) - float(finite.min())))
    return width, float(lo + hi) / 2.0


def drag_window(
    width: float, level: float, dx: float, dy: float, value_range: Optional[float] = None,
    narrowest: float = 1.0,
) -> tuple[float, float]:
    """New (width, level) after a right-drag of ``dx``, ``dy`` screen pixels.

    Right widens the window, down raises the level; the step scales with the data
    range (4 HU per pixel for a CT spanning 4096 HU, 0.5 mGy for a dose grid spanning
    0.5 Gy).  The width stays at or above ``narrowest`` (see :func:`min_width`).
    """
    step = (value_range or 4096.0) / 1024.0
    return max(float(narrowest), width + dx * step), level + dy * step


def jet(t: NDArray[np.floating]) -> NDArray[np.float64]:
    """MATLAB's jet for ``t`` in [0, 1]: dark blue -> blue -> cyan -> yellow -> red -> dark red."""
    t = np.asarray(t, dtype=np.float64)
    r = np.clip(np.minimum(4 * t - 1.5, -4 * t + 4.5), 0, 1)
    g = np.clip(np.minimum(4 * t - 0.5, -4 * t + 3.5), 0, 1)
    b = np.clip(np.minimum(4 * t + 0.5, -4 * t + 2.5), 0, 1)
    return np.stack([r, g, b], axis=-1)


def colour_map(values: NDArray[Any], lo: float, hi: float, name: str = "jet") -> NDArray[np.uint8]:
    """Host values mapped linearly from [``lo``, ``hi``] through a colour map to RGB uint8.

    NaN (no value: outside tissue, say) becomes black.  Only ``jet`` is built in here;
    the viewer adds VisPy's and pyqtgraph's maps by name.
    """
    if name.lower() != "jet":
        raise KeyError(f"unknown colour map {name!r} (built in: jet)")
    v = np.asarray(values, dtype=np.float64)
    t = np.clip((np.nan_to_num(v, nan=lo) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    rgb = np.clip(jet(t) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgb[~np.isfinite(v)] = 0
    return rgb
