"""What every 2D view shares: the picture, zoom and pan, window/level, the readout, tools, overlays.

:class:`ImageCanvas` shows one plane of pixels on a scene in millimetres (so pixels
keep their true aspect) and leaves to its subclasses which plane that is
(:class:`~workstation.ui.viewer2d.SliceViewer`: a slice through a volume;
:class:`~workstation.ui.image_viewer.ImageCanvasView`: a projection image or cine frame).

Mouse: wheel steps through planes (Ctrl+wheel zooms), right-drag sets window/level,
middle-drag pans, left button acts with the current tool.  Keyboard: see
:data:`~workstation.ui.canvas_keys.KEYS`; with Shift the arrow keys move a keyboard
pointer and Enter places a point at it, so every tool works without a mouse.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor, QFocusEvent, QImage, QKeyEvent, QMouseEvent, QPainter, QPixmap, QResizeEvent, QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from workstation.compute.windowing import drag_window
from workstation.core.annotations import Annotation
from workstation.ui.annotation_items import DrawnAnnotation
from workstation.ui.annotation_model import AnnotationModel
from workstation.ui.annotation_tool import Draft, RC, draft_kind
from workstation.ui.canvas_annotations import MIN_DRAG_PX, CanvasAnnotations
from workstation.ui.canvas_keys import view_key
from workstation.ui.display_image import Window, display_rgb
from workstation.ui.overlay_layers import PlaneView
from workstation.ui.view_annotations import Annotations, paint_annotations
from workstation.ui.view_state import ViewState


def qimage(array: NDArray[np.uint8]) -> QImage:
    """A QImage sharing a C-contiguous uint8 grey (h, w), RGB (h, w, 3) or RGBA (h, w, 4) array."""
    h, w = array.shape[:2]
    if array.ndim == 2:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8)
    if array.shape[2] == 3:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)
    return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGBA8888)


class ImageCanvas(QGraphicsView):
    """One 2D plane of pixels with window/level, zoom, pan, readout, annotations and overlays."""

    readout_changed = Signal(str)
    activated = Signal(object)  # this view got the focus or a click
    annotation_finished = Signal(object)  # Annotation

    def __init__(self, state: ViewState, annotations: Optional[AnnotationModel] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = state
        self.annotations = annotations
        self._gray: Optional[NDArray[np.uint8]] = None
        self._rgb: Optional[NDArray[np.uint8]] = None
        self._rgba: Optional[NDArray[np.uint8]] = None
        self._zoom_mode = "fit"  # fit | true | free
        self._drag: Optional[tuple[Qt.MouseButton, QPointF]] = None
        self._press: Optional[QPointF] = None
        self._mouse: Optional[QPointF] = None
        self._readout = ""
        self.pointer: Optional[RC] = None  # keyboard pointer, display (row, col)
        self.drawing = CanvasAnnotations(self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setMinimumSize(120, 120)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_item = QGraphicsPixmapItem()
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setZValue(5)
        for item in (self._image_item, self._overlay_item):
            item.setTransformationMode(Qt.TransformationMode.FastTransformation)
            self._scene.addItem(item)
        state.window_changed.connect(lambda *_: self.refresh_image())
        state.invert_changed.connect(lambda *_: self.refresh_image())
        state.tool_changed.connect(lambda *_: self.cancel_draft())
        if annotations is not None:
            annotations.changed.connect(self.refresh_annotations)

    # -- what a subclass provides -----------------------------------------------------
    def has_image(self) -> bool:
        raise NotImplementedError

    def display_shape(self) -> tuple[int, int]:
        """(rows, columns) of the shown plane."""
        raise NotImplementedError

    def pixel_mm(self) -> tuple[float, float]:
        """(row height, column width) of a display pixel in mm."""
        raise NotImplementedError

    def display_values(self) -> NDArray[Any]:
        """The shown plane's values in physical units, as displayed (rows down, columns right)."""
        raise NotImplementedError

    def display_colour(self) -> Optional[NDArray[np.uint8]]:
        """The shown plane's colour ``(rows, cols, 3)``, ``None`` for a grey image."""
        return None

    def supplemental_palette(self) -> Optional[dict[str, Any]]:
        return None

    def overlay_rgba(self) -> Optional[NDArray[np.uint8]]:
        """The raster overlays of the shown plane as RGBA, or ``None``."""
        return None

    def annotation_points(self, annotation: Annotation) -> Optional[list[RC]]:
        """Display (row, col) of an annotation's points when it lies on this plane, else ``None``."""
        return None

    def make_annotation(self, kind: str, points: list[RC], text: str,
                        values: tuple[tuple[str, float, str], ...]) -> Optional[Annotation]:
        """An annotation from display points (``None`` where this view cannot keep one)."""
        return None

    def readout_at(self, row: float, col: float) -> str:
        return ""

    def corner_notes(self) -> Annotations:
        return Annotations()

    def plane_view(self) -> Optional[PlaneView]:
        """What vector overlay painters need of this plane (``None``: draw none)."""
        return None

    def vector_overlays(self) -> dict[str, Any]:
        return {}

    def value_unit(self) -> str:
        return ""

    def step(self, planes: int) -> None:
        """Show the plane ``planes`` further on (negative: back)."""

    def click(self, row: float, col: float, pick: bool) -> None:
        """A left click with the navigate (or pick) tool at display (row, col)."""

    # -- rendering ------------------------------------------------------------------
    def rendered_gray(self) -> Optional[NDArray[np.uint8]]:
        """The grey-level image currently shown (before overlays), for tests and export."""
        return self._gray

    def rendered_rgb(self) -> Optional[NDArray[np.uint8]]:
        """The colour picture shown (colour images, supplemental palettes), else ``None``."""
        return self._rgb

    def rendered_overlay(self) -> Optional[NDArray[np.uint8]]:
        """The RGBA overlay image currently shown, or ``None``."""
        return self._rgba

    def place_scene(self) -> None:
        """Size the scene and items to the plane (call when the plane's geometry changes)."""
        from PySide6.QtGui import QTransform

        rh, cw = self.pixel_mm()
        rows, cols = self.display_shape()
        for item in (self._image_item, self._overlay_item):
            item.setTransform(QTransform.fromScale(cw, rh))
        self._scene.setSceneRect(QRectF(0, 0, cols * cw, rows * rh))

    def clear_picture(self) -> None:
        self._gray = self._rgb = self._rgba = None
        self._image_item.setPixmap(QPixmap())
        self._overlay_item.setPixmap(QPixmap())
        self.drawing.clear()
        self.viewport().update()

    def refresh_image(self) -> None:
        if not self.has_image():
            return
        window = Window(self.state.width, self.state.level, self.state.function, self.state.invert)
        values = self.display_values()
        self._gray, self._rgb = display_rgb(values, window, self.display_colour(), self.supplemental_palette())
        shown = self._rgb if self._rgb is not None else self._gray
        self._image_item.setPixmap(QPixmap.fromImage(qimage(shown)))
        self._update_readout()
        self.viewport().update()

    def refresh_overlay(self) -> None:
        if not self.has_image():
            return
        rgba = self.overlay_rgba()
        self._rgba = None if rgba is None else np.ascontiguousarray(rgba)
        self._overlay_item.setPixmap(QPixmap() if self._rgba is None else QPixmap.fromImage(qimage(self._rgba)))
        self.viewport().update()

    def refresh_all(self) -> None:
        self.refresh_image()
        self.refresh_overlay()
        self.refresh_annotations()

    # -- coordinates ----------------------------------------------------------------
    def scene_point(self, rc: RC) -> QPointF:
        rh, cw = self.pixel_mm()
        return QPointF((rc[1] + 0.5) * cw, (rc[0] + 0.5) * rh)

    def display_rc(self, view_pos: QPointF) -> tuple[float, float]:
        """Display (row, col) under a viewport position (pixel centres at integers)."""
        p = self.mapToScene(view_pos.toPoint())
        rh, cw = self.pixel_mm()
        return p.y() / rh - 0.5, p.x() / cw - 0.5

    def view_pos_of(self, row: float, col: float) -> QPointF:
        """Viewport position of display pixel (row, col) (the inverse of :meth:`display_rc`)."""
        return QPointF(self.mapFromScene(self.scene_point((row, col))))

    def display_to_viewport(self, rc: NDArray[np.float64]) -> NDArray[np.float64]:
        """Viewport pixels of ``(n, 2)`` display (row, col) points (sub-pixel)."""
        rh, cw = self.pixel_mm()
        t = self.viewportTransform()
        pts = np.asarray(rc, dtype=float).reshape(-1, 2)
        x = (pts[:, 1] + 0.5) * cw
        y = (pts[:, 0] + 0.5) * rh
        return np.stack([t.m11() * x + t.m21() * y + t.dx(), t.m12() * x + t.m22() * y + t.dy()], axis=1)

    def inside(self, rc: RC) -> bool:
        rows, cols = self.display_shape()
        return -0.5 <= rc[0] < rows - 0.5 and -0.5 <= rc[1] < cols - 0.5

    # -- zoom -----------------------------------------------------------------------
    def fit(self) -> None:
        """Fit the whole plane in the view."""
        self._zoom_mode = "fit"
        self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.layout_labels()

    def zoom(self, factor: float) -> None:
        self._zoom_mode = "free"
        self.scale(factor, factor)
        self.layout_labels()

    def screen_px_per_mm(self) -> float:
        """Pixels per millimetre of the screen this view is on (its physical DPI)."""
        screen = self.screen()
        dpi = screen.physicalDotsPerInchX() if screen is not None else 96.0
        return (dpi if dpi > 1 else 96.0) / 25.4

    def true_size(self) -> bool:
        """Show the plane at true size: 1 mm of the image is 1 mm on the screen.  False when
        the image's pixel size is unknown (nothing changes)."""
        if not self.has_true_size():
            return False
        from PySide6.QtGui import QTransform

        self._zoom_mode = "true"
        s = self.screen_px_per_mm()
        self.setTransform(QTransform.fromScale(s, s))
        self.centerOn(self._scene.sceneRect().center())
        self.layout_labels()
        return True

    def has_true_size(self) -> bool:
        return self.has_image()

    def current_scale(self) -> float:
        """Screen pixels per scene mm."""
        return float(self.transform().m11())

    # -- annotations (drawn and drafted by self.drawing) --------------------------------
    @property
    def draft(self) -> Optional[Draft]:
        return self.drawing.draft

    @property
    def _drawn(self) -> list[DrawnAnnotation]:
        return self.drawing.drawn

    def refresh_annotations(self) -> None:
        self.drawing.refresh()

    def drawn_annotations(self) -> list[Annotation]:
        """The annotations shown on this plane."""
        return [d.annotation for d in self.drawing.drawn]

    def layout_labels(self) -> None:
        self.drawing.layout_labels()

    def cancel_draft(self) -> None:
        self.drawing.cancel()

    def _add_point(self, rc: RC) -> None:
        self.drawing.add_point(rc)

    def ask_text(self, kind: str) -> str:
        """The text of a text annotation or an arrow's label (a dialog the keyboard can fill)."""
        from PySide6.QtWidgets import QInputDialog

        title = "Text annotation" if kind == "text" else "Arrow label"
        text, ok = QInputDialog.getText(self, title, "Text:" if kind == "text" else "Label (may be empty):")
        return text.strip() if ok else ""

    def roi_drawn(self, annotation: Annotation, mask: Optional[NDArray[np.bool_]]) -> None:
        """Hook: an ROI was drawn (its display mask); the slice view passes it to the analyses."""

    def delete_last_here(self) -> None:
        self.drawing.delete_last_here()

    # -- readout --------------------------------------------------------------------
    def _update_readout(self) -> None:
        rc: Optional[RC] = None
        if self._mouse is not None:  # over the view (leaving it forgets the position)
            rc = self.display_rc(self._mouse)
        elif self.pointer is not None:
            rc = self.pointer
        text = self.readout_at(*rc) if rc is not None and self.has_image() and self.inside(rc) else ""
        if text != self._readout:
            self._readout = text
            self.readout_changed.emit(text)
            self.viewport().update()

    @property
    def readout(self) -> str:
        return self._readout

    # -- events ---------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self._zoom_mode == "fit":
            self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.layout_labels()

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusInEvent(event)
        self.activated.emit(self)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt API
        super().focusOutEvent(event)
        self.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15**steps)
        elif steps:
            self.step(int(np.sign(steps) * max(1, round(abs(steps)))))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self.handle_key(event):
            super().keyPressEvent(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """React to a key (:data:`~workstation.ui.canvas_keys.KEYS`); False when it is not one of the view's."""
        return view_key(self, event)

    def move_pointer(self, drow: int, dcol: int, pixels: int) -> None:
        rows, cols = self.display_shape() if self.has_image() else (1, 1)
        r, c = self.pointer if self.pointer is not None else (rows // 2, cols // 2)
        self.pointer = (float(np.clip(round(r) + drow * pixels, 0, rows - 1)),
                        float(np.clip(round(c) + dcol * pixels, 0, cols - 1)))
        if self.draft is not None:
            self.draft.hover(self.pointer)
        self._mouse = None
        self._update_readout()
        self.viewport().update()

    def press_at_pointer(self) -> None:
        """What a left click at the keyboard pointer does (Enter)."""
        if not self.has_image():
            return
        if self.pointer is None:  # it starts on the pixel in the middle
            rows, cols = self.display_shape()
            self.pointer = (float(rows // 2), float(cols // 2))
        if draft_kind(self.state.tool) is not None:
            self._add_point(self.pointer)
        else:
            self.click(*self.pointer, pick=self.state.tool == "pick")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.setFocus()
        self.activated.emit(self)
        pos = event.position()
        self._drag = (event.button(), pos)
        if event.button() == Qt.MouseButton.LeftButton and self.has_image():
            self._press = pos
            rc = self.display_rc(pos)
            if draft_kind(self.state.tool) is not None:
                self._add_point(rc)
            elif self.inside(rc):
                self.click(*rc, pick=self.state.tool == "pick")
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        pos = event.position()
        self._mouse = pos
        self._update_readout()
        if self.draft is not None:
            self.draft.hover(self.display_rc(pos))
        if self._drag is None:
            return
        button, last = self._drag
        delta = pos - last
        self._drag = (button, pos)
        if button == Qt.MouseButton.RightButton:
            w, lv = drag_window(self.state.width, self.state.level, delta.x(), delta.y(), self.state.value_range,
                                self.state.narrowest_width)
            self.state.set_window(w, lv)
        elif button == Qt.MouseButton.MiddleButton:
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
            self._zoom_mode = "free"
            self.layout_labels()
        elif button == Qt.MouseButton.LeftButton and self.has_image() and draft_kind(self.state.tool) is None:
            rc = self.display_rc(pos)
            if self.state.tool == "navigate" and self.inside(rc):
                self.click(*rc, pick=False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton and self.draft is not None and self._press is not None:
            moved = event.position() - self._press
            if np.hypot(moved.x(), moved.y()) >= MIN_DRAG_PX:  # a drag places the next point where it ends
                self._add_point(self.display_rc(event.position()))
        self._drag = None
        self._press = None
        event.accept()

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().leaveEvent(event)
        self._mouse = None
        self._update_readout()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt API
        if not self.has_image():
            return
        painter.save()
        painter.resetTransform()
        view = self.plane_view()
        if view is not None:
            from workstation.ui.overlay_layers import paint_vectors

            paint_vectors(painter, self.vector_overlays(), view)
        notes = self.corner_notes()
        if not notes.bottom_right:
            notes.bottom_right = self._readout
        paint_annotations(painter, self.viewport().rect(), notes)
        if self.pointer is not None:
            p = self.view_pos_of(*self.pointer)
            painter.setPen(QColor(0, 0, 0))
            painter.drawEllipse(p, 7.0, 7.0)
            painter.setPen(QColor(90, 220, 255))
            painter.drawEllipse(p, 6.0, 6.0)
            painter.drawLine(p + QPointF(-10, 0), p + QPointF(10, 0))
            painter.drawLine(p + QPointF(0, -10), p + QPointF(0, 10))
        if self.hasFocus():
            painter.setPen(QColor(110, 168, 255))
            painter.drawRect(self.viewport().rect().adjusted(0, 0, -1, -1))
        self.paint_extra(painter)
        painter.restore()

    def paint_extra(self, painter: QPainter) -> None:
        """Hook: more screen-space drawing (the colour bar of a parametric map)."""
