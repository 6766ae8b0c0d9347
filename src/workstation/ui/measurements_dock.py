"""The measurements dock: the open study's annotations as a table, copied to the clipboard as text.

Copy puts tab-separated rows (label, kind, measurements, where) with a heading row on
the clipboard, so they paste into a spreadsheet or a report.  Activating a row shows
the annotation (the slice views move to its first point).
"""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QDockWidget, QHBoxLayout, QHeaderView, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.core.annotations import Annotation
from workstation.ui.annotation_model import AnnotationModel


class MeasurementsDock(QDockWidget):
    """A table of the annotations with Copy, Delete and Clear."""

    def __init__(self, model: AnnotationModel, parent: Optional[QWidget] = None) -> None:
        super().__init__("Measurements", parent)
        self.setObjectName("measurements_dock")
        self.setAccessibleName("Measurements")
        self.model = model
        self.on_activate: Optional[Callable[[Annotation], None]] = None
        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("Measurements of this study")
        self.table.setHorizontalHeaderLabels(["Label", "Kind", "Measurements", "Where"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemActivated.connect(lambda item: self._activated(item.row()))
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName("Copy the measurements table")
        self.copy_button.setToolTip("Copy the table as text (Ctrl+Shift+C)")
        self.copy_button.clicked.connect(self.copy)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setAccessibleName("Delete the selected annotation")
        self.delete_button.clicked.connect(self.delete_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAccessibleName("Delete every annotation of this study")
        self.clear_button.clicked.connect(model.clear)
        buttons = QHBoxLayout()
        for b in (self.copy_button, self.delete_button, self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        model.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        rows = self.model.table_rows()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        for b in (self.copy_button, self.delete_button, self.clear_button):
            b.setEnabled(bool(rows))

    def copy(self) -> str:
        """Put the table on the clipboard (tab-separated, with a heading row); returns the text."""
        text = self.model.as_tsv()
        QApplication.clipboard().setText(text)
        return text

    def delete_selected(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.model.items):
            self.model.remove(self.model.items[row].uid)

    def _activated(self, row: int) -> None:
        if 0 <= row < len(self.model.items) and self.on_activate is not None:
            self.on_activate(self.model.items[row])
