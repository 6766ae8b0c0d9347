"""Qt tables of the calcium panel: lesions (with an artery picker per row) and per-artery totals."""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem, QWidget,
)

from workstation.analyses.calcium.params import ARTERIES, NOT_CORONARY
from workstation.analyses.calcium.result import CalciumResult

ARTERY_CHOICES = (*ARTERIES, NOT_CORONARY)
LESION_COLUMNS = ("#", "Slices", "Area mm²", "Peak HU", "W", "Agatston", "Volume mm³", "Mass mg", "Artery")
ARTERY_COLUMN = LESION_COLUMNS.index("Artery")


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class LesionTable(QTableWidget):
    """One row per lesion; the artery column is a combo box that reports changes."""

    def __init__(self, on_artery: Callable[[int, str], None], parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(LESION_COLUMNS), parent)
        self._on_artery = on_artery
        self.setHorizontalHeaderLabels(list(LESION_COLUMNS))
        self.setAccessibleName("Calcified lesions")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def show_result(self, result: Optional[CalciumResult]) -> None:
        selected = self.currentRow()
        self.setRowCount(0)
        if result is None:
            return
        self.setRowCount(len(result.lesions))
        for row, les in enumerate(result.lesions):
            values = (str(les.id), les.slices_text(), f"{les.area_mm2:.1f}", f"{les.peak_hu:.0f}", str(les.weight),
                      f"{les.agatston:.1f}", f"{les.volume_mm3:.1f}", f"{les.mass_mg:.2f}")
            for col, text in enumerate(values):
                self.setItem(row, col, _item(text))
            combo = QComboBox()
            combo.addItems(list(ARTERY_CHOICES))
            combo.setCurrentText(les.artery)
            combo.currentTextChanged.connect(lambda text, lid=les.id: self._on_artery(lid, text))
            self.setCellWidget(row, ARTERY_COLUMN, combo)
        if 0 <= selected < self.rowCount():
            self.blockSignals(True)
            self.selectRow(selected)
            self.blockSignals(False)

    def artery_combo(self, row: int) -> QComboBox:
        widget = self.cellWidget(row, ARTERY_COLUMN)
        assert isinstance(widget, QComboBox)
        return widget


class ArteryTable(QTableWidget):
    """Totals per artery and overall; as tall as its rows, so the totals row is always seen."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(len(ARTERIES) + 1, 4, parent)
        self.setHorizontalHeaderLabels(["Artery", "Agatston", "Volume mm³", "Mass mg"])
        self.setAccessibleName("Calcium totals per artery")
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.fit_rows()

    def fit_rows(self) -> None:
        """Fix the height to the header and every row (the font sets the row height)."""
        self.resizeRowsToContents()
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2)

    def show_result(self, result: Optional[CalciumResult]) -> None:
        per = result.per_artery() if result is not None else {a: None for a in ARTERIES}
        rows = list(per.items())
        rows.append(("Total", None if result is None else {"agatston": result.agatston_total,
                                                          "volume_mm3": result.volume_mm3_total,
                                                          "mass_mg": result.mass_mg_total}))
        for r, (name, v) in enumerate(rows):
            self.setItem(r, 0, QTableWidgetItem(name))
            for c, key, fmt in ((1, "agatston", "{:.1f}"), (2, "volume_mm3", "{:.1f}"), (3, "mass_mg", "{:.2f}")):
                self.setItem(r, c, _item("-" if v is None else fmt.format(v[key])))
        self.fit_rows()

    def total_text(self, artery: str, column: int = 1) -> str:
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            if item is not None and item.text() == artery:
                cell = self.item(r, column)
                return cell.text() if cell is not None else ""
        raise KeyError(artery)
