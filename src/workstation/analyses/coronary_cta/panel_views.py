"""The vessel views of the coronary CTA dock: curved MPR, straightened MPR, cross-section, diameter plot.

One position along the selected vessel links them: a click on the plot, on either MPR
or a key on the slider moves it, and :attr:`VesselViews.position_changed` tells the
panel, which moves the viewers' crosshair there.  Both MPRs rotate about the vessel
(the curved one about its main axis, the straightened one about its centreline).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QSizePolicy, QVBoxLayout, QWidget

from workstation.analyses.coronary_cta.naming import NAMES
from workstation.analyses.panel_controls import editable_combo
from workstation.analyses.coronary_cta.reformat import cross_section, curved, straightened
from workstation.analyses.coronary_cta.result import CoronaryResult, VesselResult
from workstation.compute.sampling import IndexMap
from workstation.compute.windowing import window_to_uint8
from workstation.core.volume import Volume

WINDOW = (800.0, 200.0)
GRADE_QCOLOURS = {"minimal": QColor(139, 195, 74), "mild": QColor(255, 235, 59), "moderate": QColor(255, 152, 0),
                  "severe": QColor(244, 67, 54), "occluded": QColor(156, 39, 176)}
PIXEL_MM = 0.25


class ImagePane(QWidget):
    """A reformatted image in HU, fitted to the pane with square millimetres, with a cursor row,
    graded marks along the rows, a centre path and a contour drawn over it."""

    clicked = Signal(float, float)  # image row, column

    def __init__(self, title: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setMinimumSize(90, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(title)
        self._gray: Optional[NDArray[np.uint8]] = None
        self.cursor_row: Optional[float] = None
        self.marks: list[tuple[float, float, QColor]] = []
        self.path: Optional[NDArray[np.float64]] = None  # (n, 2) row, column
        self.contour: Optional[NDArray[np.float64]] = None

    def set_values(self, values: Optional[NDArray[Any]]) -> None:
        self._gray = None if values is None else np.ascontiguousarray(window_to_uint8(np.asarray(values), *WINDOW))
        self.update()

    @property
    def image_shape(self) -> tuple[int, int]:
        return (0, 0) if self._gray is None else (int(self._gray.shape[0]), int(self._gray.shape[1]))

    def _target(self) -> QRectF:
        rows, cols = self.image_shape
        if not rows or not cols:
            return QRectF()
        scale = min(self.width() / cols, (self.height() - 14) / rows)
        w, h = cols * scale, rows * scale
        return QRectF((self.width() - w) / 2.0, 14 + (self.height() - 14 - h) / 2.0, w, h)

    def _to_widget(self, row: float, col: float) -> QPointF:
        t = self._target()
        rows, cols = self.image_shape
        return QPointF(t.left() + (col + 0.5) * t.width() / cols, t.top() + (row + 0.5) * t.height() / rows)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        painter.setPen(QColor(200, 200, 200))
        painter.drawText(4, 11, self.title)
        if self._gray is not None:
            g = self._gray
            image = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format.Format_Grayscale8)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = self._target()
            painter.drawImage(target, image)
            rows, cols = self.image_shape
            for r0, r1, colour in self.marks:
                painter.setPen(QPen(colour, 3))
                a, b = self._to_widget(r0, cols - 1), self._to_widget(r1, cols - 1)
                painter.drawLine(QPointF(target.right() + 1, a.y()), QPointF(target.right() + 1, b.y()))
            if self.path is not None and len(self.path) > 1:
                painter.setPen(QPen(QColor(80, 200, 255, 140), 1, Qt.PenStyle.DotLine))
                painter.drawPolyline(QPolygonF([self._to_widget(r, c) for r, c in self.path]))
            if self.contour is not None and len(self.contour) > 2:
                painter.setPen(QPen(QColor(255, 220, 0), 1.5))
                painter.drawPolygon(QPolygonF([self._to_widget(r, c) for r, c in self.contour]))
            if self.cursor_row is not None:
                painter.setPen(QPen(QColor(255, 80, 80), 1))
                y = self._to_widget(self.cursor_row, 0).y()
                painter.drawLine(QPointF(target.left(), y), QPointF(target.right(), y))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        t = self._target()
        rows, cols = self.image_shape
        p = event.position()
        if rows and t.contains(p):
            self.clicked.emit((p.y() - t.top()) / t.height() * rows - 0.5, (p.x() - t.left()) / t.width() * cols - 0.5)
        event.accept()


class VesselViews(QWidget):
    """Curved and straightened MPR, cross-section and lumen-diameter plot of one vessel of a result."""

    position_changed = Signal(int, float)  # vessel index, position along it (mm)
    renamed = Signal(int, str)  # vessel index, new name

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.result: Optional[CoronaryResult] = None
        self.volume: Optional[Volume] = None
        self._index_map: Optional[IndexMap] = None
        self.index = 0
        self.position_mm = 0.0
        self._curved_rows: NDArray[np.float64] = np.zeros(0)
        self._build()

    # -- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        self.vessel_combo = QComboBox()
        self.vessel_combo.setAccessibleName("Vessel")
        self.vessel_combo.currentIndexChanged.connect(self._on_vessel)
        self.name_combo = editable_combo(NAMES, "Vessel name")
        self.name_combo.setToolTip("Name of the vessel (type or choose; the suggestion is preselected)")
        self.name_combo.activated.connect(lambda _=0: self._rename())
        line = self.name_combo.lineEdit()
        if line is not None:
            line.editingFinished.connect(self._rename)
        self.angle = QSlider(Qt.Orientation.Horizontal)
        self.angle.setRange(0, 179)
        self.angle.setAccessibleName("Rotation about the vessel")
        self.angle.valueChanged.connect(lambda _=0: self._render_mprs())
        self.angle_label = QLabel("0°")
        top = QHBoxLayout()
        top.addWidget(self.vessel_combo, 2)
        top.addWidget(QLabel("Name"))
        top.addWidget(self.name_combo, 1)
        rotation = QHBoxLayout()
        rotation.addWidget(QLabel("Rotate"))
        rotation.addWidget(self.angle, 1)
        rotation.addWidget(self.angle_label)
        self.curved_pane = ImagePane("Curved MPR")
        self.straight_pane = ImagePane("Straightened")
        self.section_pane = ImagePane("Cross-section")
        self.section_pane.setMinimumSize(110, 110)
        for pane in (self.curved_pane, self.straight_pane):
            pane.clicked.connect(lambda row, _col, p=pane: self._on_image_click(p, row))
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setAccessibleName("Section measurements")
        side = QVBoxLayout()
        side.addWidget(self.section_pane, 3)
        side.addWidget(self.info, 2)
        images = QGridLayout()
        images.addWidget(self.curved_pane, 0, 0)
        images.addWidget(self.straight_pane, 0, 1)
        images.addLayout(side, 0, 2)
        images.setColumnStretch(0, 3)
        images.setColumnStretch(1, 2)
        images.setColumnStretch(2, 3)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(130)
        self.plot.setLabel("bottom", "position", units="mm")
        self.plot.setLabel("left", "diameter", units="mm")
        self.plot.addLegend(offset=(-5, 5))
        self.mean_curve = self.plot.plot([], [], pen=pg.mkPen((33, 150, 243), width=2), name="mean")
        self.min_curve = self.plot.plot([], [], pen=pg.mkPen((220, 220, 220), width=1), name="minimal")
        self.ref_curve = self.plot.plot([], [], pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine),
                                        name="reference")
        self.position_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 80, 80), width=1))
        self.position_line.sigPositionChangeFinished.connect(lambda line: self.set_position(float(line.value())))
        self.plot.addItem(self.position_line)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_click)
        self._regions: list[Any] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(rotation)
        layout.addLayout(images, 3)
        layout.addWidget(self.plot, 2)

    # -- model -> view --------------------------------------------------------------
    def set_result(self, result: Optional[CoronaryResult], volume: Optional[Volume]) -> None:
        """Show ``result`` (``None``: clear) of ``volume``; keeps the selected vessel where it can."""
        self.result, self.volume = result, volume
        self._index_map = IndexMap.of_volume(volume) if volume is not None else None
        keep = self.index
        self.vessel_combo.blockSignals(True)
        self.vessel_combo.clear()
        for v in result.vessels if result is not None else ():
            label = v.name if v.name == v.suggested_name else f"{v.name} (suggested {v.suggested_name})"
            worst = v.worst
            self.vessel_combo.addItem(f"{label}: {worst.percent_diameter:.0f} % {worst.grade}" if worst else label)
        self.vessel_combo.blockSignals(False)
        count = self.vessel_combo.count()
        if count:
            self.vessel_combo.setCurrentIndex(min(keep, count - 1))
        self._on_vessel(self.vessel_combo.currentIndex())

    @property
    def vessel(self) -> Optional[VesselResult]:
        if self.result is None or not 0 <= self.index < len(self.result.vessels):
            return None
        return self.result.vessels[self.index]

    def _on_vessel(self, index: int) -> None:
        self.index = max(index, 0)
        v = self.vessel
        for region in self._regions:
            self.plot.removeItem(region)
        self._regions = []
        if v is None:
            for curve in (self.mean_curve, self.min_curve, self.ref_curve):
                curve.setData([], [])
            for pane in (self.curved_pane, self.straight_pane, self.section_pane):
                pane.set_values(None)
            self.info.setText("")
            return
        self.name_combo.setEditText(v.name)
        s = v.position_mm
        self.mean_curve.setData(s, np.nan_to_num(v.mean_diameter_mm), connect="finite")
        self.min_curve.setData(s, np.nan_to_num(v.minimal_diameter_mm), connect="finite")
        self.ref_curve.setData(s, v.reference_diameter_mm)
        for st in v.stenoses:
            colour = GRADE_QCOLOURS.get(st.grade, QColor(255, 255, 255))
            region = pg.LinearRegionItem((st.start_mm, st.end_mm), movable=False,
                                         brush=pg.mkBrush(colour.red(), colour.green(), colour.blue(), 60))
            self.plot.addItem(region)
            self._regions.append(region)
        worst = v.worst
        self._render_mprs()
        self.set_position(worst.position_mm if worst is not None else 0.5 * v.length_mm)

    def _render_mprs(self) -> None:
        v, volume = self.vessel, self.volume
        self.angle_label.setText(f"{self.angle.value()}°")
        if v is None or volume is None or self._index_map is None:
            return
        values = np.asarray(volume.array)
        cpr = curved(values, self._index_map, v.centreline_mm, angle_deg=self.angle.value(), half_width_mm=12.0,
                     pixel_mm=PIXEL_MM)
        self._curved_rows = cpr.row_position_mm
        self.curved_pane.set_values(cpr.image)
        self.curved_pane.path = np.stack([np.arange(len(cpr.centre_column)), cpr.centre_column], axis=1)
        image, _ = straightened(values, self._index_map, v.centreline_mm, v.normal, v.binormal,
                                angle_deg=self.angle.value(), half_width_mm=6.0, pixel_mm=PIXEL_MM)
        self.straight_pane.set_values(image)
        self.straight_pane.path = None
        self.curved_pane.marks = [(self._curved_row(st.start_mm), self._curved_row(st.end_mm),
                                   GRADE_QCOLOURS.get(st.grade, QColor(255, 255, 255))) for st in v.stenoses]
        self.straight_pane.marks = [(st.start_mm / PIXEL_MM, st.end_mm / PIXEL_MM,
                                     GRADE_QCOLOURS.get(st.grade, QColor(255, 255, 255))) for st in v.stenoses]
        self._show_cursors()

    def _curved_row(self, position_mm: float) -> float:
        if self._curved_rows.size == 0:
            return 0.0
        return float(np.argmin(np.abs(self._curved_rows - position_mm)))

    # -- position -------------------------------------------------------------------
    def set_position(self, position_mm: float) -> None:
        """Move the linked position to ``position_mm`` along the selected vessel."""
        v = self.vessel
        if v is None:
            return
        self.position_mm = float(np.clip(position_mm, 0.0, v.length_mm))
        self.position_line.blockSignals(True)
        self.position_line.setValue(self.position_mm)
        self.position_line.blockSignals(False)
        self._show_cursors()
        self._show_section()
        self.position_changed.emit(self.index, self.position_mm)

    def _show_cursors(self) -> None:
        self.curved_pane.cursor_row = self._curved_row(self.position_mm)
        self.straight_pane.cursor_row = self.position_mm / PIXEL_MM
        self.curved_pane.update()
        self.straight_pane.update()

    def _show_section(self) -> None:
        v, volume = self.vessel, self.volume
        if v is None or volume is None or self._index_map is None:
            return
        i = v.section_at(self.position_mm)
        half, px = 6.0, 0.1
        self.section_pane.set_values(cross_section(np.asarray(volume.array), self._index_map, v.centreline_mm[i],
                                                   v.normal[i], v.binormal[i], half_width_mm=half, pixel_mm=px))
        r = v.lumen_radius_mm[i]
        theta = np.arange(len(r)) * 2.0 * np.pi / len(r)
        self.section_pane.contour = np.stack([(r * np.sin(theta) + half) / px, (r * np.cos(theta) + half) / px], axis=1)
        self.section_pane.update()
        measured = bool(v.measured[i])
        text = [f"<b>{v.name}</b> at {v.position_mm[i]:.1f} mm"]
        if measured:
            text.append(f"diameter {v.mean_diameter_mm[i]:.2f} mm (min {v.minimal_diameter_mm[i]:.2f}), "
                        f"reference {v.reference_diameter_mm[i]:.2f} mm")
            text.append(f"area {v.area_mm2[i]:.2f} mm², lumen {v.lumen_hu[i]:.0f} HU")
            if v.calcified_mm2[i] > 0 or v.noncalcified_mm2[i] > 0:
                text.append(f"plaque: calcified {v.calcified_mm2[i]:.1f}, non-calcified {v.noncalcified_mm2[i]:.1f} mm²")
            if v.blooming[i]:
                text.append("calcium blooms into the lumen here")
        else:
            text.append("not measured (side branch or aorta in the section)")
        for st in v.stenoses:
            if st.start_mm <= v.position_mm[i] <= st.end_mm:
                text.append(f"<b>{st.percent_diameter:.0f} % stenosis ({st.grade})</b>, {st.length_mm:.1f} mm, "
                            f"{st.plaque} plaque")
        self.info.setText("<br>".join(text))

    def _on_image_click(self, pane: ImagePane, row: float) -> None:
        if pane is self.curved_pane and self._curved_rows.size:
            self.set_position(float(self._curved_rows[int(np.clip(round(row), 0, self._curved_rows.size - 1))]))
        else:
            self.set_position(row * PIXEL_MM)

    def _on_plot_click(self, event: Any) -> None:
        if self.vessel is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.set_position(float(point.x()))

    def _rename(self) -> None:
        v = self.vessel
        name = self.name_combo.currentText().strip()
        if v is not None and name and name != v.name:
            self.renamed.emit(self.index, name)
