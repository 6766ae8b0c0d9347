"""Perfusion dock: load the dynamic series, inspect curves, pick the AIF, run, show maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls
from workstation.analyses.perfusion.artifacts import ARTIFACTS
from workstation.analyses.perfusion.logic import run, voxel_signals
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.analyses.perfusion.prepare import prepare
from workstation.analyses.perfusion.report import RANGES
from workstation.analyses.perfusion.result import MAP_INFO, MAP_NAMES, PerfusionResult
from workstation.core.overlays import Roi, ScalarOverlay
from workstation.core.progress import Partial
from workstation.core.volume import VolumeSeries

OVERLAY_KEY = "perfusion"
IDLE_TEXT = "Load a dynamic series."
EXPORT = ("maps", "report", "dicom")


class PerfusionPanel(QWidget, PanelExport):
    """Dock widget of the perfusion analysis (logic in :mod:`.logic`)."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.series: Optional[VolumeSeries] = None
        self.result: Optional[PerfusionResult] = None
        self.partial_maps: Optional[dict[str, np.ndarray]] = None  # slabs finished by a running job
        self.aif_voxels: tuple[tuple[int, int, int], ...] = ()
        self.vof_voxels: tuple[tuple[int, int, int], ...] = ()
        self._study: Any = context.study
        self.load_button = QPushButton("Load dynamic series")
        self.curve_plot = pg.PlotWidget(title="ROI time-intensity")
        self.curve_plot.setLabel("bottom", "time", units="s")
        self.roi_curve = self.curve_plot.plot([], [], pen=pg.mkPen("y", width=2), name="ROI")
        self.input_plot = pg.PlotWidget(title="AIF (red) / VOF (blue)")
        self.aif_curve = self.input_plot.plot([], [], pen=pg.mkPen("r", width=2))
        self.vof_curve = self.input_plot.plot([], [], pen=pg.mkPen("b", width=2))
        self.aif_auto = QPushButton("Auto AIF/VOF")
        self.aif_from_roi = QPushButton("AIF from ROI")
        self.vof_from_roi = QPushButton("VOF from ROI")
        self.controls: ParamControls[PerfusionParams] = ParamControls(
            PerfusionParams, ("method", "threshold", "smoothing_mm"))
        self.method, self.threshold, self.smoothing = (self.controls[n] for n in ("method", "threshold", "smoothing_mm"))
        self.run_button = QPushButton("Run")
        self.map_choice = QComboBox()
        self.map_choice.addItems(list(MAP_NAMES))
        self.vmin = _spin(-1000.0, 1000.0, 0.0, 2)
        self.vmax = _spin(-1000.0, 1000.0, 1.0, 2)
        self.curve_plot.setAccessibleName("ROI time-intensity curve")
        self.input_plot.setAccessibleName("Arterial input and venous output curves")
        self.vmin.setAccessibleName("Map colour scale minimum")
        self.vmax.setAccessibleName("Map colour scale maximum")
        self.summary = QLabel(IDLE_TEXT)
        self.summary.setWordWrap(True)
        self.export_button = QPushButton("Export maps and PDF...")
        self._layout()
        self.load_button.clicked.connect(self.load)
        self.aif_auto.clicked.connect(self._auto_aif)
        self.aif_from_roi.clicked.connect(lambda: self._take_roi("aif"))
        self.vof_from_roi.clicked.connect(lambda: self._take_roi("vof"))
        self.run_button.clicked.connect(self.start)
        self.map_choice.currentTextChanged.connect(self._map_changed)
        self.vmin.valueChanged.connect(self.show_map)
        self.vmax.valueChanged.connect(self.show_map)
        self.export_button.clicked.connect(self._choose_export_folder)
        context.roi_changed.connect(self.show_roi_curve)
        context.study_changed.connect(self._study_changed)
        self._update_enabled()

    def _layout(self) -> None:
        form = self.controls.form
        aif_row = QHBoxLayout()
        for b in (self.aif_auto, self.aif_from_roi, self.vof_from_roi):
            aif_row.addWidget(b)
        map_row = QHBoxLayout()
        for w in (self.map_choice, QLabel("min"), self.vmin, QLabel("max"), self.vmax):
            map_row.addWidget(w)
        box = QVBoxLayout(self)
        box.addWidget(self.load_button)
        box.addWidget(self.curve_plot)
        box.addWidget(self.input_plot)
        box.addLayout(aif_row)
        box.addLayout(form)
        box.addWidget(self.run_button)
        box.addLayout(map_row)
        box.addWidget(self.summary)
        box.addWidget(self.export_button)

    def _update_enabled(self) -> None:
        loaded = self.series is not None
        for w in (self.run_button, self.aif_auto, self.aif_from_roi, self.vof_from_roi):
            w.setEnabled(loaded)
        self.export_button.setEnabled(self.result is not None)

    def _study_changed(self, study: Any) -> None:
        if study is not self._study:  # a new study: what was loaded and shown belongs to the old one
            self._study = study
            self.series, self.result, self.aif_voxels, self.vof_voxels = None, None, (), ()
            for curve in (self.roi_curve, self.aif_curve, self.vof_curve):
                curve.setData([], [])
            self.summary.setText(IDLE_TEXT)
            self._update_enabled()

    # -- loading ------------------------------------------------------------------
    def load(self) -> None:
        """Load the study's dynamic series in a job."""
        study = self.context.study
        if study is None:
            self.summary.setText("Open a study with a dynamic CT/MR series first.")
            return
        self.context.run_job("Load perfusion series", lambda _b, p: prepare(study, p), self.set_series, self._error)

    def set_series(self, series: VolumeSeries) -> None:
        """Hold ``series``; show its first time point when the viewers show another grid."""
        volume = self.context.volume
        if volume is None or volume.shape != series.reference.shape:
            self.context.set_loaded(self.context.study, self.context.series, series.reference)
        self.series = series
        self.summary.setText(f"{len(series.times)} time points over {series.times[-1]:.1f} s. Draw an ROI or run.")
        self._update_enabled()
        self.show_roi_curve(self.context.roi)

    def _error(self, message: str) -> None:
        if self.partial_maps is not None:  # the slabs of a run that failed are no result
            self.partial_maps = None
            self.context.set_overlay(OVERLAY_KEY, None)
        self.summary.setText(f"Failed: {message}")
        self.context.notify("Perfusion", message)

    # -- curves ---------------------------------------------------------------------
    def roi_mean_curve(self, roi: Roi) -> np.ndarray:
        """Mean signal of the ROI at every time point (signal units, HU for CT)."""
        assert self.series is not None
        z, y, x = roi.voxel_indices()
        return voxel_signals(self.series, np.stack([z, y, x], axis=1)).mean(axis=0)

    def show_roi_curve(self, roi: Optional[Roi]) -> None:
        if self.series is None or roi is None or not roi.mask.any():
            self.roi_curve.setData([], [])
            return
        self.roi_curve.setData(np.asarray(self.series.times), self.roi_mean_curve(roi))

    def _roi_voxels(self) -> tuple[tuple[int, int, int], ...]:
        roi = self.context.roi
        if roi is None or not roi.mask.any():
            return ()
        return tuple((int(z), int(y), int(x)) for z, y, x in zip(*roi.voxel_indices()))

    def _take_roi(self, which: str) -> None:
        voxels = self._roi_voxels()
        if not voxels:
            self.summary.setText("Draw an ROI on the vessel first.")
            return
        if which == "aif":
            self.aif_voxels = voxels
        else:
            self.vof_voxels = voxels
        self.summary.setText(f"{which.upper()} set from {len(voxels)} ROI voxels; run to apply.")

    def _auto_aif(self) -> None:
        self.aif_voxels, self.vof_voxels = (), ()
        self.summary.setText("Automatic AIF and VOF; run to apply.")

    # -- running ------------------------------------------------------------------
    def params(self) -> PerfusionParams:
        osvd = self.controls.value("method") == "osvd"
        threshold = None if osvd else self.controls.value("threshold")
        return self.controls.params(threshold=threshold, aif_voxels=self.aif_voxels, vof_voxels=self.vof_voxels)

    def start(self) -> None:
        """Compute the maps of the loaded dynamic series in a background job."""
        if self.series is None:
            return
        series, params = self.series, self.params()
        self.result, self.partial_maps = None, None
        self.context.run_job("Perfusion maps", lambda b, p: run(series, params, b, p), self.show_result, self._error,
                             self.show_partial)

    def show_partial(self, partial: Partial) -> None:
        """Fill the overlay with a finished slab of maps while the rest is computed."""
        if partial.kind != "slab" or self.series is None or self.result is not None:
            return
        shape = self.series.reference.shape
        if self.partial_maps is None:
            self.partial_maps = {name: np.full(shape, np.nan, np.float32) for name in MAP_NAMES}
        for name in MAP_NAMES:
            self.partial_maps[name][partial.slices()] = partial.values[name]
        (z0, z1), done = partial.region[0], int(np.isfinite(self.partial_maps["cbf"]).any(axis=(1, 2)).sum())
        self.summary.setText(f"Computing: slices {z0 + 1}-{z1} of {shape[0]} done ({done} with tissue)")
        self.show_map()

    def show_result(self, result: PerfusionResult) -> None:
        self.result, self.partial_maps = result, None
        t = np.asarray(result.times)
        self.aif_curve.setData(t, result.aif.curve)
        self.vof_curve.setData(t, result.vof.curve if result.vof is not None else np.zeros(0))
        if result.vof is None:
            self.vof_curve.setData([], [])
        s = result.summary
        ratio = "n/a" if s.mismatch_ratio is None else f"{s.mismatch_ratio:.1f}"
        self.summary.setText(
            f"Tmax>{s.tmax_threshold_s:g}s: {s.hypoperfused_ml:.1f} ml | core (rCBF<{100 * s.rcbf_threshold:.0f}%): "
            f"{s.core_ml:.1f} ml | mismatch {s.mismatch_ml:.1f} ml, ratio {ratio} | {result.device}"
            + "".join(f"\n{w}" for w in result.warnings)
        )
        self._update_enabled()
        self._map_changed(self.map_choice.currentText())

    def _map_changed(self, name: str) -> None:
        lo, hi = RANGES[name]
        for spin, value in ((self.vmin, lo), (self.vmax, hi)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.show_map()

    def show_map(self) -> None:
        """Publish the selected map (of the result, or of the slabs done so far) as a colour-mapped overlay."""
        maps = self.result.maps if self.result is not None else self.partial_maps
        if maps is None:
            return
        name = self.map_choice.currentText()
        title, unit = MAP_INFO[name]
        self.context.set_overlay(OVERLAY_KEY, ScalarOverlay(
            values=maps[name], vmin=self.vmin.value(), vmax=max(self.vmax.value(), self.vmin.value() + 1e-6),
            colormap="jet", unit=unit, title=title))

    # -- export -----------------------------------------------------------------------
    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export perfusion maps to")
        if folder:
            self.export(Path(folder))

    def export_to(self, folder: Path) -> list[Path]:
        """NIfTI maps, derived DICOM series and the PDF into ``folder`` (never a source folder)."""
        if self.result is None or self.series is None:
            raise ValueError("run the analysis before exporting")
        paths = ARTIFACTS.write(self.result, self.series, folder, names=EXPORT, study=self.context.study)
        self.summary.setText(self.summary.text() + f"\nExported {len(paths)} files to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self._error(text)


def _spin(lo: float, hi: float, value: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setDecimals(decimals)
    spin.setSingleStep(10 ** -decimals * 5 if decimals > 1 else 0.5)
    spin.setValue(value)
    return spin
