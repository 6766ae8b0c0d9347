"""Cardiac function dock: run on the study's cine, read the curve and table, correct contours, limits, ED/ES.

Run loads the short-axis cine and segments it in a background job.  Corrections
(dragging a contour handle, moving the ED or ES marker, setting slice limits) are
measured again in a job from the labels on hand, without the network.  Export writes
the PDF, the DICOM SR, the curve, the ED/ES labels and the JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QTabWidget, QVBoxLayout, QWidget,
)

from workstation.analyses.cardiac_function.artifacts import ARTIFACTS
from workstation.analyses.cardiac_function.logic import remeasure, run
from workstation.analyses.cardiac_function.panel_cine import CineView
from workstation.analyses.cardiac_function.panel_views import BullseyeView, CurveView, ResultsTable
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import CineInput, prepare
from workstation.analyses.cardiac_function.report import COLOURS
from workstation.analyses.cardiac_function.result import CardiacResult
from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls
from workstation.core.overlays import LabelOverlay
from workstation.report.images import percentile_window

OVERLAY_KEY = "cardiac-function"
EXPORT = ("report", "sr", "curve", "labels", "json")
LIMITS = ("ed_phase", "es_phase", "basal_slice_ed", "apical_slice_ed", "basal_slice_es", "apical_slice_es",
          "basal_coverage")
TASK = "segmentation-2d"


class CardiacPanel(QWidget, PanelExport):
    """Dock widget of the cardiac function analysis (logic in :mod:`.logic`)."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.cine: Optional[CineInput] = None
        self.result: Optional[CardiacResult] = None
        self.labels: Optional[np.ndarray] = None
        self.edited: set[tuple[int, int]] = set()
        self._study: Any = context.study
        self._entry: Any = None
        self._device = "cpu"
        self.run_button = QPushButton("Run")
        self.model_choice = QComboBox()
        self.summary = QLabel("Open a study with a short-axis cine and run.")
        self.summary.setWordWrap(True)
        self.cine_view = CineView()
        self.curve = CurveView()
        self.table = ResultsTable()
        self.bullseye = BullseyeView()
        self.limits: ParamControls[CardiacParams] = ParamControls(CardiacParams, LIMITS)
        self.apply_limits = QPushButton("Measure again with these")
        self.export_button = QPushButton("Export report, SR...")
        self.tabs = QTabWidget()
        self.edit_timer = QTimer(self)  # edits in quick succession are measured once
        self.edit_timer.setSingleShot(True)
        self.edit_timer.setInterval(300)
        self._layout()
        self._fill_models()
        self.run_button.clicked.connect(self.start)
        self.cine_view.plane_edited.connect(self.edit_plane)
        self.cine_view.plane_changed.connect(lambda t, _k: self._publish_overlay(t))
        self.curve.phase_chosen.connect(self._phase_chosen)
        self.apply_limits.clicked.connect(self.measure_again)
        self.edit_timer.timeout.connect(self.measure_again)
        self.export_button.clicked.connect(self._choose_export_folder)
        context.study_changed.connect(self._study_changed)
        self._update_enabled()

    def _layout(self) -> None:
        box = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.model_choice, 1)
        box.addLayout(top)
        box.addWidget(self.cine_view, 3)
        inner = QWidget()
        form = QVBoxLayout(inner)
        form.addLayout(self.limits.form)
        form.addWidget(self.apply_limits)
        limits = QScrollArea()
        limits.setWidget(inner)
        limits.setWidgetResizable(True)
        for widget, title in ((self.curve, "Curve"), (self.table, "Results"), (self.bullseye, "Segments"),
                              (limits, "Limits")):
            self.tabs.addTab(widget, title)
        box.addWidget(self.tabs, 2)
        box.addWidget(self.summary)
        box.addWidget(self.export_button)
        self.setMinimumWidth(360)

    def _fill_models(self) -> None:
        from workstation.analyses.segmentation.models import available_models
        from workstation.analyses.segmentation.panel import stored_models_folder

        listing = available_models(stored_models_folder(), TASK)
        for choice in listing.choices:
            self.model_choice.addItem(choice.entry.describe(), (choice.entry.name, choice.models_dir))
        if not listing.choices:
            self.model_choice.addItem("no cine model found", None)
        self.model_choice.setToolTip("\n".join(listing.problems) or "2D cine segmentation models")

    def _update_enabled(self) -> None:
        ready = self.result is not None
        for w in (self.apply_limits, self.export_button):
            w.setEnabled(ready)
        self.run_button.setEnabled(self.context.study is not None and self.model_choice.currentData() is not None)

    def _study_changed(self, study: Any) -> None:
        if study is not self._study:  # what was loaded belongs to the old study
            self._study = study
            self.cine, self.result, self.labels, self.edited = None, None, None, set()
            self.summary.setText("Run to measure this study's cine.")
        self._update_enabled()

    # -- running ------------------------------------------------------------------------
    def params(self) -> CardiacParams:
        model = self.model_choice.currentData()
        name, folder = model if model is not None else (CardiacParams().model, None)
        return self.limits.params(model=name, models_dir=folder)

    def start(self) -> None:
        """Load the study's cine (first time) and segment and measure it, in a background job."""
        study = self.context.study
        if study is None:
            self.summary.setText("Open a study with a short-axis cine first.")
            return
        params, cine = self.params(), self.cine

        def work(backend: Any, progress: Any) -> tuple[CineInput, CardiacResult]:
            loaded = cine if cine is not None else prepare(study, progress)
            return loaded, run(loaded, params, backend, progress)

        self.summary.setText("Segmenting every slice and phase...")
        self.context.run_job("Cardiac function", work, self._ran, self.show_problem)

    def _ran(self, found: tuple[CineInput, CardiacResult]) -> None:
        cine, result = found
        first_run = self.cine is not cine
        self.cine, self.edited = cine, set()
        self._entry, self._device = _entry_of(result), result.device
        if first_run:
            images = np.stack([v.array for v in cine.series.volumes])
            width, level = percentile_window(images[:, images.shape[1] // 2], 1.0, 99.5)
            self.cine_view.set_data(images, None, (width, level))
            volume = self.context.volume
            if volume is None or volume.shape != cine.reference.shape:
                self.context.set_loaded(self.context.study, self.context.series, cine.reference)
        self.show_result(result)
        if first_run:
            self.cine_view.focus_on_labels()
        mid = list(result.lv_limits[result.lv.ed_phase].slices())
        self.cine_view.show_plane(result.lv.ed_phase, mid[len(mid) // 2] if mid else 0)

    def show_result(self, result: CardiacResult) -> None:
        """Show ``result``: contours, curve, table, bull's-eye, summary line; publish the overlay."""
        self.result = result
        self.labels = result.labels.copy()
        self.cine_view.set_labels(self.labels)
        self.curve.show_result(result)
        self.table.show_result(result, self.cine.sex if self.cine is not None else "")
        self.bullseye.show_result(result)
        lv, rv = result.lv, result.rv
        lines = [f"LV EF {lv.ef_pct:.0f}% (EDV {lv.edv_ml:.0f} ml, ESV {lv.esv_ml:.0f} ml, mass {lv.mass_g or 0:.0f} g)"
                 f" | RV EF {rv.ef_pct:.0f}% | {result.device} | base at {result.basal_end}"]
        self.summary.setText("\n".join(lines + list(result.warnings)))
        self._publish_overlay(self.cine_view.plane[0])
        self._update_enabled()

    def _publish_overlay(self, phase: int) -> None:
        volume = self.context.volume
        if self.labels is None or volume is None or volume.shape != self.labels.shape[1:]:
            return
        names = {1: "LV blood pool", 2: "LV myocardium", 3: "RV blood pool"}
        self.context.set_overlay(OVERLAY_KEY, LabelOverlay(self.labels[phase], COLOURS, names, opacity=0.35,
                                                           show_in_3d=False))

    # -- corrections ----------------------------------------------------------------------
    def edit_plane(self, phase: int, slice_index: int, plane: np.ndarray) -> None:
        """Take the reader's edited labels of one plane and measure again."""
        if self.labels is None:
            return
        self.labels[phase, slice_index] = plane
        self.edited.add((phase, slice_index))
        self.cine_view.set_labels(self.labels)
        self.edit_timer.start()

    def _phase_chosen(self, which: str, phase: int) -> None:
        self.limits.set_value(f"{which}_phase", phase)
        self.measure_again()

    def measure_again(self) -> None:
        """Re-measure the labels on hand with the limits and phases shown (background job)."""
        if self.cine is None or self.labels is None or self._entry is None:
            return
        cine, labels, entry, device = self.cine, self.labels.copy(), self._entry, self._device
        params, edited = self.params(), tuple(sorted(self.edited))
        self.context.run_job("Cardiac function: measure again",
                             lambda b, _p: remeasure(labels, cine, params, b, model=entry, device=device,
                                                     edited=edited),
                             self._remeasured, self.show_problem)

    def _remeasured(self, result: CardiacResult) -> None:
        plane = self.cine_view.plane
        self.show_result(result)
        self.cine_view.show_plane(*plane)

    # -- export -----------------------------------------------------------------------------
    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export cardiac function results to")
        if folder:
            self.export(Path(folder))

    def export_to(self, folder: Path) -> list[Path]:
        """PDF, DICOM SR, curve CSV, ED/ES labels and JSON into ``folder`` (never a source folder)."""
        if self.result is None or self.cine is None:
            raise ValueError("run the analysis before exporting")
        paths = ARTIFACTS.write(self.result, self.cine, folder, names=EXPORT, study=self.context.study)
        self.summary.setText(self.summary.text() + f"\nExported {len(paths)} files to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self.summary.setText(f"Failed: {text}")
        self.context.notify("Cardiac function", text)


def _entry_of(result: CardiacResult) -> Any:
    from workstation.ml.registry import get_model

    return get_model(result.model, result.provenance.params.get("models_dir"))
