"""Polylines over a 2D view: one cosmetic-pen path item per line, in scene millimetres."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from workstation.ui.measure_tools import cosmetic_pen
from workstation.ui.overlay_lines import Polyline

Z_VALUE = 6  # above the overlay image, below the crosshair and measurements


class LineLayer:
    """The line overlays of one slice view (isodose lines, structure outlines)."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.items: list[QGraphicsPathItem] = []

    def clear(self) -> None:
        for item in self.items:
            self.scene.removeItem(item)
        self.items.clear()

    def show(self, lines: Sequence[Polyline], pixel_mm: tuple[float, float]) -> None:
        """Replace the drawn lines; display pixel (row, column) maps to scene mm by ``pixel_mm``."""
        self.clear()
        rh, cw = pixel_mm
        for line in lines:
            pts = line.points_rc
            path = QPainterPath(QPointF((pts[0, 1] + 0.5) * cw, (pts[0, 0] + 0.5) * rh))
            for r, c in pts[1:]:
                path.lineTo((c + 0.5) * cw, (r + 0.5) * rh)
            if line.closed:
                path.closeSubpath()
            item = QGraphicsPathItem(path)
            item.setPen(cosmetic_pen(QColor(*line.colour), line.width_px))
            item.setZValue(Z_VALUE)
            self.scene.addItem(item)
            self.items.append(item)
