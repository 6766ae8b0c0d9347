"""An annotation being drawn: its points so far, its rubber band, and its measurements when done.

Points are display (row, col) of the plane, pixel centres at integers.  Every tool
takes its points one at a time, from clicks, from the end of a drag, or from Enter at
the keyboard pointer: a distance, arrow or ROI needs two (a press-drag-release gives
both), an angle three (arm, vertex, arm), a Cobb angle four (two lines), a text one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from workstation.core.annotations import POINTS
from workstation.ui.annotation_items import shape_path
from workstation.ui.measure import angle_deg, cobb_deg, distance_mm, roi_mask, roi_stats

RC = tuple[float, float]
#: Viewer tool -> annotation kind.
TOOL_KINDS = {"distance": "distance", "angle": "angle", "cobb": "cobb", "arrow": "arrow", "text": "text",
              "roi_ellipse": "ellipse", "roi_rectangle": "rectangle"}
#: UCUM unit of a value unit the viewer shows (HU for CT).
UCUM = {"HU": "[hnsf'U]", "": "1"}


def draft_kind(tool: str) -> Optional[str]:
    """The annotation kind a tool draws, ``None`` for navigate/pick."""
    return TOOL_KINDS.get(tool)


class Draft:
    """The points of one annotation in progress and their preview on the scene."""

    def __init__(self, kind: str, scene: QGraphicsScene, to_scene: Callable[[RC], QPointF],
                 pixel_mm: tuple[float, float]) -> None:
        self.kind = kind
        self.points: list[RC] = []
        self.scene, self.to_scene, self.pixel_mm = scene, to_scene, pixel_mm
        self._hover: Optional[RC] = None
        self.item = QGraphicsPathItem()
        pen = QPen(QColor(90, 220, 255), 1.4, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.item.setPen(pen)
        self.item.setZValue(40)
        scene.addItem(self.item)

    @property
    def needed(self) -> int:
        return POINTS[self.kind]

    @property
    def complete(self) -> bool:
        return len(self.points) >= self.needed

    def add(self, rc: RC) -> None:
        self.points.append((float(rc[0]), float(rc[1])))
        self._redraw()

    def hover(self, rc: RC) -> None:
        self._hover = (float(rc[0]), float(rc[1]))
        self._redraw()

    def _redraw(self) -> None:
        shown = list(self.points)
        if self._hover is not None and not self.complete:
            shown.append(self._hover)
        self.item.setPath(shape_path(self.kind, [self.to_scene(p) for p in shown]))

    def remove(self) -> None:
        if self.item.scene() is not None:
            self.scene.removeItem(self.item)

    def mm(self) -> list[NDArray[np.float64]]:
        """The points in mm on the plane (row, col scaled by the pixel size)."""
        rh, cw = self.pixel_mm
        return [np.array([r * rh, c * cw]) for r, c in self.points]

    def measure(self, values: NDArray[Any], unit: str) -> tuple[tuple[tuple[str, float, str], ...],
                                                                  Optional[NDArray[np.bool_]]]:
        """The measurements of the finished annotation (UCUM units) and, for an ROI, its mask."""
        p = self.points
        if self.kind == "distance":
            return (("Length", distance_mm(p[0], p[1], self.pixel_mm), "mm"),), None
        if self.kind == "angle":
            a, v, b = self.mm()
            return (("Angle", angle_deg(a, v, b), "deg"),), None
        if self.kind == "cobb":
            return (("Cobb angle", cobb_deg(*self.mm()), "deg"),), None
        if self.kind in ("ellipse", "rectangle"):
            lo = (min(p[0][0], p[1][0]) - 0.5, min(p[0][1], p[1][1]) - 0.5)
            hi = (max(p[0][0], p[1][0]) + 0.5, max(p[0][1], p[1][1]) + 0.5)
            mask = roi_mask(values.shape[:2], lo, hi, self.kind)
            stats = roi_stats(values, mask, self.pixel_mm)
            ucum = UCUM.get(unit, unit or "1")
            out = [("Area", stats.area_mm2, "mm2")]
            if stats.n_pixels:
                out += [("Mean", stats.mean, ucum), ("Standard Deviation", stats.sd, ucum),
                        ("Minimum", stats.minimum, ucum), ("Maximum", stats.maximum, ucum)]
            return tuple(out), mask
        return (), None
