"""The coronary CTA dock: vessel points (clicked or typed), run, stenosis table, vessel views, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.analyses.coronary_cta import logic
from workstation.analyses.coronary_cta.artifacts import ARTIFACTS
from workstation.analyses.coronary_cta.panel_views import VesselViews
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.points import format_vessel, parse_vessel
from workstation.analyses.coronary_cta.prepare import with_study
from workstation.analyses.coronary_cta.result import CoronaryResult
from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls
from workstation.core.overlays import LabelOverlay
from workstation.core.volume import Volume

OVERLAY_KEY = "coronary-cta"
CONTROLS = ("diameter_measure", "min_stenosis_percent", "calcium_sd", "fat_hu", "wall_mm", "section_radius_mm",
            "sigma_min_mm", "sigma_max_mm", "lumen_threshold_hu")
EXPORT = ("report", "profile", "json")
VESSEL_COLOURS = ((244, 67, 54), (33, 150, 243), (76, 175, 80), (255, 193, 7), (156, 39, 176), (0, 188, 212),
                  (255, 112, 67), (205, 220, 57))


class PointsTable(QTableWidget):
    """One row per vessel to trace: its name (optional) and its points in patient mm."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Name", "Points x,y,z (mm): ostium; ...; distal end"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.setMaximumHeight(120)
        self.setAccessibleName("Vessel points")

    def add_vessel(self, name: str = "", text: str = "") -> int:
        row = self.rowCount()
        self.insertRow(row)
        self.setItem(row, 0, QTableWidgetItem(name))
        self.setItem(row, 1, QTableWidgetItem(text))
        self.selectRow(row)
        return row

    def add_point(self, point_mm: tuple[float, float, float]) -> None:
        """Append a point to the selected vessel (a new vessel when none is selected)."""
        row = self.currentRow() if self.currentRow() >= 0 else self.add_vessel()
        item = self.item(row, 1)
        text = item.text().strip() if item is not None else ""
        point = ",".join(f"{c:.1f}" for c in point_mm)
        self.setItem(row, 1, QTableWidgetItem(f"{text}; {point}" if text else point))

    def vessels(self) -> tuple[tuple[str, ...], tuple[tuple[tuple[float, float, float], ...], ...]]:
        """Names and points of every row with points (``ValueError`` naming the row for bad text)."""
        names, points = [], []
        for row in range(self.rowCount()):
            text = (self.item(row, 1).text() if self.item(row, 1) is not None else "").strip()  # type: ignore[union-attr]
            if not text:
                continue
            try:
                points.append(parse_vessel(text))
            except ValueError as exc:
                raise ValueError(f"vessel {row + 1}: {exc}") from None
            names.append((self.item(row, 0).text() if self.item(row, 0) is not None else "").strip())  # type: ignore[union-attr]
        return tuple(names), tuple(points)


class StenosisTable(QTableWidget):
    """Every stenosis of a result; selecting a row shows it in the views."""

    HEADERS = ("Vessel", "At mm", "% diam.", "% area", "Grade", "Length", "Plaque")

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAccessibleName("Stenoses")
        self.rows: list[tuple[int, float]] = []

    def show_result(self, result: Optional[CoronaryResult]) -> None:
        self.setRowCount(0)
        self.rows = []
        for k, v in enumerate(result.vessels if result is not None else ()):
            for st in v.stenoses:
                row = self.rowCount()
                self.insertRow(row)
                cells = (v.name, f"{st.position_mm:.1f}", f"{st.percent_diameter:.0f}", f"{st.percent_area:.0f}",
                         st.grade, f"{st.length_mm:.1f}", st.plaque)
                for col, text in enumerate(cells):
                    self.setItem(row, col, QTableWidgetItem(text))
                self.rows.append((k, st.position_mm))


class CoronaryPanel(QWidget, PanelExport):
    """Dock widget for coronary CT angiography on the loaded CT."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.result: Optional[CoronaryResult] = None
        self._volume: Optional[Volume] = None
        self.job: Any = None
        self._build()
        context.volume_changed.connect(self._on_volume)
        context.voxel_clicked.connect(self._on_click)
        self._on_volume(context.volume)

    # -- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        self.points = PointsTable()
        self.add_button = QPushButton("Add vessel")
        self.add_button.clicked.connect(lambda: self.points.add_vessel())
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self.points.removeRow(self.points.currentRow()))
        self.pick_button = QPushButton("Pick points")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("With the viewer's Pick tool (P), each click adds a point to the selected vessel")
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.pick_button):
            buttons.addWidget(b)
        hint = QLabel("Click the ostium, any waypoints and the distal end with the Pick tool, or type them. "
                      "No points: the vessels are found from the aortic root.")
        hint.setWordWrap(True)
        self.controls: ParamControls[CoronaryParams] = ParamControls(CoronaryParams, CONTROLS)
        form = QWidget()
        form.setLayout(self.controls.form)
        form.setVisible(False)
        params_box = QGroupBox("Parameters")
        params_box.setCheckable(True)
        params_box.setChecked(False)
        params_box.toggled.connect(form.setVisible)
        QVBoxLayout(params_box).addWidget(form)
        self.run_button = QPushButton("Trace and measure")
        self.run_button.clicked.connect(self.start)
        self.status = QLabel("Load a coronary CT angiogram.")
        self.status.setWordWrap(True)
        self.cad_rads = QLabel("")
        self.stenoses = StenosisTable()
        self.stenoses.itemSelectionChanged.connect(self._on_stenosis)
        export_row = self.export_row("Export PDF + CSV + JSON")
        setup = QWidget()
        column = QVBoxLayout(setup)
        column.addWidget(self.points)
        column.addLayout(buttons)
        column.addWidget(hint)
        column.addWidget(params_box)
        column.addWidget(self.run_button)
        column.addWidget(self.status)
        column.addWidget(self.cad_rads)
        column.addWidget(self.stenoses, 1)
        column.addLayout(export_row)
        self.views = VesselViews()
        self.views.position_changed.connect(self._on_position)
        self.views.renamed.connect(self.rename)
        self.tabs = QTabWidget()
        self.tabs.addTab(setup, "Vessels")
        self.tabs.addTab(self.views, "Views")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs)
        self._show()

    # -- model -> view --------------------------------------------------------------
    def _on_volume(self, volume: Optional[Volume]) -> None:
        self.result, self._volume = None, None
        self.run_button.setEnabled(volume is not None)
        self._show()

    def _show(self) -> None:
        r = self.result
        self.stenoses.show_result(r)
        self.views.set_result(r, self._volume)
        self.export_button.setEnabled(r is not None)
        if r is None:
            self.cad_rads.setText("")
            return
        self.cad_rads.setText(f"<b>CAD-RADS {r.cad_rads}</b> ({len(r.vessels)} vessels, {r.method})")
        self._publish_overlay()

    def _publish_overlay(self) -> None:
        volume = self.context.volume
        if self.result is None or volume is None or self._volume is None or volume.shape != self._volume.shape:
            return
        labels = np.zeros(volume.shape, dtype=np.uint8)
        shape = np.asarray(volume.shape)
        for k, v in enumerate(self.result.vessels[:255], start=1):
            idx = np.rint(volume.patient_to_index(v.centreline_mm)).astype(int)
            for dz, dy, dx in np.ndindex(2, 2, 2):  # two voxels thick, visible in 2D and as a tube in 3D
                p = np.clip(idx + (dz, dy, dx), 0, shape - 1)
                labels[p[:, 0], p[:, 1], p[:, 2]] = k
        colours = {k: VESSEL_COLOURS[(k - 1) % len(VESSEL_COLOURS)] for k in range(1, len(self.result.vessels) + 1)}
        names = {k: v.name for k, v in enumerate(self.result.vessels, start=1)}
        self.context.set_overlay(OVERLAY_KEY, LabelOverlay(labels=labels, colors=colours, names=names, opacity=0.9))

    # -- view -> model --------------------------------------------------------------
    def params(self) -> CoronaryParams:
        """The parameters shown, with the vessels of the points table (``ValueError`` for bad points)."""
        names, points = self.points.vessels()
        return self.controls.params(points=points, names=names)

    def start(self) -> None:
        """Trace and measure the vessels of the loaded CT in a background job."""
        if self.context.volume is None:
            return
        try:
            params = self.params()
        except ValueError as exc:
            self.show_problem(str(exc))
            return
        volume = with_study(self.context.volume, self.context.study)
        self.run_button.setEnabled(False)
        self.status.setText("Tracing..." if params.points else "Finding the coronary trees from the aortic root...")
        self.job = self.context.run_job(
            "Coronary CTA", lambda backend, progress: logic.run(volume, params, backend, progress),
            on_done=lambda result: self._on_done(result, volume), on_error=self._on_error)

    def _on_done(self, result: CoronaryResult, volume: Volume) -> None:
        self.result, self._volume = result, volume
        self.run_button.setEnabled(True)
        notes = "; ".join(result.warnings)
        self.status.setText(f"{len(result.vessels)} vessels on {result.device}." + (f" {notes}" if notes else ""))
        if result.method == "automatic":  # the vessels found, as points the user can move and trace again
            self.points.setRowCount(0)
            for v in result.vessels:
                self.points.add_vessel(v.name, format_vessel(v.points_mm))
        self._show()
        if result.vessels:
            self.tabs.setCurrentWidget(self.views)

    def _on_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f"Coronary CTA failed: {message}")
        self.context.notify("Coronary CTA", message)

    def _on_click(self, index_zyx: object) -> None:
        volume = self.context.volume
        if not self.pick_button.isChecked() or volume is None:
            return
        x, y, z = (float(c) for c in volume.index_to_patient(tuple(index_zyx)))  # type: ignore[arg-type]
        self.points.add_point((x, y, z))

    def rename(self, index: int, name: str) -> None:
        """Give vessel ``index`` the user's name (tables, views, overlay and export follow)."""
        if self.result is None:
            return
        self.result = self.result.renamed(index, name)
        self._show()

    def _on_stenosis(self) -> None:
        row = self.stenoses.currentRow()
        if not 0 <= row < len(self.stenoses.rows):
            return
        index, position = self.stenoses.rows[row]
        self.views.vessel_combo.setCurrentIndex(index)
        self.views.set_position(position)

    def _on_position(self, index: int, position_mm: float) -> None:
        """Centre the viewers on the vessel at ``position_mm`` (the plot, an MPR or a table row moved it)."""
        volume = self.context.volume
        if self.result is None or volume is None or not 0 <= index < len(self.result.vessels):
            return
        v = self.result.vessels[index]
        point = v.centreline_mm[v.section_at(position_mm)]
        zyx = np.clip(np.rint(volume.patient_to_index(point)).astype(int), 0, np.asarray(volume.shape) - 1)
        self.context.focus((int(zyx[0]), int(zyx[1]), int(zyx[2])))

    # -- export ---------------------------------------------------------------------
    def export_to(self, folder: Path) -> list[Path]:
        """Write the PDF report, the profile CSV and the JSON into ``folder`` (never a source folder)."""
        if self.result is None or self._volume is None:
            return []
        paths = ARTIFACTS.write(self.result, self._volume, folder, names=EXPORT, study=self.context.study)
        self.status.setText(f"Exported to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.context.notify("Coronary CTA", text)
