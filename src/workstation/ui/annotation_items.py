"""Annotations drawn on a 2D view's scene: shapes in mm, labels on dark boxes that never overlap.

Shapes are cosmetic (their width is in screen pixels at any zoom) and drawn twice, a
dark outline under the colour, so they read over bone and over air.  Labels ignore the
view's zoom, sit on a translucent dark box and are placed by
:func:`workstation.ui.measure.place_labels` so that no two overlap, whatever the zoom.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from workstation.core.annotations import Annotation
from workstation.ui.theme import scaled_font

COLOUR = QColor(255, 214, 10)
SELECTED = QColor(90, 200, 255)
OUTLINE = QColor(0, 0, 0, 200)
LABEL_BACK = QColor(0, 0, 0, 190)
RC = tuple[float, float]
ToScene = Callable[[RC], QPointF]


class LabelItem(QGraphicsItem):
    """Text on a rounded dark box; its size is in screen pixels (it ignores the zoom)."""

    PAD = 3.0

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(31)
        self.font: QFont = scaled_font(0.95, bold=True)
        self.text = text
        self.colour = COLOUR

    def size(self) -> tuple[float, float]:
        metrics = QFontMetricsF(self.font)
        lines = self.text.split("\n") or [""]
        width = max(metrics.horizontalAdvance(line) for line in lines)
        return width + 2 * self.PAD, metrics.lineSpacing() * len(lines) + 2 * self.PAD

    def boundingRect(self) -> QRectF:
        w, h = self.size()
        return QRectF(0.0, 0.0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: Optional[QWidget] = None) -> None:
        rect = self.boundingRect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(LABEL_BACK)
        painter.drawRoundedRect(rect, 3.0, 3.0)
        painter.setFont(self.font)
        painter.setPen(self.colour)
        inner = rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        painter.drawText(inner, int(Qt.AlignmentFlag.AlignLeft), self.text)


def shape_path(kind: str, points: Sequence[QPointF], head_px: float = 0.0) -> QPainterPath:
    """The outline of an annotation in scene coordinates (mm)."""
    path = QPainterPath()
    if not points:
        return path
    if kind in ("ellipse", "rectangle") and len(points) == 2:
        rect = QRectF(points[0], points[1]).normalized()
        if kind == "ellipse":
            path.addEllipse(rect)
        else:
            path.addRect(rect)
        return path
    if kind == "cobb" and len(points) >= 2:
        for pair in (points[0:2], points[2:4]):
            if len(pair) == 2:
                path.moveTo(pair[0])
                path.lineTo(pair[1])
        return path
    path.moveTo(points[0])
    for p in points[1:]:
        path.lineTo(p)
    if kind == "arrow" and len(points) == 2 and head_px > 0:
        tip, tail = np.array([points[0].x(), points[0].y()]), np.array([points[1].x(), points[1].y()])
        d = tail - tip
        length = float(np.hypot(*d))
        if length > 0:
            d = d / length * min(head_px, length / 2)
            for angle in (0.45, -0.45):
                c, s = np.cos(angle), np.sin(angle)
                wing = tip + np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
                path.moveTo(points[0])
                path.lineTo(QPointF(float(wing[0]), float(wing[1])))
    return path


def cosmetic_pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


class DrawnAnnotation:
    """The scene items of one annotation: an outlined shape and its label."""

    def __init__(self, scene: QGraphicsScene, annotation: Annotation, points: list[QPointF], head_mm: float) -> None:
        self.annotation = annotation
        self.points = points
        path = shape_path(annotation.kind, points, head_mm)
        self.outline = QGraphicsPathItem(path)
        self.outline.setPen(cosmetic_pen(OUTLINE, 3.5))
        self.outline.setZValue(29)
        self.shape = QGraphicsPathItem(path)
        self.shape.setPen(cosmetic_pen(COLOUR, 1.6))
        self.shape.setZValue(30)
        self.label = LabelItem(annotation.summary())
        for item in (self.outline, self.shape, self.label):
            scene.addItem(item)

    @property
    def anchor(self) -> QPointF:
        """Where the label belongs: beside the first point of a line, the corner of a box."""
        if self.annotation.kind in ("ellipse", "rectangle"):
            rect = QRectF(self.points[0], self.points[1]).normalized()
            return rect.bottomRight()
        if self.annotation.kind == "angle":
            return self.points[1]
        return self.points[-1] if self.annotation.kind == "arrow" else self.points[0]

    def set_selected(self, selected: bool) -> None:
        self.shape.setPen(cosmetic_pen(SELECTED if selected else COLOUR, 2.2 if selected else 1.6))
        self.label.colour = SELECTED if selected else COLOUR
        self.label.update()

    def remove(self, scene: QGraphicsScene) -> None:
        for item in (self.outline, self.shape, self.label):
            scene.removeItem(item)
