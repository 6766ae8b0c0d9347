"""The organ segmentation dock: model choice, run/cancel, label overlay, structures, export.

The user's models folder is kept in ``QSettings("Workstation", "Workstation")`` under
``models/folder`` (the key the main window's File menu writes too); the panel reads it
when built and when shown, and its "Models folder..." button sets it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar,
    QPushButton, QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls, checked_keys
from workstation.analyses.segmentation.artifacts import ARTIFACTS, dicom_sources
from workstation.analyses.segmentation.logic import run
from workstation.analyses.segmentation.models import ModelChoice, ModelListing, available_models
from workstation.analyses.segmentation.params import SegmentationParams
from workstation.analyses.segmentation.prepare import SegmentationInput
from workstation.analyses.segmentation.report import label_colors
from workstation.analyses.segmentation.result import SegmentationResult
from workstation.core.overlays import LabelOverlay
from workstation.core.progress import Partial
from workstation.ml.registry import ENV_VAR

log = logging.getLogger(__name__)
OVERLAY_KEY = "segmentation"
#: What each export button writes (an artifact of :mod:`.artifacts`).
EXPORTS = {"nifti": "labels", "seg": "seg", "report": "report"}
COLUMNS = ("Structure", "Volume (ml)", "Mean HU", "Voxels")
SETTINGS_SCOPE = ("Workstation", "Workstation")  # QSettings organisation and application of the workstation
MODELS_FOLDER_KEY = "models/folder"
TASK = "segmentation-3d"


def stored_models_folder() -> Optional[str]:
    """The models folder saved in the workstation's settings, if any."""
    value = QSettings(*SETTINGS_SCOPE).value(MODELS_FOLDER_KEY, "")
    return str(value) if value else None


def store_models_folder(folder: str) -> None:
    """Save ``folder`` as the workstation's models folder."""
    settings = QSettings(*SETTINGS_SCOPE)
    settings.setValue(MODELS_FOLDER_KEY, folder)
    settings.sync()


def describe_problems(listing: ModelListing) -> str:
    """The user folder's faults as lines for the panel (empty when there are none)."""
    if not listing.problems:
        return ""
    lines = [f"Models folder {listing.user_dir}:" if listing.user_dir else "Models:"]
    lines += [f"- {p}" for p in listing.problems]
    lines.append("The other models are available.")
    return "\n".join(lines)

#: Warnings on the dark panel: 4.5:1 or more against the themes' backgrounds.
WARNING_COLOUR = "#ff6b6b"


class SegmentationPanel(QWidget, PanelExport):
    """Runs a segmentation model on the loaded CT and shows the labels in the viewers."""

    finished = Signal(object)  # SegmentationResult
    failed = Signal(str)

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None, *,
                 models_dir: Optional[str] = None) -> None:
        super().__init__(parent)
        self.context = context
        self._follow_settings = models_dir is None  # an explicit folder is kept as given
        self.models_dir = stored_models_folder() if models_dir is None else models_dir
        self._choices: dict[str, ModelChoice] = {}
        self.listing = ModelListing((), None, ())
        self.result: Optional[SegmentationResult] = None
        self._data: Optional[SegmentationInput] = None
        self._job: Any = None
        self._partial: Optional[np.ndarray] = None  # labels of the slabs a running job finished
        self._partial_names: dict[int, str] = {}
        self._colors: dict[int, tuple[int, int, int]] = {}
        self._build()
        self.reload_models()
        context.volume_changed.connect(self._on_volume_changed)
        self._on_volume_changed(context.volume)

    # -- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.controls: ParamControls[SegmentationParams] = ParamControls(SegmentationParams,
                                                                         ("overlap", "batch_size"))
        self.overlap, self.batch = self.controls["overlap"], self.controls["batch_size"]
        self.folder_button = QPushButton("Models folder...")
        self.folder_button.setAccessibleName("Choose the folder with your own models")
        self.folder_button.clicked.connect(self.choose_models_folder)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.folder_button)
        self.models_note = QLabel("")
        self.models_note.setWordWrap(True)
        self.models_note.setStyleSheet(f"color: {WARNING_COLOUR}")
        self.models_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = self.controls.form
        form.insertRow(0, "Model", model_row)
        form.insertRow(1, self.models_note)
        self.run_button, self.cancel_button = QPushButton("Segment"), QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar(maximum=1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.intended_use = QLabel("")
        self.intended_use.setStyleSheet(f"color: {WARNING_COLOUR}; font-weight: bold")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Segmented structures")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellDoubleClicked.connect(self._focus_row)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setAccessibleName("Overlay opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.valueChanged.connect(lambda _v: self.publish_overlay())
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(QLabel("Opacity"))
        opacity_row.addWidget(self.opacity)
        self.export_seg_button, self.export_nifti_button = QPushButton("DICOM SEG..."), QPushButton("NIfTI...")
        self.export_report_button = QPushButton("PDF...")
        for button, what in ((self.export_seg_button, "a DICOM Segmentation"), (self.export_nifti_button,
                             "a NIfTI label image"), (self.export_report_button, "a PDF report")):
            button.setToolTip(f"Export the segmentation as {what}")
        self.export_seg_button.clicked.connect(lambda: self._export_dialog("seg"))
        self.export_nifti_button.clicked.connect(lambda: self._export_dialog("nifti"))
        self.export_report_button.clicked.connect(lambda: self._export_dialog("report"))
        exports = QHBoxLayout()
        exports.addWidget(QLabel("Export"))
        exports.addWidget(self.export_seg_button)
        exports.addWidget(self.export_nifti_button)
        exports.addWidget(self.export_report_button)
        layout = QVBoxLayout(self)
        for item in (form, buttons):
            layout.addLayout(item)
        for widget in (self.progress, self.status, self.intended_use, self.table):
            layout.addWidget(widget)
        layout.addLayout(opacity_row)
        layout.addLayout(exports)
        self._set_result_controls(False)

    def reload_models(self) -> None:
        """Fill the model list: built-in models and the usable ones of the user's folder.

        Faults of the user's folder (missing file, checksum, tensor shapes, manifest)
        are shown under the list, naming each model; the other models stay usable.
        """
        previous = self.model_combo.currentData()
        self.listing = available_models(self.models_dir, TASK)
        self._choices = {c.entry.name: c for c in self.listing.choices}
        self.model_combo.clear()
        for choice in self.listing.choices:
            self.model_combo.addItem(choice.entry.describe(), choice.entry.name)
            self.model_combo.setItemData(self.model_combo.count() - 1, choice.entry.intended_use,
                                         Qt.ItemDataRole.ToolTipRole)
        if previous is not None and self.model_combo.findData(previous) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(previous))
        note = describe_problems(self.listing)
        if self.models_dir and self.listing.user_dir != Path(self.models_dir).expanduser():
            note = f"{ENV_VAR} is set: {self.listing.user_dir} is used instead of {self.models_dir}.\n{note}".strip()
        self.models_note.setText(note)
        self.models_note.setVisible(bool(note))
        self.folder_button.setToolTip(f"Your models: {self.listing.user_dir}" if self.listing.user_dir
                                      else "No models folder chosen")
        self.run_button.setEnabled(self.context.volume is not None and self.model_combo.count() > 0
                                   and self._job is None)

    def choose_models_folder(self) -> None:
        """Ask for the folder with the user's ``manifest.json`` and models, then use it."""
        folder = QFileDialog.getExistingDirectory(self, "Folder with your ONNX models", self.models_dir or "")
        if folder:
            self.set_models_folder(folder)

    def set_models_folder(self, folder: str) -> None:
        """Use ``folder`` as the user's models folder from now on (saved in the settings)."""
        store_models_folder(folder)
        self.models_dir = folder
        self._follow_settings = True
        self.reload_models()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """Pick up a models folder chosen elsewhere (the File menu) since the last showing."""
        if self._follow_settings and stored_models_folder() != self.models_dir:
            self.models_dir = stored_models_folder()
            self.reload_models()
        super().showEvent(event)

    def _set_result_controls(self, on: bool) -> None:
        for w in (self.export_seg_button, self.export_nifti_button, self.export_report_button, self.opacity):
            w.setEnabled(on)

    def _on_volume_changed(self, volume: Any) -> None:
        self.result, self._data = None, None
        self.table.setRowCount(0)
        self._set_result_controls(False)
        self.run_button.setEnabled(volume is not None and self.model_combo.count() > 0)

    # -- running ------------------------------------------------------------------------
    def params(self) -> SegmentationParams:
        name = str(self.model_combo.currentData())
        choice = self._choices.get(name)
        return self.controls.params(model=name, models_dir=choice.models_dir if choice is not None else self.models_dir)

    def start(self) -> None:
        """Segment the loaded volume in a background job."""
        volume = self.context.volume
        if volume is None:
            self.status.setText("Load a CT series first.")
            return
        params = self.params()
        data = SegmentationInput(volume=volume, series=self.context.series)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(f"Segmenting with {params.model}...")
        self._partial = None
        self._job = self.context.run_job(f"Segmentation ({params.model})",
                                         lambda backend, progress: run(data, params, backend, progress),
                                         on_done=lambda r: self._on_done(r, data), on_error=self._on_error,
                                         on_partial=lambda p: self._on_partial(p, data, params.model))
        self._job.progressed.connect(self._on_progress)
        self._job.cancelled.connect(self._on_cancelled)

    def _on_partial(self, partial: Partial, data: SegmentationInput, model: str) -> None:
        """Show a slab of final labels while the rest is computed (the overlay fills in)."""
        if partial.kind != "labels" or self.context.volume is not data.volume or self.result is not None:
            return
        if self._partial is None:
            self._partial = np.zeros(data.volume.shape, np.uint8)
            choice = self._choices.get(model)
            names = dict(choice.entry.labels) if choice is not None else {}
            self._colors = label_colors(names, choice.entry.extra if choice is not None else {})
            self._partial_names = names
        self._partial[partial.slices()] = partial.values["labels"]
        self.context.set_overlay(OVERLAY_KEY, LabelOverlay(
            labels=self._partial, colors=self._colors, names=self._partial_names,
            opacity=self.opacity.value() / 100.0, show_in_3d=False))

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _finish_job(self) -> None:
        self._job = None
        if self._partial is not None:  # the slabs shown while it ran give way to the result shown before
            self._partial = None
            if self.result is not None:
                self.publish_overlay()
            elif self.context.volume is not None:
                self.context.set_overlay(OVERLAY_KEY, None)
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(self.context.volume is not None)

    def _on_cancelled(self) -> None:
        self._finish_job()
        self.status.setText("Cancelled.")

    def _on_error(self, message: str) -> None:
        self._finish_job()
        self.status.setText(f"Segmentation failed: {message}")
        self.failed.emit(message)

    def _on_done(self, result: SegmentationResult, data: SegmentationInput) -> None:
        self._finish_job()
        if self.context.volume is not data.volume:
            return  # the user loaded something else meanwhile
        self.result, self._data = result, data
        choice = self._choices.get(result.model)
        self._colors = label_colors(result.names, choice.entry.extra if choice is not None else {})
        self._fill_table(result)
        self.publish_overlay()
        self._set_result_controls(True)
        self.progress.setValue(1000)
        text = f"{result.model} {result.version} on {result.device}"
        self.status.setText("; ".join([text, *result.warnings]))
        self.intended_use.setText(result.intended_use)
        self.finished.emit(result)

    # -- results ------------------------------------------------------------------------
    def _fill_table(self, result: SegmentationResult) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(result.structures))
        for row, s in enumerate(result.structures):
            name = QTableWidgetItem(s.name)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable)
            name.setCheckState(Qt.CheckState.Checked)
            name.setData(Qt.ItemDataRole.UserRole, s.label)
            self.table.setItem(row, 0, name)
            mean = "-" if not np.isfinite(s.mean_hu) else f"{s.mean_hu:.1f}"
            for col, text in enumerate((f"{s.volume_ml:.1f}", mean, str(s.voxels)), start=1):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()

    def visible_labels(self) -> frozenset[int]:
        """Labels whose checkbox is ticked."""
        return checked_keys(self.table)

    def publish_overlay(self) -> None:
        """Show (or refresh) the label overlay in the 2D and 3D viewers."""
        if self.result is None or self.context.volume is None:
            return
        overlay = LabelOverlay(labels=self.result.labels, colors=self._colors, names=dict(self.result.names),
                               opacity=self.opacity.value() / 100.0, visible=self.visible_labels(),
                               show_in_3d=True)
        self.context.set_overlay(OVERLAY_KEY, overlay)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.publish_overlay()

    def _focus_row(self, row: int, _col: int) -> None:
        if self.result is None:
            return
        item = self.table.item(row, 0)
        if item is None:
            return
        label = int(item.data(Qt.ItemDataRole.UserRole))
        idx = np.argwhere(self.result.labels[:, ::4, ::4] == label)
        if len(idx):
            z, y, x = np.median(idx, axis=0)
            self.context.focus((int(z), int(y) * 4, int(x) * 4))

    # -- export -------------------------------------------------------------------------
    def _export_dialog(self, kind: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export segmentation to folder")
        if folder:
            self.export_one(Path(folder), kind)

    def export_to(self, folder: Path) -> list[Path]:
        """Labels (NIfTI), DICOM SEG (when the CT came from single-frame DICOM) and PDF into ``folder``."""
        if self.result is None or self._data is None:
            return []
        paths = ARTIFACTS.write(self.result, self._data, folder, names=tuple(EXPORTS.values()),
                                study=self.context.study)
        self.status.setText(f"Exported {len(paths)} files to {folder}")
        return paths

    def export_one(self, folder: Path, kind: str) -> Optional[Path]:
        """Write ``seg.dcm`` (``kind='seg'``), ``labels.nii.gz`` (``'nifti'``) or the PDF (``'report'``)."""
        if self.result is None or self._data is None:
            return None
        try:
            if kind == "seg":
                dicom_sources(self._data)  # says why there is no DICOM SEG to write
            paths = ARTIFACTS.write(self.result, self._data, folder, names=(EXPORTS[kind],), study=self.context.study)
        except Exception as exc:
            self.show_problem(f"Export failed: {exc}")
            return None
        self.status.setText(f"Wrote {paths[0]}")
        return paths[0]

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.context.notify("Segmentation export", text)
