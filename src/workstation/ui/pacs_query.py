"""The PACS query form and its result tree: patients > studies > series, sortable.

Series of a study are asked for when the study is expanded (a series-level C-FIND or
QIDO-RS call in a job), so a query over many studies stays one round trip.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from workstation.analyses.panel_controls import editable_combo
from workstation.io.pacs.query import (
    Query,
    SeriesRow,
    StudyRow,
    dicom_date,
    parse_date_range,
)

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
UID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Patient / study / series", "Patient ID", "Date", "Modality", "Accession", "Series", "Images")
NUMERIC = {5, 6}
MODALITIES = ("", "CT", "MR", "PT", "NM", "US", "MG", "CR", "DX", "XA", "RF", "SR", "SEG", "RTSTRUCT", "RTDOSE")
DATE_PRESETS = {"any date": None, "today": 0, "last 7 days": 7, "last 30 days": 30, "last year": 365}


def display_name(name: str) -> str:
    """A DICOM person name for people: ``DOE^JANE^^DR`` -> ``DOE, JANE``."""
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    family, given = (parts + ["", ""])[:2]
    return f"{family}, {given}" if family and given else family or given


def mark_invalid(edit: QLineEdit, error: str | None) -> None:
    """Outline a field in red with the reason as its tool tip (``None`` clears it)."""
    edit.setToolTip(error or "")
    edit.setStyleSheet("border: 1px solid #ff7b72" if error else "")


def _date_text(dicom: str) -> str:
    return f"{dicom[:4]}-{dicom[4:6]}-{dicom[6:8]}" if len(dicom) == 8 else dicom


class QueryForm(QWidget):
    """Name, ID, date range, modality, accession; emits ``search_requested(Query)``."""

    search_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("DOE^J* (wildcards * ?)")
        self.patient_id = QLineEdit()
        self.dates = QLineEdit()
        self.dates.setPlaceholderText("YYYYMMDD-YYYYMMDD")
        self.date_preset = QComboBox()
        self.date_preset.addItems(list(DATE_PRESETS))
        self.date_preset.currentTextChanged.connect(self._preset)
        self.modality = editable_combo(MODALITIES, "Modality")
        self.accession = QLineEdit()
        self.search = QPushButton("Search")
        self.search.setDefault(True)
        self.search.clicked.connect(self._search)
        for edit in (self.patient_name, self.patient_id, self.dates, self.accession):
            edit.returnPressed.connect(self._search)
        for widget, name in ((self.patient_name, "Patient name"), (self.patient_id, "Patient ID"),
                             (self.dates, "Study date range"), (self.date_preset, "Study date preset"),
                             (self.accession, "Accession number"),
                             (self.search, "Search the PACS")):
            widget.setAccessibleName(name)
        dates = QHBoxLayout()
        dates.addWidget(self.dates, 1)
        dates.addWidget(self.date_preset)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Study date", dates)
        form.addRow("Modality", self.modality)
        form.addRow("Accession", self.accession)
        form.addRow("", self.search)

    def _preset(self, text: str) -> None:
        days = DATE_PRESETS.get(text)
        if days is None:
            self.dates.clear()
            return
        today = date.today()
        self.dates.setText(f"{dicom_date(today - timedelta(days=days))}-{dicom_date(today)}")

    def query(self) -> Query:
        """The query the form describes; ``ValueError`` names a bad date range."""
        date_from, date_to = parse_date_range(self.dates.text())
        return Query(patient_id=self.patient_id.text().strip(), patient_name=self.patient_name.text().strip(),
                     date_from=date_from, date_to=date_to, modality=self.modality.currentText().strip().upper(),
                     accession=self.accession.text().strip())

    def _search(self) -> None:
        try:
            query = self.query()
        except ValueError as exc:
            mark_invalid(self.dates, str(exc))
            return
        mark_invalid(self.dates, None)
        self.search_requested.emit(query)


class _Item(QTreeWidgetItem):
    """Sorts the count columns as numbers."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        column = tree.sortColumn() if tree is not None else 0
        if column in NUMERIC:
            def number(item: QTreeWidgetItem) -> float:
                text = item.text(column)
                return float(text) if text.isdigit() else -1.0

            return number(self) < number(other)
        return self.text(column).casefold() < other.text(column).casefold()


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [c for c in (item.child(i) for i in range(item.childCount())) if c is not None]


class ResultTree(QTreeWidget):
    """Query results; ``series_wanted(study_uid)`` when a study is expanded the first time."""

    series_wanted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Query results")
        self.setHeaderLabels(list(COLUMNS))
        self.setSortingEnabled(True)
        self.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.setColumnWidth(0, 240)
        self.setAlternatingRowColors(True)
        self.studies: dict[str, StudyRow] = {}
        self.series: dict[str, list[SeriesRow]] = {}
        self._study_items: dict[str, QTreeWidgetItem] = {}
        self.itemExpanded.connect(self._expanded)

    def set_studies(self, rows: list[StudyRow]) -> None:
        self.setSortingEnabled(False)
        self.clear()
        self.studies = {r.study_uid: r for r in rows}
        self.series.clear()
        self._study_items.clear()
        patients: dict[str, QTreeWidgetItem] = {}
        for row in rows:
            parent = patients.get(row.patient_id)
            if parent is None:
                parent = _Item([display_name(row.patient_name) or "(no name)", row.patient_id, "", "", "", "", ""])
                parent.setData(0, KIND_ROLE, "patient")
                patients[row.patient_id] = parent
                self.addTopLevelItem(parent)
            item = _Item([row.description or "(study)", row.patient_id, _date_text(row.study_date),
                          "/".join(row.modalities), row.accession,
                          "" if row.n_series is None else str(row.n_series),
                          "" if row.n_instances is None else str(row.n_instances)])
            item.setData(0, KIND_ROLE, "study")
            item.setData(0, UID_ROLE, row.study_uid)
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            parent.addChild(item)
            self._study_items[row.study_uid] = item
        for patient in patients.values():
            studies = _children(patient)
            patient.setText(2, max(child.text(2) for child in studies))  # the latest study sorts the patient
            patient.setText(6, str(sum(int(child.text(6) or 0) for child in studies)))
            patient.setExpanded(True)
        self.setSortingEnabled(True)

    def study_item(self, uid: str) -> QTreeWidgetItem:
        return self._study_items[uid]

    def _expanded(self, item: QTreeWidgetItem) -> None:
        uid = item.data(0, UID_ROLE)
        if item.data(0, KIND_ROLE) == "study" and uid not in self.series:
            self.series[uid] = []
            self.series_wanted.emit(uid)

    def set_series(self, study_uid: str, rows: list[SeriesRow]) -> None:
        item = self._study_items.get(study_uid)
        if item is None:
            return
        self.series[study_uid] = rows
        item.takeChildren()
        for row in rows:
            child = _Item([row.description or "(series)", "", "", row.modality, "",
                           "" if row.number is None else str(row.number),
                           "" if row.n_instances is None else str(row.n_instances)])
            child.setData(0, KIND_ROLE, "series")
            child.setData(0, UID_ROLE, row.series_uid)
            item.addChild(child)
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)

    def selection(self) -> dict[str, list[str] | None]:
        """Study UID -> its selected series UIDs, or ``None`` for the whole study."""
        chosen: dict[str, list[str] | None] = {}
        for item in self.selectedItems():
            kind, uid = item.data(0, KIND_ROLE), item.data(0, UID_ROLE)
            if kind == "patient":
                for child in _children(item):
                    chosen[child.data(0, UID_ROLE)] = None
            elif kind == "study":
                chosen[uid] = None
            elif kind == "series":
                parent = item.parent()
                study = parent.data(0, UID_ROLE) if parent is not None else ""
                if chosen.get(study, []) is not None:
                    chosen.setdefault(study, []).append(uid)  # type: ignore[union-attr]
        return chosen
