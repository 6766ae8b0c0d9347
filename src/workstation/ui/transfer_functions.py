"""3D render presets: colour maps, contrast limits and opacity ramps in HU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from vispy.color import Colormap


@dataclass(frozen=True)
class RenderPreset:
    """How the 3D view draws a volume.

    ``method`` is a VisPy volume method (``mip``, ``translucent``, ``iso``); ``clim``
    the value range (HU) mapped onto the colour map; ``threshold`` the iso value (HU).
    """

    name: str
    method: str
    clim: tuple[float, float]
    threshold: Optional[float] = None


PRESETS: tuple[RenderPreset, ...] = (
    RenderPreset("MIP", "mip", (-200.0, 1200.0)),
    RenderPreset("Soft tissue + bone", "translucent", (-1000.0, 1500.0)),
    RenderPreset("Iso-surface (bone)", "iso", (-1000.0, 1500.0), threshold=300.0),
)


def ct_translucent_colormap(clim: tuple[float, float]) -> Colormap:
    """Air clear, fat/soft tissue faint red-orange, contrast pale, bone opaque ivory."""
    points_hu = [clim[0], -500.0, -100.0, 40.0, 150.0, 300.0, 700.0, clim[1]]
    rgba = [
        (0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
        (0.75, 0.35, 0.25, 0.0),
        (0.85, 0.45, 0.35, 0.04),
        (0.95, 0.7, 0.5, 0.08),
        (1.0, 0.92, 0.8, 0.35),
        (1.0, 0.98, 0.92, 0.7),
        (1.0, 1.0, 1.0, 0.9),
    ]
    controls = np.clip((np.asarray(points_hu) - clim[0]) / (clim[1] - clim[0]), 0.0, 1.0)
    controls[0], controls[-1] = 0.0, 1.0
    return Colormap(np.asarray(rgba, dtype=np.float32), controls=controls)


def iso_colormap() -> Colormap:
    """A bone-coloured single tone for shaded iso-surfaces."""
    return Colormap([(0.85, 0.8, 0.7, 1.0), (1.0, 0.97, 0.9, 1.0)])


def mip_colormap() -> Colormap:
    return Colormap([(0.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 1.0)])

