"""The DICOM tag viewer: every attribute of the shown image's header, nested sequences, with search.

The header is read without its pixels.  Typing in the search box keeps the rows whose
tag, keyword, name or value contain every word typed (case-insensitive), with the
sequences that lead to them; long values are shortened in the table and shown whole in the
tool tip.  The window is non-modal: reading continues beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHeaderView, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

MAX_SHOWN = 200  # characters of a value shown in the table
MAX_ITEMS = 64  # sequence items listed


BINARY_VRS = ("OB", "OW", "OF", "OD", "OL", "OV", "UN")


def _vr(tag: Any, raw: Any) -> str:
    from pydicom.datadict import dictionary_VR

    vr = getattr(raw, "VR", None)
    if vr:
        return str(vr)
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def header_rows(ds: Any, depth: int = 0) -> list[tuple[int, str, str, str, str, list[Any]]]:
    """(depth, tag, keyword/name, VR, value, children) rows of a dataset, recursively.

    Binary values (pixel data, LUTs) are never read: their length is shown instead.
    """
    from pydicom.datadict import dictionary_description, keyword_for_tag

    rows: list[tuple[int, str, str, str, str, list[Any]]] = []
    for key in list(ds.keys()):
        raw = ds.get_item(key, keep_deferred=True)
        vr = _vr(key, raw)
        tag = f"({key.group:04X},{key.element:04X})"
        try:
            name = keyword_for_tag(key) or dictionary_description(key)
        except KeyError:
            name = "Private tag" if key.group % 2 else "Unknown"
        if vr in BINARY_VRS or key == 0x7FE00010:
            length = getattr(raw, "length", None)
            rows.append((depth, tag, name, vr, f"<{vr}, {length if length is not None else '?'} bytes>", []))
            continue
        try:
            elem = ds[key]
        except Exception as exc:  # noqa: BLE001 - a malformed value is shown as such
            rows.append((depth, tag, name, vr, f"<unreadable: {type(exc).__name__}>", []))
            continue
        if elem.VR == "SQ":
            children: list[Any] = []
            for i, item in enumerate(list(elem.value)[:MAX_ITEMS]):
                children.append((depth + 1, "", f"Item {i + 1}", "", "", header_rows(item, depth + 2)))
            rows.append((depth, tag, name, "SQ", f"{len(elem.value)} item(s)", children))
        else:
            rows.append((depth, tag, name, str(elem.VR), str(elem.value), []))
    return rows


class TagViewer(QDialog):
    """Browse and search the header of one DICOM file."""

    def __init__(self, path: Path, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"DICOM tags: {self.path.name}")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 560)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search tag, keyword or value (Ctrl+F)")
        self.search.setAccessibleName("Search the DICOM tags")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("DICOM attributes")
        self.tree.setHeaderLabels(["Tag", "Name", "VR", "Value"])
        self.tree.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.tree.setColumnWidth(0, 110)
        self.tree.setColumnWidth(1, 220)
        self.tree.setColumnWidth(2, 40)
        self.count = QLabel()
        self.count.setAccessibleName("Attributes shown")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.count)
        layout.addWidget(buttons)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.search.setFocus)
        self.search.textChanged.connect(self.apply_filter)
        self._load()
        self.search.setFocus()

    def _load(self) -> None:
        from workstation.io.dicom_open import open_dataset

        try:
            ds = open_dataset(self.path)
        except Exception as exc:  # noqa: BLE001 - say what is wrong with the file, keep running
            self.count.setText(f"{self.path}: {getattr(exc, 'reason', exc)}")
            return
        self.tree.clear()
        for section, data in (("File meta", getattr(ds, "file_meta", None)), ("Dataset", ds)):
            if data is None or not len(data):
                continue
            top = QTreeWidgetItem(["", section, "", ""])
            self.tree.addTopLevelItem(top)
            self._add(top, header_rows(data))
            top.setExpanded(True)
        self.apply_filter("")

    def _add(self, parent: QTreeWidgetItem, rows: list[tuple[int, str, str, str, str, list[Any]]]) -> None:
        from pydicom.datadict import dictionary_description
        from pydicom.tag import Tag

        for _depth, tag, name, vr, value, children in rows:
            shown = value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN - 1] + "…"
            item = QTreeWidgetItem([tag, name, vr, shown])
            item.setToolTip(3, value[:4000])
            try:
                described = dictionary_description(Tag(int(tag[1:5], 16), int(tag[6:10], 16))) if tag else ""
            except (KeyError, ValueError):
                described = ""
            item.setData(0, Qt.ItemDataRole.UserRole, f"{tag} {name} {described} {vr} {value}".lower())
            parent.addChild(item)
            if children:
                self._add(item, children)

    def apply_filter(self, text: str) -> int:
        """Show the rows matching ``text`` (and their parents); returns how many match."""
        needle = text.strip().lower()
        words = needle.split()
        matched = 0

        def visit(item: QTreeWidgetItem) -> bool:
            nonlocal matched
            data = str(item.data(0, Qt.ItemDataRole.UserRole) or "")
            own = all(w in data for w in words)
            if own and item.data(0, Qt.ItemDataRole.UserRole):
                matched += 1
            child_match = False
            for i in range(item.childCount()):
                child = item.child(i)
                if child is not None and visit(child):
                    child_match = True
            shown = own or child_match
            item.setHidden(not shown)
            if needle and child_match:
                item.setExpanded(True)
            return shown

        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is not None:
                visit(top)
        self.count.setText(f"{matched} attribute(s)" + (f" matching {text.strip()!r}" if needle else ""))
        return matched

    def visible_rows(self) -> list[tuple[str, str, str]]:
        """(tag, name, value) of every row shown, depth first (tests)."""
        out: list[tuple[str, str, str]] = []

        def walk(item: QTreeWidgetItem) -> None:
            for i in range(item.childCount()):
                child = item.child(i)
                if child is not None and not child.isHidden():
                    if child.data(0, Qt.ItemDataRole.UserRole):
                        out.append((child.text(0), child.text(1), child.toolTip(3)))
                    walk(child)

        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is not None and not top.isHidden():
                walk(top)
        return out
