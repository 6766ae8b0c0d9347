"""Colour maps by name for overlays: ``jet`` built in, then VisPy's, then pyqtgraph's."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray


def _jet(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """MATLAB's jet: piecewise-linear dark blue -> blue -> cyan -> yellow -> red -> dark red."""
    r = np.clip(np.minimum(4 * t - 1.5, -4 * t + 4.5), 0, 1)
    g = np.clip(np.minimum(4 * t - 0.5, -4 * t + 3.5), 0, 1)
    b = np.clip(np.minimum(4 * t + 0.5, -4 * t + 2.5), 0, 1)
    return np.stack([r, g, b], axis=-1)


@lru_cache(maxsize=32)
def colormap_lut(name: str, n: int = 256) -> NDArray[np.uint8]:
    """An ``(n, 3)`` uint8 lookup table for colour map ``name``.

    Raises
    ------
    KeyError
        When neither the built-in table, VisPy nor pyqtgraph knows ``name``.
    """
    t = np.linspace(0.0, 1.0, n)
    if name.lower() == "jet":
        rgb = _jet(t)
    else:
        rgb = None
        try:
            from vispy.color import get_colormap

            rgb = np.asarray(get_colormap(name).map(t.astype(np.float32)[:, None]))[:, :3]
        except KeyError:
            pass
        if rgb is None:
            try:
                import pyqtgraph as pg

                rgb = pg.colormap.get(name).getLookupTable(nPts=n, alpha=False) / 255.0
            except (FileNotFoundError, KeyError, ValueError):
                raise KeyError(f"unknown colour map {name!r}") from None
    return np.clip(np.asarray(rgb) * 255.0 + 0.5, 0, 255).astype(np.uint8)
