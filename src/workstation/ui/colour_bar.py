"""The colour bar of a parametric-map overlay, drawn at the right edge of a 2D view."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from workstation.core.overlays import ScalarOverlay
from workstation.ui.colormaps import colormap_lut

BAR_WIDTH = 14
TEXT_COLOR = QColor(235, 235, 235)
SHADOW = QColor(0, 0, 0, 200)


def colour_bar_rect(viewport: QRect) -> QRect:
    """Where the bar goes: right edge, vertically centred, 40 % of the view's height."""
    height = max(40, int(viewport.height() * 0.4))
    top = viewport.top() + (viewport.height() - height) // 2
    return QRect(viewport.right() - BAR_WIDTH - 30, top, BAR_WIDTH, height)  # clear of the edge letter


def _label(painter: QPainter, rect: QRect, flags: int, text: str) -> None:
    painter.setPen(SHADOW)
    painter.drawText(rect.translated(1, 1), flags, text)
    painter.setPen(TEXT_COLOR)
    painter.drawText(rect, flags, text)


def paint_colour_bar(painter: QPainter, viewport: QRect, overlay: ScalarOverlay) -> None:
    """Paint ``overlay``'s colour map (``vmax`` at the top) with its range and unit."""
    bar = colour_bar_rect(viewport)
    lut = colormap_lut(overlay.colormap)[::-1]  # top row = highest value
    rows = np.ascontiguousarray(np.repeat(lut[:, None, :], BAR_WIDTH, axis=1))
    image = QImage(rows.data, BAR_WIDTH, rows.shape[0], 3 * BAR_WIDTH, QImage.Format.Format_RGB888)
    painter.save()
    painter.drawImage(bar, image)
    painter.setPen(QColor(200, 200, 200))
    painter.drawRect(bar.adjusted(0, 0, -1, -1))
    font = QFont("Sans")
    font.setPixelSize(12)
    painter.setFont(font)
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    label_w = 90
    _label(painter, QRect(bar.left() - label_w - 4, bar.top() - 8, label_w, 16), right, f"{overlay.vmax:g}")
    _label(painter, QRect(bar.left() - label_w - 4, bar.bottom() - 8, label_w, 16), right, f"{overlay.vmin:g}")
    title = " ".join(part for part in (overlay.title, overlay.unit and f"({overlay.unit})") if part)
    if title:
        _label(painter, QRect(bar.right() - 240, bar.top() - 30, 240, 16), right, title)
    painter.restore()
