"""Display state shared by the linked 2D views: window/level, crosshair, tool, overlay toggles, time.

The :class:`ViewState` belongs to the viewer area, not to the data model: it is what
the user has set up on screen.  Every :class:`~workstation.ui.viewer2d.SliceViewer`
of an MPR layout observes the same state, so scrolling one view moves the crosshair in
the others and a window preset applies everywhere.  For a dynamic (4D) series the
state also holds the time point every view shows.

A new volume is taken in an order that never leaves a view with a slice index of the
previous volume: the shape and crosshair change first, then the window.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Signal

from workstation.compute.windowing import default_window, min_width, window_function
from workstation.core.volume import Volume, VolumeSeries

TOOLS = ("navigate", "pick", "distance", "angle", "cobb", "arrow", "text", "roi_ellipse", "roi_rectangle")


class ViewState(QObject):
    """What the linked views show and how the mouse acts on them."""

    window_changed = Signal(float, float)  # width, level
    crosshair_changed = Signal(object)  # (z, y, x) float array
    tool_changed = Signal(str)
    overlays_toggled = Signal()
    crosshair_visibility_changed = Signal(bool)
    invert_changed = Signal(bool)
    time_changed = Signal(int)  # index of the time point shown
    time_series_changed = Signal(object)  # VolumeSeries | None

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.width = 400.0
        self.level = 40.0
        self.value_range = 4096.0
        self.function = "LINEAR"
        self.crosshair: NDArray[np.float64] = np.zeros(3)
        self.shape: tuple[int, int, int] = (1, 1, 1)
        self.tool = "navigate"
        self.hidden_overlays: set[str] = set()
        self.show_crosshair = True
        self.invert = False
        self.time_series: Optional[VolumeSeries] = None
        self.time_index = 0

    @property
    def narrowest_width(self) -> float:
        """The smallest window width the current data allow (1 for integer data)."""
        return min_width(self.function, self.value_range)

    def reset_for(self, volume: Optional[Volume]) -> None:
        """Centre the crosshair and pick a first window for a newly loaded volume."""
        if volume is None:
            return
        if self.time_series is not None and self.time_series.reference.shape != volume.shape:
            self.set_time_series(None)
        sample = volume.array[:: max(1, volume.shape[0] // 8)]
        finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
        span = float(finite.max()) - float(finite.min()) if finite.size else 0.0
        self.function = window_function(volume.array.dtype, str(volume.meta.get("voi_lut_function") or ""))
        self.value_range = span if span > 0 else 1.0
        if self.function == "LINEAR":
            self.value_range = max(self.value_range, 1.0)
        self.invert = bool(volume.meta.get("photometric") == "MONOCHROME1")
        self.shape = volume.shape
        self.set_crosshair((np.asarray(self.shape, dtype=float) - 1) / 2.0)
        w, l = default_window(volume.array, volume.modality)
        header = (volume.meta.get("window_width"), volume.meta.get("window_center"))
        if volume.modality.upper() != "CT" and all(isinstance(v, (int, float)) for v in header):
            w, l = float(header[0]), float(header[1])  # type: ignore[arg-type]
        self.set_window(w, l)
        self.invert_changed.emit(self.invert)

    def set_window(self, width: float, level: float) -> None:
        self.width, self.level = max(float(width), self.narrowest_width), float(level)
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

    def set_invert(self, invert: bool) -> None:
        """Show the grey scale inverted (white bone on black becomes black on white)."""
        self.invert = bool(invert)
        self.invert_changed.emit(self.invert)

    # -- time (dynamic series) ------------------------------------------------------
    def set_time_series(self, series: Optional[VolumeSeries]) -> None:
        """Hold the time points of a dynamic series; the views show :meth:`time_volume`."""
        self.time_series = series
        self.time_index = 0
        self.time_series_changed.emit(series)
        self.time_changed.emit(0)

    def set_time_index(self, index: int) -> None:
        if self.time_series is None:
            return
        index = int(np.clip(index, 0, len(self.time_series.volumes) - 1))
        if index != self.time_index:
            self.time_index = index
            self.time_changed.emit(index)

    def time_volume(self, shown: Optional[Volume]) -> Optional[Volume]:
        """The volume to draw for ``shown``: its current time point when it is the reference
        of the held dynamic series, else ``shown`` itself."""
        series = self.time_series
        if series is None or shown is None or shown.shape != series.reference.shape:
            return shown
        return series.volumes[self.time_index]
