"""The local database dock: search every study opened, retrieved or received, and reopen it.

Search by name, ID, date range, modality and accession; double-click (or Open) rebuilds
the study from the index, without rescanning its folder, and shows it in the study
browser and the viewer.  Folders the user opens are indexed here as they are scanned.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.analyses.panel_controls import editable_combo
from workstation.io.database import StudySearch
from workstation.io.database_rows import StudyRecord
from workstation.io.dicom_scan import ScanResult
from workstation.io.pacs.query import parse_date_range
from workstation.ui.pacs_query import MODALITIES, display_name, mark_invalid
from workstation.ui.pacs_service import PacsService

UID_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Patient", "Patient ID", "Date", "Modality", "Description", "Accession", "Images", "Where")


class DatabaseDock(QDockWidget):
    """Searches the local study database; emits ``study_opened(ScanResult)``."""

    study_opened = Signal(object)

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__("Local database", parent)
        self.setObjectName("database_dock")
        self.setAccessibleName("Local study database")
        self.service = service
        self.name = QLineEdit()
        self.name.setPlaceholderText("name")
        self.patient_id = QLineEdit()
        self.patient_id.setPlaceholderText("patient ID")
        self.dates = QLineEdit()
        self.dates.setPlaceholderText("YYYYMMDD-YYYYMMDD")
        self.modality = editable_combo(MODALITIES, "Modality")
        self.accession = QLineEdit()
        self.accession.setPlaceholderText("accession")
        search = QPushButton("Search")
        search.clicked.connect(self.search)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_selected)
        for widget, name in ((self.name, "Patient name"), (self.patient_id, "Patient ID"),
                             (self.dates, "Study date range"), (self.accession, "Accession number"), (search, "Search the local database"),
                             (self.open_button, "Open the selected study")):
            widget.setAccessibleName(name)
        for edit in (self.name, self.patient_id, self.dates, self.accession):
            edit.returnPressed.connect(self.search)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setAccessibleName("Studies in the local database")
        self.table.cellDoubleClicked.connect(lambda row, _: self.open_row(row))
        grid = QGridLayout()
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.patient_id, 0, 1)
        grid.addWidget(self.dates, 1, 0)
        grid.addWidget(self.modality, 1, 1)
        grid.addWidget(self.accession, 2, 0)
        grid.addWidget(search, 2, 1)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(grid)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.open_button)
        self.setWidget(inner)
        self.records: list[StudyRecord] = []
        service.database_changed.connect(self.search)

    def criteria(self) -> StudySearch:
        """The search the fields describe; ``ValueError`` names a bad date range."""
        date_from, date_to = parse_date_range(self.dates.text())
        return StudySearch(patient_name=self.name.text(), patient_id=self.patient_id.text(), date_from=date_from,
                           date_to=date_to, modality=self.modality.currentText(), accession=self.accession.text())

    def search(self) -> None:
        try:
            criteria = self.criteria()
        except ValueError as exc:
            mark_invalid(self.dates, str(exc))
            return
        mark_invalid(self.dates, None)
        self.show_records(self.service.database.search(criteria))

    def show_records(self, records: list[StudyRecord]) -> None:
        self.records = records
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(records))
        for row, record in enumerate(records):
            values = (display_name(record.patient_name), record.patient_id,
                      record.study_date.isoformat() if record.study_date else "", "/".join(record.modalities),
                      record.description, record.accession, record.n_instances,
                      "cache" if record.cached_bytes else "your folder")
            for column, value in enumerate(values):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value)
                item.setData(UID_ROLE, record.study_uid)
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()

    def open_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        for row in sorted(rows):
            self.open_row(row)

    def open_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.open_study(str(item.data(UID_ROLE)))

    def open_study(self, study_uid: str) -> None:
        """Rebuild the study from the index in a job and emit :attr:`study_opened`."""
        self.service.open_study(study_uid, self.study_opened.emit)

    def index_scan(self, result: ScanResult) -> None:
        """Record a folder the user opened (a job), then refresh the list."""

        def work(progress: Any) -> int:
            return self.service.database.index_scan(result)

        self.service.run("Index in the local database", work, lambda _: self.search())
