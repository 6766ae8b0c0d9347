"""A 2D slice view of the context volume along any index axis (axial, coronal, sagittal).

Scene units are millimetres, so anisotropic voxels keep their true aspect.  Mouse:
wheel scrolls slices (Ctrl+wheel zooms), right-drag sets window/level, middle-drag
pans, left button acts with the current tool (move the crosshair, pick a voxel,
measure a distance, draw an ROI).  Keys: PageUp/PageDown and arrows scroll, +/- zoom,
1-4 window presets, 0 fits the view.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPixmap, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsLineItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.overlays import Roi, ScalarOverlay
from workstation.core.volume import Volume
from workstation.ui.measure_tools import Measurement, MeasurementLayer, cosmetic_pen
from workstation.ui.colour_bar import paint_colour_bar
from workstation.ui.line_layer import LineLayer
from workstation.ui.overlay_lines import describe_at, slice_polylines
from workstation.ui.overlay_render import render_overlays
from workstation.core.slice_geometry import SlicePlane
from workstation.ui.view_annotations import Annotations, paint_annotations
from workstation.ui.view_state import ViewState
from workstation.compute.windowing import PRESETS, drag_window, window_to_uint8

ACCENTS = {0: QColor(80, 150, 255), 1: QColor(90, 200, 110), 2: QColor(235, 90, 90)}


def _qimage(array: NDArray[np.uint8]) -> QImage:
    """A QImage sharing a C-contiguous uint8 gray (h, w) or RGBA (h, w, 4) array."""
    h, w = array.shape[:2]
    if array.ndim == 2:
        return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_Grayscale8)
    return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGBA8888)


class SliceViewer(QGraphicsView):
    """One 2D view through the context volume, observing a shared :class:`ViewState`."""

    readout_changed = Signal(str)
    measurement_finished = Signal(object)  # Measurement

    def __init__(
        self, context: ViewerContext, state: Optional[ViewState] = None, axis: int = 0, parent: Optional[QWidget] = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        if state is None:  # a stand-alone view keeps its own state and resets it per volume
            state = ViewState(self)
            context.volume_changed.connect(state.reset_for)
            if context.volume is not None:
                state.reset_for(context.volume)
        self.state = state
        self.axis = axis
        self.plane: Optional[SlicePlane] = None
        self.index = 0
        self._gray: Optional[NDArray[np.uint8]] = None
        self._rgba: Optional[NDArray[np.uint8]] = None
        self._values: Optional[NDArray[Any]] = None
        self._zoom = 1.0
        self._drag: Optional[tuple[Qt.MouseButton, QPointF]] = None
        self._readout = ""
        self.setAccessibleName(f"{('Axial', 'Coronal', 'Sagittal')[axis]} slice view")
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
        self._scene.addItem(self._image_item)
        self._scene.addItem(self._overlay_item)
        pen = cosmetic_pen(QColor(255, 255, 255, 110), 1.0, Qt.PenStyle.DashLine)
        self._cross = [QGraphicsLineItem(), QGraphicsLineItem()]
        for line in self._cross:
            line.setPen(pen)
            line.setZValue(10)
            self._scene.addItem(line)
        self.measurements = MeasurementLayer(self._scene)
        self.lines = LineLayer(self._scene)
        context.volume_changed.connect(self._on_volume)
        context.overlays_changed.connect(self._render_overlay)
        context.focus_requested.connect(self._on_focus)
        self.state.window_changed.connect(lambda *_: self._render_image())
        self.state.crosshair_changed.connect(self._on_crosshair)
        self.state.overlays_toggled.connect(self._render_overlay)
        self.state.crosshair_visibility_changed.connect(lambda *_: self._update_crosshair())
        if context.volume is not None:
            self._on_volume(context.volume)

    # -- model -> view --------------------------------------------------------------
    @property
    def volume(self) -> Optional[Volume]:
        return self.context.volume

    @property
    def n_slices(self) -> int:
        return self.volume.shape[self.axis] if self.volume is not None else 0

    def _on_volume(self, volume: Optional[Volume]) -> None:
        self.measurements.clear()
        if volume is None:
            self.plane = None
            self._image_item.setPixmap(QPixmap())
            self._overlay_item.setPixmap(QPixmap())
            self.lines.clear()
            self.viewport().update()
            return
        self.plane = SlicePlane.for_volume(volume, self.axis)
        rh, cw = self.plane.pixel_mm(volume.spacing)
        for item in (self._image_item, self._overlay_item):
            item.setTransform(QTransform.fromScale(cw, rh))
            item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        rows, cols = self.plane.shape(volume.shape)
        self._scene.setSceneRect(QRectF(0, 0, cols * cw, rows * rh))
        self.measurements.pixel_mm = (rh, cw)
        self.measurements.unit = "HU" if volume.modality.upper() == "CT" else ""
        self.index = int(np.clip(round(float(self.state.crosshair[self.axis])), 0, volume.shape[self.axis] - 1))
        self._render_image()
        self._render_overlay()
        self._update_crosshair()
        self.fit()

    def _on_crosshair(self, zyx: Any) -> None:
        index = int(round(float(zyx[self.axis])))
        if index != self.index and self.volume is not None:
            self.index = int(np.clip(index, 0, self.n_slices - 1))
            self._render_image()
            self._render_overlay()
        self._update_crosshair()

    def _on_focus(self, zyx: Any) -> None:
        self.state.set_crosshair(np.asarray(zyx, dtype=float))

    def slice_values(self) -> NDArray[Any]:
        """The displayed 2D values (physical units) of the current slice."""
        assert self.volume is not None and self.plane is not None
        return self.plane.extract(self.volume.array, self.index)

    def rendered_gray(self) -> Optional[NDArray[np.uint8]]:
        """The grey-level image currently shown (before overlays), for tests and export."""
        return self._gray

    def rendered_overlay(self) -> Optional[NDArray[np.uint8]]:
        """The RGBA overlay image currently shown, or ``None``."""
        return self._rgba

    def _render_image(self) -> None:
        if self.volume is None or self.plane is None:
            return
        self._values = self.slice_values()
        self._gray = np.ascontiguousarray(window_to_uint8(self._values, self.state.width, self.state.level))
        self._image_item.setPixmap(QPixmap.fromImage(_qimage(self._gray)))
        self.measurements.show_slice(self.index)
        self.viewport().update()

    def _render_overlay(self) -> None:
        if self.volume is None or self.plane is None:
            return
        plane, index = self.plane, self.index
        shown = [o for k, o in self.context.overlays.items() if k not in self.state.hidden_overlays]
        rgba = render_overlays(shown, lambda a: plane.extract(a, index), plane.shape(self.volume.shape))
        self._rgba = None if rgba is None else np.ascontiguousarray(rgba)
        pix = QPixmap() if self._rgba is None else QPixmap.fromImage(_qimage(self._rgba))
        self._overlay_item.setPixmap(pix)
        self.lines.show(slice_polylines(shown, plane, index, self.volume), plane.pixel_mm(self.volume.spacing))

    def _update_crosshair(self) -> None:
        if self.volume is None or self.plane is None:
            return
        _, r, c = self.plane.from_index(self.state.crosshair, self.volume.shape)
        rh, cw = self.plane.pixel_mm(self.volume.spacing)
        rect = self._scene.sceneRect()
        x, y = (c + 0.5) * cw, (r + 0.5) * rh
        self._cross[0].setLine(rect.left(), y, rect.right(), y)
        self._cross[1].setLine(x, rect.top(), x, rect.bottom())
        for line in self._cross:
            line.setVisible(self.state.show_crosshair)

    # -- coordinates ----------------------------------------------------------------
    def display_rc(self, view_pos: QPointF) -> tuple[float, float]:
        """Display (row, col) under a viewport position (pixel centres at integers)."""
        assert self.volume is not None and self.plane is not None
        p = self.mapToScene(view_pos.toPoint())
        rh, cw = self.plane.pixel_mm(self.volume.spacing)
        return p.y() / rh - 0.5, p.x() / cw - 0.5

    def view_pos_of(self, row: float, col: float) -> QPointF:
        """Viewport position of display pixel (row, col) (the inverse of :meth:`display_rc`)."""
        assert self.volume is not None and self.plane is not None
        rh, cw = self.plane.pixel_mm(self.volume.spacing)
        return QPointF(self.mapFromScene(QPointF((col + 0.5) * cw, (row + 0.5) * rh)))

    def voxel_at(self, view_pos: QPointF) -> Optional[tuple[int, int, int]]:
        """Voxel (z, y, x) under a viewport position, or ``None`` outside the volume."""
        if self.volume is None or self.plane is None:
            return None
        r, c = self.display_rc(view_pos)
        zyx = np.rint(self.plane.to_index(self.index, r, c, self.volume.shape)).astype(int)
        if np.any(zyx < 0) or np.any(zyx >= np.asarray(self.volume.shape)):
            return None
        return (int(zyx[0]), int(zyx[1]), int(zyx[2]))

    # -- commands -------------------------------------------------------------------
    def set_index(self, index: int) -> None:
        """Show slice ``index`` (clamped); moves the shared crosshair along this axis."""
        if self.volume is None:
            return
        cross = self.state.crosshair.copy()
        cross[self.axis] = int(np.clip(index, 0, self.n_slices - 1))
        self.state.set_crosshair(cross)

    def scroll_slices(self, steps: int) -> None:
        self.set_index(self.index + steps)

    def fit(self) -> None:
        """Fit the whole slice in the view."""
        self._zoom = 1.0
        self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self._zoom *= factor
        self.scale(factor, factor)

    def apply_preset(self, number: int) -> None:
        p = PRESETS[number]
        self.state.set_window(p.width, p.level)

    # -- events ---------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if abs(self._zoom - 1.0) < 1e-9:
            self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15**steps)
        elif steps:
            self.scroll_slices(int(np.sign(steps) * max(1, round(abs(steps)))))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        K = Qt.Key
        if key in (K.Key_PageUp, K.Key_Up, K.Key_Right):
            self.scroll_slices(10 if key == K.Key_PageUp else 1)
        elif key in (K.Key_PageDown, K.Key_Down, K.Key_Left):
            self.scroll_slices(-10 if key == K.Key_PageDown else -1)
        elif key in (K.Key_Plus, K.Key_Equal):
            self.zoom(1.25)
        elif key == K.Key_Minus:
            self.zoom(0.8)
        elif key == K.Key_0:
            self.fit()
        elif K.Key_1 <= key <= K.Key_4:
            self.apply_preset(int(key - K.Key_1))
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        pos = event.position()
        self._drag = (event.button(), pos)
        if event.button() == Qt.MouseButton.LeftButton and self.volume is not None:
            self._left_press(pos)
        event.accept()

    def _left_press(self, pos: QPointF) -> None:
        tool = self.state.tool
        if tool in ("distance", "roi_ellipse", "roi_rectangle"):
            self.measurements.begin(tool, self.index, self.display_rc(pos))
            return
        voxel = self.voxel_at(pos)
        if voxel is None:
            return
        if tool == "pick":
            self.context.voxel_clicked.emit(voxel)
        assert self.plane is not None and self.volume is not None
        r, c = self.display_rc(pos)
        self.state.set_crosshair(self.plane.to_index(self.index, r, c, self.volume.shape))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._update_readout(pos)
        if self._drag is None:
            return
        button, last = self._drag
        delta = pos - last
        self._drag = (button, pos)
        if button == Qt.MouseButton.RightButton:
            w, lv = drag_window(self.state.width, self.state.level, delta.x(), delta.y(), self.state.value_range)
            self.state.set_window(w, lv)
        elif button == Qt.MouseButton.MiddleButton:
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - delta.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - delta.y()))
        elif button == Qt.MouseButton.LeftButton and self.volume is not None:
            if self.measurements.active is not None:
                self.measurements.drag(self.display_rc(pos))
            elif self.state.tool == "navigate" and self.plane is not None:
                r, c = self.display_rc(pos)
                self.state.set_crosshair(self.plane.to_index(self.index, r, c, self.volume.shape))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.measurements.active is not None:
            self.measurements.drag(self.display_rc(event.position()))
            m = self.measurements.finish(self.slice_values())
            if m is not None:
                self._measurement_done(m)
        self._drag = None
        event.accept()

    def _measurement_done(self, m: Measurement) -> None:
        if m.mask is not None and self.axis == 0 and self.plane is not None:
            # Roi masks live on the (y, x) grid of an axial slice: undo display flips.
            mask = m.mask[::-1, :] if self.plane.flip_rows else m.mask
            mask = mask[:, ::-1] if self.plane.flip_cols else mask
            mask = mask.T if self.plane.row_axis > self.plane.col_axis else mask
            self.context.set_roi(Roi(slice_index=self.index, mask=np.ascontiguousarray(mask)))
        self.measurement_finished.emit(m)

    def _update_readout(self, pos: QPointF) -> None:
        voxel = self.voxel_at(pos)
        if voxel is None or self.volume is None:
            text = ""
        else:
            value = float(self.volume.array[voxel])
            unit = " HU" if self.volume.modality.upper() == "CT" else ""
            x, y, z = self.volume.index_to_patient(voxel)
            text = f"({voxel[2]}, {voxel[1]}, {voxel[0]})  {value:.0f}{unit}  [{x:.1f}, {y:.1f}, {z:.1f}] mm"
            shown = {k: o for k, o in self.context.overlays.items() if k not in self.state.hidden_overlays}
            extra = describe_at(shown, voxel)
            text = f"{text}  {extra}" if extra else text
        if text != self._readout:
            self._readout = text
            self.readout_changed.emit(text)
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self.volume is None or self.plane is None:
            return
        painter.save()
        painter.resetTransform()
        notes = Annotations(
            edges=self.plane.edge_labels(self.volume),
            top_left=f"{self.plane.name(self.volume).capitalize()}  {self.index + 1}/{self.n_slices}",
            bottom_left=f"W {self.state.width:.0f}  L {self.state.level:.0f}",
            bottom_right=self._readout,
            accent=ACCENTS[self.axis],
        )
        paint_annotations(painter, self.viewport().rect(), notes)
        scalar = self.shown_scalar_overlay()
        if scalar is not None:
            paint_colour_bar(painter, self.viewport().rect(), scalar)
        painter.restore()

    def shown_scalar_overlay(self) -> Optional[ScalarOverlay]:
        """The parametric map whose colour bar the view shows (the last one added)."""
        shown = [o for k, o in self.context.overlays.items()
                 if k not in self.state.hidden_overlays and isinstance(o, ScalarOverlay)]
        return shown[-1] if shown else None
