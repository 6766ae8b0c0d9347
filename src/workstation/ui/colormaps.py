"""Colour maps by name for overlays: ``jet`` built in, then VisPy's, then pyqtgraph's."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from workstation.compute.windowing import jet


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
        rgb = jet(t)
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
