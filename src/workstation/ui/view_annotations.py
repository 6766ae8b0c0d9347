"""Text drawn over a 2D view in screen space: orientation letters, slice, window, readout.

Its size follows the application's font (the system setting), so a reader who enlarges
the desktop font gets larger overlay text too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter

from workstation.ui.theme import scaled_font

ORIENTATION_COLOR = QColor(255, 200, 60)
INFO_COLOR = QColor(225, 225, 225)
SHADOW = QColor(0, 0, 0, 200)


@dataclass
class Annotations:
    """What a view prints in its corners and at its edge midpoints."""

    edges: dict[str, str] = field(default_factory=dict)  # left/right/top/bottom -> letters
    top_left: str = ""
    bottom_left: str = ""
    top_right: str = ""
    bottom_right: str = ""
    accent: QColor = field(default_factory=lambda: QColor(90, 160, 255))


def _text(painter: QPainter, rect: QRect, flags: int, text: str, color: QColor) -> None:
    painter.setPen(SHADOW)
    painter.drawText(rect.translated(1, 1), flags, text)
    painter.setPen(color)
    painter.drawText(rect, flags, text)


def paint_annotations(painter: QPainter, viewport: QRect, notes: Annotations) -> None:
    """Paint ``notes`` in viewport pixel coordinates (the painter must be untransformed)."""
    painter.save()
    painter.setFont(scaled_font(1.1, bold=True))
    margin = 6
    r = viewport.adjusted(margin, margin, -margin, -margin)
    v, h = Qt.AlignmentFlag.AlignVCenter, Qt.AlignmentFlag.AlignHCenter
    left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
    top, bottom = Qt.AlignmentFlag.AlignTop, Qt.AlignmentFlag.AlignBottom
    e = notes.edges
    _text(painter, r, int(left | v), e.get("left", ""), ORIENTATION_COLOR)
    _text(painter, r, int(right | v), e.get("right", ""), ORIENTATION_COLOR)
    _text(painter, r, int(top | h), e.get("top", ""), ORIENTATION_COLOR)
    _text(painter, r, int(bottom | h), e.get("bottom", ""), ORIENTATION_COLOR)
    painter.setFont(scaled_font(1.0))
    _text(painter, r, int(left | top), notes.top_left, INFO_COLOR)
    _text(painter, r, int(left | bottom), notes.bottom_left, INFO_COLOR)
    _text(painter, r, int(right | top), notes.top_right, INFO_COLOR)
    _text(painter, r, int(right | bottom), notes.bottom_right, INFO_COLOR)
    # a thin accent bar on the left edge tells the views apart (blue/green/red per plane)
    painter.fillRect(QRect(viewport.left(), viewport.top(), 3, viewport.height()), notes.accent)
    painter.restore()
