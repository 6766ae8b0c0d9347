"""Parametric maps as translucent volumes in the 3D view (a dose cloud), beside the CT rendering.

A :class:`~workstation.core.overlays.ScalarOverlay` marked ``show_in_3d`` is sampled with
the strides of the 3D texture limit, normalised between its ``vmin`` and ``vmax`` and
drawn by VisPy's translucent ray caster through its colour map, transparent below
``transparent_below`` and rising to the overlay's opacity at ``vmax``.  Scene units are
mm, as for the CT volume.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
from vispy import scene
from vispy.color import Colormap
from vispy.visuals.transforms import STTransform

from workstation.core.overlays import ScalarOverlay
from workstation.ui.colormaps import colormap_lut
from workstation.ui.volume_texture import downsample_steps


def cloud_colormap(overlay: ScalarOverlay, n: int = 64) -> Colormap:
    """The overlay's colour map with alpha 0 up to its transparency threshold, then rising to its opacity."""
    lut = colormap_lut(overlay.colormap, n).astype(np.float32) / 255.0
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)
    span = max(overlay.vmax - overlay.vmin, 1e-12)
    cut = 0.0 if overlay.transparent_below is None else (overlay.transparent_below - overlay.vmin) / span
    # nothing at or below the cut (values under vmin are clipped to it), then rising to the overlay's opacity
    ramp = np.clip((t - cut) / max(1.0 - cut, 1e-6), 0.0, 1.0)
    alpha = np.where(t <= max(cut, 1.0 / (n - 1)), 0.0, 0.1 + 0.9 * ramp) * float(overlay.opacity) * 0.3
    return Colormap(np.column_stack([lut, alpha]).astype(np.float32))


class ScalarVolumeLayer:
    """One translucent volume per 3D scalar overlay, under a VisPy scene node."""

    def __init__(self, parent_node: Any, max_dim: int = 256) -> None:
        self.parent_node, self.max_dim = parent_node, max_dim
        self.visuals: dict[str, scene.visuals.Volume] = {}
        self._sources: dict[str, Any] = {}

    def clear(self) -> None:
        for visual in self.visuals.values():
            visual.parent = None
        self.visuals.clear()
        self._sources.clear()

    def update(self, overlays: Mapping[str, Any], spacing: Optional[tuple[float, float, float]]) -> None:
        """Show the ``show_in_3d`` scalar overlays (the data is uploaded again only when it changes)."""
        wanted = {k: o for k, o in overlays.items() if isinstance(o, ScalarOverlay) and o.show_in_3d}
        for key in [k for k in self.visuals if k not in wanted]:
            self.visuals.pop(key).parent = None
            self._sources.pop(key, None)
        if spacing is None:
            return
        for key, overlay in wanted.items():
            steps = downsample_steps(overlay.values.shape, self.max_dim)
            span = max(overlay.vmax - overlay.vmin, 1e-12)
            visual = self.visuals.get(key)
            if visual is None or self._sources.get(key) is not overlay.values:
                data = np.asarray(overlay.values[::steps[0], ::steps[1], ::steps[2]], dtype=np.float32)
                data = np.clip((np.nan_to_num(data, nan=overlay.vmin) - overlay.vmin) / span, 0.0, 1.0)
                if visual is not None:
                    visual.parent = None
                visual = scene.visuals.Volume(data, parent=self.parent_node, method="translucent", clim=(0.0, 1.0))
                visual.transform = STTransform(scale=tuple(float(s * k) for s, k in zip(spacing[::-1], steps[::-1])))
                visual.set_gl_state("translucent", depth_test=False)
                visual.order = 5
                self.visuals[key], self._sources[key] = visual, overlay.values
            visual.cmap = cloud_colormap(overlay)
