"""Distance and ROI tools drawn on a 2D view's scene (scene units are mm).

A :class:`MeasurementLayer` turns press/drag/release into a line with its length or an
ellipse/rectangle with its statistics; each measurement belongs to the slice it was
drawn on and is shown only there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from workstation.ui.measure import RoiStats, distance_mm, roi_mask, roi_stats

COLOR = QColor(255, 210, 0)


@dataclass
class Measurement:
    """One finished or in-progress measurement on slice ``slice_index``."""

    kind: str  # "distance", "roi_ellipse", "roi_rectangle"
    slice_index: int
    start: tuple[float, float]  # display (row, col)
    end: tuple[float, float]
    shape_item: QGraphicsItem
    label: QGraphicsSimpleTextItem
    value_mm: float = 0.0
    stats: Optional[RoiStats] = None
    mask: Optional[NDArray[np.bool_]] = None


class MeasurementLayer:
    """Creates and keeps measurement items on ``scene``.

    ``pixel_mm`` gives (row height, column width) in mm; ``slice_values`` returns the
    displayed 2D values of the current slice; ``unit`` labels statistics.
    """

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.items: list[Measurement] = []
        self.active: Optional[Measurement] = None
        self.pixel_mm: tuple[float, float] = (1.0, 1.0)
        self.unit = "HU"
        self.on_finished: Optional[Callable[[Measurement], None]] = None

    def _pen(self) -> QPen:
        pen = QPen(COLOR, 1.5)
        pen.setCosmetic(True)
        return pen

    def _scene_point(self, rc: tuple[float, float]) -> QPointF:
        return QPointF((rc[1] + 0.5) * self.pixel_mm[1], (rc[0] + 0.5) * self.pixel_mm[0])

    def begin(self, kind: str, slice_index: int, rc: tuple[float, float]) -> None:
        if kind == "distance":
            item: QGraphicsItem = QGraphicsLineItem()
        elif kind == "roi_ellipse":
            item = QGraphicsEllipseItem()
        elif kind == "roi_rectangle":
            item = QGraphicsRectItem()
        else:
            raise ValueError(f"unknown measurement kind {kind!r}")
        item.setPen(self._pen())  # type: ignore[attr-defined]
        item.setZValue(20)
        label = QGraphicsSimpleTextItem()
        label.setBrush(COLOR)
        label.setFont(QFont("Sans", 9))
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        label.setZValue(21)
        self.scene.addItem(item)
        self.scene.addItem(label)
        self.active = Measurement(kind, slice_index, rc, rc, item, label)
        self._update_shape()

    def drag(self, rc: tuple[float, float]) -> None:
        if self.active is not None:
            self.active.end = rc
            self._update_shape()

    def finish(self, values: NDArray[np.generic]) -> Optional[Measurement]:
        """Complete the active measurement; ROI statistics use the displayed ``values``."""
        m, self.active = self.active, None
        if m is None:
            return None
        if m.kind == "distance":
            m.value_mm = distance_mm(m.start, m.end, self.pixel_mm)
            m.label.setText(f"{m.value_mm:.1f} mm")
        else:
            lo = (min(m.start[0], m.end[0]) - 0.5, min(m.start[1], m.end[1]) - 0.5)
            hi = (max(m.start[0], m.end[0]) + 0.5, max(m.start[1], m.end[1]) + 0.5)
            kind = "ellipse" if m.kind == "roi_ellipse" else "rectangle"
            m.mask = roi_mask(values.shape[:2], lo, hi, kind)
            m.stats = roi_stats(values, m.mask, self.pixel_mm)
            m.label.setText(m.stats.text(self.unit))
        self.items.append(m)
        if self.on_finished is not None:
            self.on_finished(m)
        return m

    def _update_shape(self) -> None:
        m = self.active
        assert m is not None
        a, b = self._scene_point(m.start), self._scene_point(m.end)
        if isinstance(m.shape_item, QGraphicsLineItem):
            m.shape_item.setLine(a.x(), a.y(), b.x(), b.y())
            m.label.setText(f"{distance_mm(m.start, m.end, self.pixel_mm):.1f} mm")
        else:
            half = QPointF(0.5 * self.pixel_mm[1], 0.5 * self.pixel_mm[0])
            rect = QRectF(a, b).normalized().adjusted(-half.x(), -half.y(), half.x(), half.y())
            m.shape_item.setRect(rect)  # type: ignore[attr-defined]
        m.label.setPos(QPointF(max(a.x(), b.x()) + 2, max(a.y(), b.y()) + 2))

    def show_slice(self, slice_index: int) -> None:
        """Show only the measurements drawn on ``slice_index``."""
        for m in self.items:
            visible = m.slice_index == slice_index
            m.shape_item.setVisible(visible)
            m.label.setVisible(visible)

    def clear(self) -> None:
        for m in self.items + ([self.active] if self.active else []):
            self.scene.removeItem(m.shape_item)
            self.scene.removeItem(m.label)
        self.items.clear()
        self.active = None


def cosmetic_pen(color: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A pen whose width is in screen pixels whatever the zoom."""
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen
