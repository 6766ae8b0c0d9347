"""Display state shared by the linked 2D views: window/level, crosshair, tool, overlay toggles.

The :class:`ViewState` belongs to the viewer area, not to the data model: it is what
the user has set up on screen.  Every :class:`~workstation.ui.viewer2d.SliceViewer`
of an MPR layout observes the same state, so scrolling one view moves the crosshair in
the others and a window preset applies everywhere.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Signal

from workstation.core.volume import Volume
from workstation.compute.windowing import default_window

TOOLS = ("navigate", "pick", "distance", "roi_ellipse", "roi_rectangle")


class ViewState(QObject):
    """What the linked views show and how the mouse acts on them."""

    window_changed = Signal(float, float)  # width, level
    crosshair_changed = Signal(object)  # (z, y, x) float array
    tool_changed = Signal(str)
    overlays_toggled = Signal()
    crosshair_visibility_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.width = 400.0
        self.level = 40.0
        self.value_range = 4096.0
        self.crosshair: NDArray[np.float64] = np.zeros(3)
        self.shape: tuple[int, int, int] = (1, 1, 1)
        self.tool = "navigate"
        self.hidden_overlays: set[str] = set()
        self.show_crosshair = True

    def reset_for(self, volume: Optional[Volume]) -> None:
        """Centre the crosshair and pick a first window for a newly loaded volume."""
        if volume is None:
            return
        self.shape = volume.shape
        sample = volume.array[:: max(1, volume.shape[0] // 8)]
        self.value_range = max(float(np.nanmax(sample)) - float(np.nanmin(sample)), 1.0)
        w, l = default_window(volume.array, volume.modality)
        self.set_window(w, l)
        self.set_crosshair((np.asarray(self.shape, dtype=float) - 1) / 2.0)

    def set_window(self, width: float, level: float) -> None:
        self.width, self.level = max(float(width), 1.0), float(level)
        self.window_changed.emit(self.width, self.level)

    def set_crosshair(self, zyx: object) -> None:
        """Move the crosshair to continuous index ``zyx``, clamped into the volume."""
        upper = np.asarray(self.shape, dtype=float) - 1
        self.crosshair = np.clip(np.asarray(zyx, dtype=float), 0.0, upper)
        self.crosshair_changed.emit(self.crosshair.copy())

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
        self.tool = tool
        self.tool_changed.emit(tool)

    def set_overlay_visible(self, key: str, visible: bool) -> None:
        (self.hidden_overlays.discard if visible else self.hidden_overlays.add)(key)
        self.overlays_toggled.emit()

    def set_show_crosshair(self, show: bool) -> None:
        self.show_crosshair = bool(show)
        self.crosshair_visibility_changed.emit(self.show_crosshair)
