"""The mammography CAD dock: hung views with marks, findings table, suggested category, export.

The marks are also published to the viewer (a :class:`~workstation.core.overlays.MarkOverlay`
keyed by SOP instance), so the mammography hanging protocol draws them on the images
in the main view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.analyses.mammo_cad.artifacts import ARTIFACTS
from workstation.analyses.mammo_cad.loader import MammoExam, MammoImage
from workstation.analyses.mammo_cad.logic import run
from workstation.analyses.mammo_cad.params import MammoCadParams
from workstation.analyses.mammo_cad.prepare import prepare
from workstation.analyses.mammo_cad.result import Finding, MammoCadResult
from workstation.analyses.mammo_cad.views import HANGING_ORDER
from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.compute.windowing import window_to_uint8
from workstation.core.overlays import Mark, MarkOverlay
from workstation.report.images import percentile_window, shrink_step

KIND_COLOURS = {"mass": QColor(235, 50, 50), "calcification": QColor(50, 210, 90)}
OVERLAY_KEY = "mammo-cad"
SELECTED = QColor(255, 220, 0)


def _to_qimage(pixels: np.ndarray, flip: bool) -> QImage:
    step = shrink_step(pixels.shape, 800)
    small = pixels[::step, ::step]
    grey = window_to_uint8(small, *percentile_window(small))
    if flip:
        grey = grey[:, ::-1]
    grey = np.ascontiguousarray(grey)
    return QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8).copy()


def marks_overlay(result: MammoCadResult) -> MarkOverlay:
    """The CAD marks of ``result`` per SOP instance, for the images of the main view."""
    marks: dict[str, list[Mark]] = {}
    for f in result.findings:
        colour = KIND_COLOURS[f.kind]
        label = f"{'M' if f.kind == 'mass' else 'C'} {f.score:.2f}"
        marks.setdefault(f.sop_instance_uid, []).append(
            Mark(f.box_px, f.kind, label, (colour.red(), colour.green(), colour.blue())))
    return MarkOverlay({uid: tuple(m) for uid, m in marks.items()}, title="CAD marks")


class MammoView(QWidget):
    """One mammogram, mirrored for the hanging, with CAD marks; click selects a mark."""

    mark_clicked = Signal(int)

    def __init__(self, key: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setMinimumSize(120, 150)
        self._image: Optional[QImage] = None
        self._shape = (1, 1)
        self._flip = False
        self._align_right = key.startswith("R")  # chest walls meet in the middle
        self.findings: list[Finding] = []
        self.selected: Optional[int] = None

    def set_image(self, image: Optional[MammoImage], flip: bool) -> None:
        self._image = None if image is None else _to_qimage(image.pixels, flip)
        self._shape = (1, 1) if image is None else tuple(image.pixels.shape)
        self._flip = flip
        self.findings, self.selected = [], None
        self.update()

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn in widget coordinates (aspect kept)."""
        rows, cols = self._shape
        scale = min(self.width() / cols, self.height() / rows)
        w, h = cols * scale, rows * scale
        x = self.width() - w if self._align_right else 0.0
        return QRectF(x, (self.height() - h) / 2, w, h)

    def box_rect(self, box_px: tuple[float, float, float, float]) -> QRectF:
        """A box in original pixels -> widget coordinates (mirroring applied)."""
        r = self.image_rect()
        s = r.width() / self._shape[1]
        x0, y0, x1, y1 = box_px
        if self._flip:
            x0, x1 = self._shape[1] - x1, self._shape[1] - x0
        return QRectF(r.x() + x0 * s, r.y() + y0 * s, (x1 - x0) * s, (y1 - y0) * s)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is not None:
            p.drawImage(self.image_rect(), self._image)
        p.setFont(QFont("Sans", 9))
        for f in self.findings:
            chosen = f.id == self.selected
            colour = SELECTED if chosen else KIND_COLOURS[f.kind]
            p.setPen(QPen(colour, 3 if chosen else 2))
            rect = self.box_rect(f.box_px)
            p.drawRect(rect)
            label = f"{'M' if f.kind == 'mass' else 'C'} {f.score:.2f}"
            p.drawText(QPointF(rect.x(), max(rect.y() - 3, 10)), label)
        p.setPen(QColor(255, 255, 255))
        p.drawText(QPointF(6, 14), self.key)
        p.end()

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        pos = event.position()
        for f in self.findings:
            if self.box_rect(f.box_px).contains(pos):
                self.mark_clicked.emit(f.id)
                return


class MammoCadPanel(QWidget, PanelExport):
    """Run the CAD on the loaded study and review its marks."""

    result_ready = Signal(object)

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.params = MammoCadParams()
        self.exam: Optional[MammoExam] = None
        self.result: Optional[MammoCadResult] = None
        self.run_button = QPushButton("Run CAD")
        self.export_button = QPushButton("Export SR / JSON / PDF...")
        self.export_button.setEnabled(False)
        self.status = QLabel("Load a mammography study, then run.")
        self.suggestion = QLabel("")
        self.suggestion.setWordWrap(True)
        self.views = {key: MammoView(key) for key in HANGING_ORDER}
        grid = QGridLayout()
        for i, key in enumerate(HANGING_ORDER):
            grid.addWidget(self.views[key], *divmod(i, 2))
            self.views[key].mark_clicked.connect(self.select_finding)
        self.table = QTableWidget(0, 6)
        self.table.setAccessibleName("CAD findings")
        self.table.setHorizontalHeaderLabels(["#", "View", "Type", "Score", "Size (mm)", "Location"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addLayout(grid, stretch=3)
        layout.addWidget(self.suggestion)
        layout.addWidget(self.table, stretch=1)
        self.run_button.clicked.connect(self.start)
        self.export_button.clicked.connect(self._choose_export_folder)
        context.study_changed.connect(self.clear)

    def clear(self, *_: Any) -> None:
        """Forget the shown result (a different study was loaded)."""
        self.exam, self.result = None, None
        if OVERLAY_KEY in self.context.overlays:
            self.context.set_overlay(OVERLAY_KEY, None)
        for view in self.views.values():
            view.set_image(None, False)
        self.table.setRowCount(0)
        self.suggestion.setText("")
        self.export_button.setEnabled(False)
        self.status.setText("Load a mammography study, then run.")

    # -- running ----------------------------------------------------------------
    def start(self) -> None:
        """Prepare and run the CAD on the context's study in a job."""
        study = self.context.study
        if study is None:
            self.status.setText("No study loaded.")
            return
        params = self.params

        def job(backend: Any, progress: Any) -> tuple[MammoExam, MammoCadResult]:
            exam = prepare(study, None)
            return exam, run(exam, params, backend, progress)

        self.run_button.setEnabled(False)
        self.status.setText("Running...")
        self.context.run_job("Mammography CAD", job, self._on_done, self._on_error)

    def _on_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f"CAD failed: {message}")
        self.context.notify("Mammography CAD", message)

    def _on_done(self, payload: tuple[MammoExam, MammoCadResult]) -> None:
        self.run_button.setEnabled(True)
        self.show_result(*payload)

    def show_result(self, exam: MammoExam, result: MammoCadResult) -> None:
        """Display a result (also used directly by scripts and tests)."""
        self.exam, self.result = exam, result
        flips = {v.key: v.display_flip for v in result.views}
        for key, view in self.views.items():
            view.set_image(exam.get(key), flips.get(key, False))
            view.set_findings(result.for_view(key))
        self.table.setRowCount(len(result.findings))
        for row, f in enumerate(result.findings):
            cells = [str(f.id), f.view, f.kind, f"{f.score:.2f}", f"{f.size_mm[0]:.1f} x {f.size_mm[1]:.1f}", f.location]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.suggestion.setText(result.suggestion.text)
        self.context.set_overlay(OVERLAY_KEY, marks_overlay(result))
        warn = f"; {len(result.warnings)} warning(s)" if result.warnings else ""
        self.status.setText(f"{len(result.findings)} findings on {result.device}{warn}")
        self.export_button.setEnabled(True)
        self.result_ready.emit(result)

    # -- selection --------------------------------------------------------------
    def _on_row_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows or self.result is None:
            return
        finding = self.result.findings[min(rows)]
        for view in self.views.values():
            view.selected = finding.id if view.key == finding.view else None
            view.update()

    def select_finding(self, finding_id: int) -> None:
        """Select a finding by id (table row and mark)."""
        if self.result is None:
            return
        for row, f in enumerate(self.result.findings):
            if f.id == finding_id:
                self.table.selectRow(row)

    # -- export -----------------------------------------------------------------
    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export CAD results to")
        if folder:
            self.export(Path(folder))

    def export_to(self, folder: Path) -> list[Path]:
        """Write SR, JSON, PDF and mark images into ``folder`` (never a source folder)."""
        if self.result is None or self.exam is None:
            return []
        paths = ARTIFACTS.write(self.result, self.exam, folder, names=ARTIFACTS.names(), study=self.context.study)
        self.status.setText(f"Exported {len(paths)} files to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
