"""The PACS node list (add, edit, remove, test) and the dialog editing one node.

Editing checks the node the way the settings reader will (:func:`node_from_dict`) and
names what is wrong; a password or token typed here goes to the system keyring.
"Test" sends a C-ECHO or a QIDO-RS call as a job and shows the answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.io.pacs.errors import PacsError
from workstation.io.pacs.nodes import DicomWebNode, DimseNode, Node, node_from_dict
from workstation.ui.pacs_service import PacsService


class NodeEditor(QDialog):
    """Add or edit one node; :attr:`node` holds the result after ``accept``."""

    def __init__(self, node: Node | None = None, taken: set[str] = frozenset(),  # type: ignore[assignment]
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.node: Node | None = node
        self.secret = ""
        self._taken = set(taken) - ({node.name} if node else set())
        self.name = QLineEdit(node.name if node else "")
        self.kind = QComboBox()
        self.kind.addItems(["DIMSE (DICOM)", "DICOMweb"])
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1.0, 600.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(node.timeout_s if node else 30.0)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._dimse_page(node if isinstance(node, DimseNode) else None))
        self.pages.addWidget(self._web_page(node if isinstance(node, DicomWebNode) else None))
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.kind.setCurrentIndex(1 if isinstance(node, DicomWebNode) else 0)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #ff7b72")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Protocol", self.kind)
        form.addRow("Time-out", self.timeout)
        self._name_widgets()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.pages)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _name_widgets(self) -> None:
        for widget, name in ((self.name, "Node name"), (self.kind, "Protocol"), (self.timeout, "Time-out"),
                             (self.ae_title, "Called AE title"), (self.host, "Host"), (self.port, "Port"),
                             (self.retrieve, "Retrieve by"), (self.dimse_tls, "DICOM TLS"), (self.dimse_ca, "CA file"),
                             (self.url, "URL"), (self.auth, "Authentication"), (self.username, "User name"),
                             (self.password, "Password or token"), (self.web_ca, "CA file")):
            widget.setAccessibleName(name)

    def _dimse_page(self, node: DimseNode | None) -> QWidget:
        page = QWidget()
        self.ae_title = QLineEdit(node.ae_title if node else "")
        self.ae_title.setPlaceholderText("the PACS's AE title, e.g. ORTHANC")
        self.host = QLineEdit(node.host if node else "")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(node.port if node else 104)
        self.retrieve = QComboBox()
        self.retrieve.addItems(["get", "move"])
        self.retrieve.setCurrentText(node.retrieve if node else "get")
        self.dimse_tls = QCheckBox("DICOM TLS")
        self.dimse_tls.setChecked(bool(node and node.tls))
        self.dimse_ca = QLineEdit(node.tls.ca_file if node and node.tls else "")
        self.dimse_ca.setPlaceholderText("CA file (empty: the system's)")
        form = QFormLayout(page)
        for label, widget in (("Called AE title", self.ae_title), ("Host", self.host), ("Port", self.port),
                              ("Retrieve by", self.retrieve), ("", self.dimse_tls), ("CA file", self.dimse_ca)):
            form.addRow(label, widget)
        return page

    def _web_page(self, node: DicomWebNode | None) -> QWidget:
        page = QWidget()
        self.url = QLineEdit(node.url if node else "")
        self.url.setPlaceholderText("https://host:port/dicom-web")
        self.auth = QComboBox()
        self.auth.addItems(["none", "basic", "bearer"])
        self.auth.setCurrentText(node.auth.kind if node else "none")
        self.username = QLineEdit(node.auth.username if node else "")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the system keyring; empty: unchanged")
        self.web_ca = QLineEdit(node.tls.ca_file if node and node.tls else "")
        self.web_ca.setPlaceholderText("CA file (empty: the system's)")
        form = QFormLayout(page)
        for label, widget in (("URL", self.url), ("Authentication", self.auth), ("User", self.username),
                              ("Password / token", self.password), ("CA file", self.web_ca)):
            form.addRow(label, widget)
        return page

    def _entry(self) -> dict[str, Any]:
        common = {"name": self.name.text().strip(), "timeout_s": self.timeout.value()}
        if self.kind.currentIndex() == 0:
            tls = {"ca_file": self.dimse_ca.text().strip()} if self.dimse_tls.isChecked() else None
            return {**common, "kind": "dimse", "ae_title": self.ae_title.text(), "host": self.host.text().strip(),
                    "port": self.port.value(), "retrieve": self.retrieve.currentText(), "tls": tls}
        url = self.url.text().strip()
        tls = {"ca_file": self.web_ca.text().strip()} if url.lower().startswith("https") else None
        return {**common, "kind": "dicomweb", "url": url, "tls": tls,
                "auth": {"kind": self.auth.currentText(), "username": self.username.text().strip()}}

    def accept(self) -> None:
        try:
            entry = self._entry()
            if not entry["name"]:
                raise ValueError("give the node a name")
            if entry["name"] in self._taken:
                raise ValueError(f"a node named {entry['name']!r} exists already")
            if entry["kind"] == "dimse" and not entry["host"]:
                raise ValueError("give the PACS's host name or address")
            self.node = node_from_dict(entry)
        except (PacsError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        self.secret = self.password.text()
        super().accept()


class NodeList(QWidget):
    """The configured nodes, with Add, Edit, Remove and Test."""

    nodes_changed = Signal()

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.list = QListWidget()
        self.list.setAccessibleName("PACS nodes")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for text, slot in (("Add…", self.add), ("Edit…", self.edit), ("Remove", self.remove), ("Test", self.test)):
            button = QPushButton(text)
            button.setAccessibleName(f"{text.rstrip('…')} PACS node")
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[text.rstrip("…")] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.list.itemDoubleClicked.connect(lambda *_: self.edit())
        self.refresh()

    def refresh(self) -> None:
        current = self.list.currentRow()
        self.list.clear()
        for node in self.service.nodes:
            self.list.addItem(f"{node.name}  —  {node.address}")
        if self.list.count():
            self.list.setCurrentRow(min(max(current, 0), self.list.count() - 1))

    def current(self) -> Node | None:
        row = self.list.currentRow()
        nodes = self.service.nodes
        return nodes[row] if 0 <= row < len(nodes) else None

    def _store(self, nodes: list[Node]) -> None:
        self.service.save(replace(self.service.config, nodes=nodes))
        self.refresh()
        self.nodes_changed.emit()

    def _edited(self, editor: NodeEditor, index: int | None) -> None:
        node = editor.node
        if node is None:
            return
        if editor.secret and isinstance(node, DicomWebNode):
            from workstation.io.pacs.credentials import store_secret

            try:
                store_secret(node, editor.secret)
            except PacsError as exc:
                self.status.setText(str(exc))
        nodes = self.service.nodes
        if index is None:
            nodes.append(node)
        else:
            nodes[index] = node
        self._store(nodes)
        self.list.setCurrentRow(len(nodes) - 1 if index is None else index)

    def add(self) -> NodeEditor:
        editor = NodeEditor(None, {n.name for n in self.service.nodes}, self)
        editor.accepted.connect(lambda: self._edited(editor, None))
        editor.open()
        return editor

    def edit(self) -> NodeEditor | None:
        node = self.current()
        if node is None:
            return None
        editor = NodeEditor(node, {n.name for n in self.service.nodes}, self)
        editor.accepted.connect(lambda: self._edited(editor, self.list.currentRow()))
        editor.open()
        return editor

    def remove(self) -> None:
        row = self.list.currentRow()
        nodes = self.service.nodes
        if 0 <= row < len(nodes):
            del nodes[row]
            self._store(nodes)

    def test(self) -> None:
        node = self.current()
        if node is None:
            return
        self.status.setText(f"Testing {node.name}…")

        def work(progress: Any) -> float:
            from workstation.io.pacs.client import connect

            return float(connect(node, self.service.config.local).echo())

        self.service.run(f"Test {node.name}", work,
                         lambda seconds: self.status.setText(f"{node.name}: OK ({seconds * 1000:.0f} ms)"),
                         lambda error: self.status.setText(error.partition(": ")[2] or error))
