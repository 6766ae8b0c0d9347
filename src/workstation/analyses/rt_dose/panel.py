"""RT dose dock: dose display, structures, DVHs and metrics, and fluence optimisation of the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox, QColorDialog, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton,
    QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls, checked_keys
from workstation.analyses.rt_dose.artifacts import ARTIFACTS, PLAN_ARTIFACTS
from workstation.analyses.rt_dose.display import (
    ISODOSE_PCT, DoseDisplay, dose_wash, isodose_lines, prepare_display, structure_outlines,
)
from workstation.analyses.rt_dose.panel_plan import PlanTab
from workstation.analyses.rt_dose.dvh import Dvh
from workstation.analyses.rt_dose.params import RtDoseParams
from workstation.analyses.rt_dose.prepare import RtDoseInputs
from workstation.analyses.rt_dose.result import RtDoseResult
from workstation.core.overlays import Overlay

KEYS = {"wash": "rt-dose/wash", "isodose": "rt-dose/isodose", "structures": "rt-dose/structures"}
COLUMNS = ("Show", "Colour", "Structure", "Type", "Volume cc", "D95 Gy", "Mean Gy", "Max Gy")


class RtDosePanel(QWidget, PanelExport):
    """Dock widget of the RT dose analysis (logic in :mod:`.logic`, :mod:`.plan`)."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.result: Optional[RtDoseResult] = None
        self.inputs: Optional[RtDoseInputs] = None
        self.display: Optional[DoseDisplay] = None
        self.colours: dict[int, tuple[int, int, int]] = {}
        self._job: Any = None
        self.tabs = QTabWidget()
        self.status = QLabel("Load a study with an RT structure set and dose, then Compute.")
        self.status.setWordWrap(True)
        self.controls: ParamControls[RtDoseParams] = ParamControls(
            RtDoseParams, ("bin_width_gy", "subsample", "z_subsample", "prescription_gy"))
        self.run_button = QPushButton("Compute DVHs")
        self.export_button = QPushButton("Export DVH CSV and PDF...")
        self._build_dose_tab()
        self._build_structures_tab()
        self._build_dvh_tab()
        self.plan_tab = PlanTab(context, self)
        self.tabs.addTab(self.plan_tab, "Plan")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.setMinimumWidth(380)
        self.run_button.clicked.connect(self.start)
        self.export_button.clicked.connect(self._choose_export)
        self.plan_tab.plan_ready.connect(self._plan_ready)
        context.study_changed.connect(self._study_changed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt naming
        return QSize(430, 640)  # leaves the viewers most of a 1366 x 768 screen

    # -- construction ---------------------------------------------------------------
    def _build_dose_tab(self) -> None:
        tab = QWidget()
        form = QFormLayout(tab)
        form.addRow(self.controls.form)
        self.vmin = _spin(0.0, 500.0, 0.0, " Gy")
        self.vmax = _spin(0.0, 500.0, 1.0, " Gy")
        self.opacity = QSpinBox()
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity.setSuffix(" %")
        form.addRow("Wash from", self.vmin)
        form.addRow("Wash to", self.vmax)
        form.addRow("Opacity", self.opacity)
        row = QHBoxLayout()
        self.isodose_checks = {}
        for pct in ISODOSE_PCT:
            box = QCheckBox(f"{pct:g}%")
            box.setChecked(True)
            box.toggled.connect(self.publish)
            self.isodose_checks[pct] = box
            row.addWidget(box)
        form.addRow("Isodose", row)
        self.show_wash = QCheckBox("Dose wash")
        self.show_wash.setChecked(True)
        form.addRow(self.show_wash)
        form.addRow(self.run_button)
        form.addRow(self.export_button)
        for w in (self.vmin, self.vmax):
            w.valueChanged.connect(self.publish)
        self.opacity.valueChanged.connect(self.publish)
        self.show_wash.toggled.connect(self.publish)
        self.tabs.addTab(tab, "Dose")

    def _build_structures_tab(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._item_changed)
        self.table.cellDoubleClicked.connect(self._pick_colour)
        self.tabs.addTab(self.table, "Structures")

    def _build_dvh_tab(self) -> None:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.plot = pg.PlotWidget(title="Cumulative DVH")
        self.plot.setLabel("bottom", "dose", units="Gy")
        self.plot.setLabel("left", "volume", units="%")
        self.plot.addLegend(offset=(-5, 5))
        self.plot.setMinimumHeight(220)
        self.dose_axis = QComboBox()
        self.dose_axis.addItems(["Gy", "% of prescription"])
        self.volume_axis = QComboBox()
        self.volume_axis.addItems(["% volume", "cm3"])
        self.curve_kind = QComboBox()
        self.curve_kind.addItems(["cumulative", "differential"])
        axes = QHBoxLayout()
        for combo in (self.curve_kind, self.dose_axis, self.volume_axis):
            combo.currentIndexChanged.connect(self.plot_dvhs)
            axes.addWidget(combo)
        self.metrics = QTableWidget(0, 7)
        self.metrics.setHorizontalHeaderLabels(["Structure", "D98", "D95", "D50", "D2", "HI", "CI"])
        self.metrics.verticalHeader().setVisible(False)
        self.csv_button = QPushButton("Export CSV...")
        self.csv_button.clicked.connect(self._choose_export)
        layout.addLayout(axes)
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.metrics, 2)
        layout.addWidget(self.csv_button)
        self.tabs.addTab(tab, "DVH")

    # -- running --------------------------------------------------------------------
    def start(self) -> None:
        """Compute the DVHs of the loaded study's plan and prepare the display (a background job)."""
        study, volume = self.context.study, self.context.volume
        if study is None or self._job is not None:
            return
        from workstation.analyses.rt_dose.logic import run
        from workstation.analyses.rt_dose.prepare import prepare

        try:
            params = self.controls.params()
        except ValueError as exc:
            self.show_problem(str(exc))
            return

        def work(backend: Any, progress: Any) -> tuple[RtDoseInputs, RtDoseResult, Optional[DoseDisplay]]:
            inputs = prepare(study, progress)
            result = run(inputs, params, backend, progress)
            shown = prepare_display(inputs.structure_set, inputs.grid, volume, backend) if volume is not None else None
            return inputs, result, shown

        self.run_button.setEnabled(False)
        self.status.setText("Computing DVHs...")
        self._job = self.context.run_job("RT dose DVHs", work, self._on_done, self._on_error)

    def _on_error(self, message: str) -> None:
        self._job = None
        self.run_button.setEnabled(True)
        self.show_problem(f"RT dose failed: {message}")

    def _on_done(self, payload: tuple[RtDoseInputs, RtDoseResult, Optional[DoseDisplay]]) -> None:
        self._job = None
        self.run_button.setEnabled(True)
        self.inputs, self.result, self.display = payload
        self.colours = {s.number: s.colour for s in self.result.structures}
        rx = self.result.prescription_gy or self.result.dose_max_gy
        for w, v in ((self.vmin, 0.2 * rx), (self.vmax, max(1.05 * self.result.dose_max_gy, 0.01))):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self._fill_tables()
        self.plot_dvhs()
        self.publish()
        self.plan_tab.set_study(self.context.study, self.inputs)
        self.status.setText("; ".join([f"{len(self.result.structures)} structures on {self.result.device}",
                                       *self.result.warnings[:3]]))

    # -- tables and plot ------------------------------------------------------------
    def _fill_tables(self) -> None:
        assert self.result is not None
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.result.structures))
        self.metrics.setRowCount(len(self.result.structures))
        for row, s in enumerate(self.result.structures):
            show = QTableWidgetItem()
            show.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            show.setCheckState(Qt.CheckState.Checked)
            show.setData(Qt.ItemDataRole.UserRole, s.number)
            self.table.setItem(row, 0, show)
            swatch = QTableWidgetItem("")
            swatch.setBackground(QColor(*self.colours[s.number]))
            swatch.setFlags(Qt.ItemFlag.ItemIsEnabled)
            swatch.setToolTip("Double-click to change the colour")
            self.table.setItem(row, 1, swatch)
            m = s.metrics
            for col, text in enumerate((s.name, s.roi_type, f"{m.volume_cc:.1f}", f"{m.d(95.0):.2f}",
                                        f"{m.mean_gy:.2f}", f"{m.max_gy:.2f}"), start=2):
                self.table.setItem(row, col, _cell(text))
            hi = f"{m.homogeneity_index:.3f}" if s.is_target else "-"
            ci = f"{s.conformity_index:.3f}" if s.conformity_index is not None else "-"
            for col, text in enumerate((s.name, f"{m.d(98.0):.2f}", f"{m.d(95.0):.2f}", f"{m.d(50.0):.2f}",
                                        f"{m.d(2.0):.2f}", hi, ci)):
                self.metrics.setItem(row, col, _cell(text))
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self.metrics.resizeColumnsToContents()

    def visible_structures(self) -> frozenset[int]:
        """Numbers of the structures whose Show box is ticked."""
        return checked_keys(self.table)

    def curve(self, dvh: Dvh) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(x, y)`` of a DVH as the axis choices ask: Gy or % of prescription; cm3 or %; cumulative or per bin."""
        rx = (self.result.prescription_gy if self.result is not None else None) or 0.0
        x = dvh.dose_gy * (100.0 / rx) if self.dose_axis.currentIndex() == 1 and rx > 0 else dvh.dose_gy
        y = dvh.differential_cc() if self.curve_kind.currentIndex() == 1 else dvh.cumulative_cc
        if self.volume_axis.currentIndex() == 0:
            y = y / dvh.volume_cc * 100.0 if dvh.volume_cc > 0 else y * 0.0
        return x, y

    def plot_dvhs(self) -> None:
        """Our DVHs (solid), the planning system's (dotted) and the optimised plans' (dashed)."""
        self.plot.clear()
        if self.result is None:
            return
        percent_rx = self.dose_axis.currentIndex() == 1 and bool(self.result.prescription_gy)
        self.plot.setLabel("bottom", "dose", units="% Rx" if percent_rx else "Gy")
        self.plot.setLabel("left", "volume", units="%" if self.volume_axis.currentIndex() == 0 else "cm3")
        shown = self.visible_structures()
        embedded = {d.referenced_roi_number: d for d in self.inputs.dose.dvhs} if self.inputs is not None else {}
        for s in self.result.structures:
            if s.number not in shown:
                continue
            colour = self.colours[s.number]
            self.plot.plot(*self.curve(s.dvh), pen=pg.mkPen(colour, width=2), name=s.name)
            theirs = embedded.get(s.number)
            if theirs is not None and s.embedded is not None:
                dose, volume = theirs.cumulative()
                self.plot.plot(*self.curve(Dvh(dose, volume)), pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DotLine))
        for i, run in enumerate(self.plan_tab.runs()):
            style = Qt.PenStyle.DashLine if i == 0 else Qt.PenStyle.DashDotLine
            for s in run.structures:
                if s.number in shown:
                    self.plot.plot(*self.curve(s.dvh),
                                   pen=pg.mkPen(self.colours.get(s.number, s.colour), width=1, style=style))

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.publish()
            self.plot_dvhs()

    def _pick_colour(self, row: int, col: int) -> None:
        if col != 1 or self.result is None:
            return
        number = self.result.structures[row].number
        chosen = QColorDialog.getColor(QColor(*self.colours[number]), self, "Structure colour")
        if chosen.isValid():
            self.set_colour(number, (chosen.red(), chosen.green(), chosen.blue()))

    def set_colour(self, number: int, rgb: tuple[int, int, int]) -> None:
        """Give structure ``number`` a display colour (outline, surface, DVH curve)."""
        self.colours[number] = rgb
        if self.result is not None:
            for row, s in enumerate(self.result.structures):
                swatch = self.table.item(row, 1)
                if s.number == number and swatch is not None:
                    swatch.setBackground(QColor(*rgb))
        self.publish()
        self.plot_dvhs()

    # -- overlays -------------------------------------------------------------------
    def overlays(self) -> dict[str, Optional[Overlay]]:
        """What the panel shows in the viewers now (``None``: removed)."""
        if self.display is None or self.result is None or self.context.volume is None \
                or self.display.dose.shape != self.context.volume.shape:
            return {k: None for k in KEYS.values()}
        rx = self.result.prescription_gy or self.result.dose_max_gy
        levels = tuple(p for p, box in self.isodose_checks.items() if box.isChecked())
        wash = dose_wash(self.display, self.vmin.value(), max(self.vmax.value(), self.vmin.value() + 0.01),
                         self.opacity.value() / 100.0) if self.show_wash.isChecked() else None
        return {KEYS["wash"]: wash, KEYS["isodose"]: isodose_lines(self.display, rx, levels) if levels else None,
                KEYS["structures"]: structure_outlines(self.display, self.visible_structures(), self.colours)}

    def publish(self) -> None:
        for key, overlay in self.overlays().items():
            self.context.set_overlay(key, overlay)

    def _plan_ready(self) -> None:
        self.plot_dvhs()

    def _study_changed(self, _study: Any) -> None:
        self.result = self.inputs = self.display = None
        self.table.setRowCount(0)
        self.metrics.setRowCount(0)
        self.plot.clear()
        self.plan_tab.set_study(None, None)

    # -- export ---------------------------------------------------------------------
    def _choose_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export DVHs to folder")
        if folder:
            self.export(Path(folder))

    def export_to(self, folder: Path) -> list[Path]:
        """DVH and metrics CSV and the PDF report (and the optimised plan's RTDOSE when there is one)."""
        if self.result is None or self.inputs is None:
            return []
        paths = ARTIFACTS.write(self.result, self.inputs, folder, names=("dvh", "report"), study=self.context.study)
        plan = self.plan_tab.plan_result
        if plan is not None and self.plan_tab.plan_inputs is not None:
            paths += PLAN_ARTIFACTS.write(plan, self.plan_tab.plan_inputs, folder, study=self.context.study)
        self.status.setText(f"Exported {len(paths)} files to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.context.notify("RT dose", text)


def _spin(lo: float, hi: float, value: float, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setDecimals(2)
    spin.setSingleStep(0.5)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


def _cell(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    return item


