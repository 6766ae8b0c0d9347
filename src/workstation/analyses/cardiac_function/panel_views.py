"""The cardiac panel's result views: volume-time curve with ED/ES markers, results table, bull's-eye."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from workstation.analyses.cardiac_function import reference
from workstation.analyses.cardiac_function.bullseye import render
from workstation.analyses.cardiac_function.report import rows
from workstation.analyses.cardiac_function.result import CardiacResult

FLAG_COLOURS = {"low": QColor(90, 160, 255), "high": QColor(255, 150, 60)}
HINT = QSize(360, 220)  # the tabs' preferred size: the dock must fit a 1366 x 768 screen


class CurveView(pg.PlotWidget):
    """LV and RV volume against trigger delay; dragging the ED or ES line asks for that phase."""

    phase_chosen = Signal(str, int)  # ("ed" | "es", phase)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(150)
        self.setAccessibleName("LV and RV volume against time, with the ED and ES markers")
        self.addLegend(offset=(-10, 10))
        self.setLabel("left", "volume", units="ml")
        self.lv = self.plot([], [], pen=pg.mkPen((230, 60, 60), width=2), symbol="o", symbolSize=4, name="LV")
        self.rv = self.plot([], [], pen=pg.mkPen((70, 140, 255), width=2), symbol="o", symbolSize=4, name="RV")
        self.markers = {
            "ed": pg.InfiniteLine(movable=True, pen=pg.mkPen((255, 255, 255), width=1, style=Qt.PenStyle.DashLine),
                                  label="ED", labelOpts={"position": 0.92}),
            "es": pg.InfiniteLine(movable=True, pen=pg.mkPen((255, 220, 0), width=1, style=Qt.PenStyle.DashLine),
                                  label="ES", labelOpts={"position": 0.92}),
        }
        for key, line in self.markers.items():
            self.addItem(line)
            line.sigPositionChangeFinished.connect(lambda _l, k=key: self._dragged(k))
        self.x = np.zeros(0)

    def sizeHint(self) -> QSize:
        return HINT

    def show_result(self, result: CardiacResult) -> None:
        self.x = np.asarray(result.times_s) * (1000.0 if result.timed else 1.0)
        self.setLabel("bottom", "trigger delay" if result.timed else "phase", units="ms" if result.timed else "")
        self.lv.setData(self.x, np.asarray(result.lv_curve_ml))
        self.rv.setData(self.x, np.asarray(result.rv_curve_ml))
        for key, phase in (("ed", result.lv.ed_phase), ("es", result.lv.es_phase)):
            line = self.markers[key]
            line.blockSignals(True)
            line.setValue(float(self.x[phase]))
            line.blockSignals(False)

    def nearest_phase(self, x: float) -> int:
        return int(np.argmin(np.abs(self.x - x))) if self.x.size else 0

    def _dragged(self, key: str) -> None:
        phase = self.nearest_phase(self.markers[key].value())
        self.markers[key].setValue(float(self.x[phase]) if self.x.size else 0.0)
        self.phase_chosen.emit(key, phase)


class ResultsTable(QTableWidget):
    """LV and RV values, indexed values and normal ranges (outside the range: coloured)."""

    HEADER = ("", "value", "per m2", "normal range", "")

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(self.HEADER), parent)
        self.setHorizontalHeaderLabels(list(self.HEADER))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def sizeHint(self) -> QSize:
        return HINT

    def show_result(self, result: CardiacResult, sex: str) -> None:
        lines: list[tuple[str, ...]] = []
        for side, v in (("lv", result.lv), ("rv", result.rv)):
            lines.append((f"{side.upper()} (ED {v.ed_phase}, ES {v.es_phase})", "", "", "", ""))
            lines += rows(v, side, sex)
        hr = result.lv.heart_rate_bpm
        lines.append(("Heart rate (/min)", "-" if hr is None else f"{hr:.0f}", "", "", ""))
        lines.append(("BSA (m2)", "-" if result.lv.bsa_m2 is None else f"{result.lv.bsa_m2:.2f}", "", "", ""))
        self.setRowCount(len(lines))
        for r, line in enumerate(lines):
            for c, text in enumerate(line):
                item = QTableWidgetItem(text)
                if c == 0 and not line[1]:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if line[4] in FLAG_COLOURS and c in (1, 4):
                    item.setForeground(QBrush(FLAG_COLOURS[line[4]]))
                self.setItem(r, c, item)
        self.setToolTip("Normal ranges: " + " | ".join(reference.sources_used()))


class BullseyeView(pg.GraphicsLayoutWidget):
    """The AHA 17-segment bull's-eye of systolic wall thickening."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("AHA 17-segment bull's-eye of systolic wall thickening")
        self.box = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False, enableMouse=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.rgb: Optional[np.ndarray] = None

    def sizeHint(self) -> QSize:
        return HINT

    def show_result(self, result: CardiacResult) -> None:
        self.rgb = render(result.segments, 300)
        self.image_item.setImage(self.rgb, autoLevels=False, levels=(0, 255))
