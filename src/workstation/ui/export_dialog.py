"""File > Export: write the current view, MPR planes, a slice range, the series, a 3D
snapshot or a cine as images or (de-identified) DICOM.

The dialog only gathers choices; the export runs as a job (progress and Cancel in the
job dock) through :mod:`workstation.export`, which falls back from the GPU to the CPU
and a library by itself.  Images never carry the patient's identity; DICOM is
de-identified unless the user unticks it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.windowing import PRESETS
from workstation.export.cine import mp4_unavailable
from workstation.export.options import ImageOptions
from workstation.jobs.runner import Job
from workstation.ui.mpr import ViewerArea

WHAT = {"view": "Current 2D view", "mpr": "MPR planes (axial, coronal, sagittal)", "range": "Slice range",
        "series": "Whole series", "snapshot": "3D view snapshot", "cine": "Cine of the slice range"}
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}
CINE_FORMATS = {"webp": "Animated WebP", "gif": "GIF", "mp4": "MP4 (H.264)"}


class ExportDialog(QDialog):
    """Choices of one export; :meth:`start` submits it to the context's job runner."""

    def __init__(self, context: ViewerContext, area: ViewerArea, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.area = context, area
        self.setWindowTitle("Export")
        self.setObjectName("export_dialog")
        self.job: Job | None = None
        form = QFormLayout(self)
        self.what = QComboBox()
        for key, text in WHAT.items():
            self.what.addItem(text, key)
        form.addRow("Export", self.what)
        n = context.volume.shape[0] if context.volume is not None else 1
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, 1), (self.last, n)):
            box.setRange(1, max(n, 1))
            box.setValue(value)
        slices = QHBoxLayout()
        slices.addWidget(self.first)
        slices.addWidget(QLabel("to"))
        slices.addWidget(self.last)
        form.addRow("Slices", slices)
        self.annotations = QCheckBox("Orientation, slice and window text")
        self.annotations.setChecked(True)
        self.overlays = QCheckBox("Overlays and colour bar")
        self.overlays.setChecked(True)
        form.addRow("Burn in", self.annotations)
        form.addRow("", self.overlays)
        self.format = QComboBox()
        form.addRow("Format", self.format)
        self.size_mode = QComboBox()
        self.size_mode.addItems(["Original size", "Width in pixels", "Scale"])
        self.width_px = QSpinBox()
        self.width_px.setRange(16, 8192)
        self.width_px.setValue(1024)
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.05, 8.0)
        self.scale.setSingleStep(0.25)
        self.scale.setValue(1.0)
        size = QHBoxLayout()
        for w in (self.size_mode, self.width_px, self.scale):
            size.addWidget(w)
        form.addRow("Size", size)
        self.window_choice = QComboBox()
        self.window_choice.addItem(f"Current (W {area.state.width:.0f}, L {area.state.level:.0f})", None)
        for p in PRESETS:
            self.window_choice.addItem(f"{p.name} (W {p.width:.0f}, L {p.level:.0f})", (p.width, p.level))
        form.addRow("Window", self.window_choice)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(90)
        form.addRow("Quality", self.quality)
        self.watermark = QLineEdit()
        self.watermark.setPlaceholderText("e.g. NOT FOR DIAGNOSTIC USE")
        form.addRow("Watermark", self.watermark)
        self.anonymize = QCheckBox("De-identify DICOM (PS3.15 Basic Profile, dates shifted)")
        self.anonymize.setChecked(True)
        form.addRow("Privacy", self.anonymize)
        self.privacy_note = QLabel("Images never carry the patient's name or ID.")
        self.privacy_note.setWordWrap(True)
        form.addRow("", self.privacy_note)
        self.folder = QLineEdit(str(Path.home() / "Exports"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        form.addRow("Folder", where)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.what.currentIndexChanged.connect(self._update)
        self.format.currentIndexChanged.connect(self._update)
        self.size_mode.currentIndexChanged.connect(self._update)
        self._update()

    # -- state of the widgets -------------------------------------------------------
    @property
    def kind(self) -> str:
        return str(self.what.currentData())

    def _update(self) -> None:
        kind, fmt = self.kind, self.format.currentData()
        formats = dict(CINE_FORMATS) if kind == "cine" else dict(IMAGE_FORMATS)
        if kind in ("range", "series"):
            formats["dicom"] = "DICOM"
        if kind == "cine" and mp4_unavailable():
            formats.pop("mp4")
        if [self.format.itemData(i) for i in range(self.format.count())] != list(formats):
            self.format.blockSignals(True)
            self.format.clear()
            for key, text in formats.items():
                self.format.addItem(text, key)
            index = self.format.findData(fmt)
            self.format.setCurrentIndex(max(index, 0))
            self.format.blockSignals(False)
        fmt = self.format.currentData()
        images = fmt != "dicom"
        for w in (self.annotations, self.overlays, self.window_choice):
            w.setEnabled(images and kind != "snapshot")  # a 3D render is already windowed and drawn
        self.size_mode.setEnabled(images)
        self.watermark.setEnabled(images)
        self.first.setEnabled(kind in ("range", "cine"))
        self.last.setEnabled(kind in ("range", "cine"))
        self.quality.setEnabled(fmt in ("jpeg", "webp", "mp4"))
        self.anonymize.setEnabled(fmt == "dicom")
        self.width_px.setVisible(self.size_mode.currentIndex() == 1)
        self.scale.setVisible(self.size_mode.currentIndex() == 2)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ImageOptions:
        """The image options the widgets describe (raises ``ValueError`` when inconsistent)."""
        mode = self.size_mode.currentIndex()
        return ImageOptions(format=str(self.format.currentData()), size=(self.width_px.value(), 0) if mode == 1 else None,
                            scale=self.scale.value() if mode == 2 else None, window=self.window_choice.currentData(),
                            quality=self.quality.value(), watermark=self.watermark.text().strip(),
                            cine=self.kind == "cine")

    # -- running --------------------------------------------------------------------
    def work(self) -> Callable[[Any, Any], Any]:
        """The job function of the current choices (gathers what it needs now)."""
        from workstation.ui.export_job import build_work

        return build_work(self)

    def start(self) -> None:
        """Submit the export as a job and close the dialog (the job dock shows it)."""
        try:
            work = self.work()
        except ValueError as exc:
            self.context.notify("Export", str(exc))
            return
        folder = Path(self.folder.text()).expanduser()
        title = f"Export {WHAT[self.kind].lower()}"
        self.job = self.context.run_job(title, work, lambda result: self._done(result, folder),
                                        lambda error: self.context.notify("Export failed", error))
        self.accept()

    def _done(self, result: Any, folder: Path) -> None:
        text = f"{len(result.files)} file(s) written to {folder}"
        if result.refused:
            text += f"; {len(result.refused)} refused: {result.refused[0]['reason']}"
        self.context.notify("Export", text)


def open_export_dialog(context: ViewerContext, area: ViewerArea, parent: QWidget | None = None) -> None:
    """File > Export…: show the dialog, or say why there is nothing to export."""
    if context.volume is None:
        context.notify("Export", "Load a series first.")
        return
    dialog = ExportDialog(context, area, parent)
    dialog.setModal(True)
    dialog.show()
