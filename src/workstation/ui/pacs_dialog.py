"""The PACS dialog: nodes, query form, sortable results, retrieve (and open), this workstation.

Queries and series listings run as jobs; retrieves are one job per series in the job
dock (:mod:`workstation.ui.pacs_retrieve`).  The "This workstation" tab sets our AE
title, store port, whether we receive pushed studies, the cache limit, and clears the
cache.  The dialog is not modal: the viewer stays usable while it works.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.io.pacs.errors import PacsError
from workstation.io.pacs.nodes import LocalAE, Node, check_ae_title
from workstation.io.pacs.query import Query, SeriesRow, StudyRow
from workstation.ui.pacs_nodes import NodeList
from workstation.ui.pacs_query import QueryForm, ResultTree
from workstation.ui.pacs_retrieve import StudyRetrieval
from workstation.ui.pacs_service import PacsService


class PacsDialog(QDialog):
    """Query/retrieve against the configured nodes; ``study_opened(ScanResult)`` after "open"."""

    study_opened = Signal(object)

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS query / retrieve")
        self.setObjectName("pacs_dialog")
        self.resize(1180, 640)
        self.service = service
        self.retrieval = StudyRetrieval(service, self)
        self.results_node: Node | None = None
        self.retrieval.study_opened.connect(self.study_opened)
        self.retrieval.study_done.connect(self._study_done)
        self.nodes = NodeList(service)
        self.form = QueryForm()
        self.form.search_requested.connect(self.search)
        self.results = ResultTree()
        self.results.series_wanted.connect(self._list_series)
        self.status = QLabel("Choose a node and search.")
        self.status.setWordWrap(True)
        self.retrieve_button = QPushButton("Retrieve")
        self.open_button = QPushButton("Retrieve and open")
        self.retrieve_button.setAccessibleName("Retrieve the selection")
        self.open_button.setAccessibleName("Retrieve the selection and open it")
        self.retrieve_button.clicked.connect(lambda: self.retrieve(open_after=False))
        self.open_button.clicked.connect(lambda: self.retrieve(open_after=True))
        tabs = QTabWidget()
        tabs.addTab(self._query_page(), "Query / retrieve")
        tabs.addTab(LocalSettings(service), "This workstation")
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)

    def _query_page(self) -> QWidget:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Nodes"))
        column.addWidget(self.nodes, 1)
        column.addWidget(self.form)
        right = QWidget()
        main = QVBoxLayout(right)
        main.setContentsMargins(0, 0, 0, 0)
        main.addWidget(self.results, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.retrieve_button)
        buttons.addWidget(self.open_button)
        main.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([330, 850])
        return splitter

    def search(self, query: Query | None = None) -> None:
        """Query the current node for studies (a job); the tree fills when it answers."""
        node = self.nodes.current()
        if node is None:
            self.status.setText("Add a PACS node first.")
            return
        try:
            query = query if query is not None else self.form.query()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(f"Searching {node.name}…")

        def work(progress: Any) -> list[StudyRow]:
            return [r for r in self.service.client(node).find("STUDY", query) if isinstance(r, StudyRow)]

        self.service.run(f"Query {node.name}", work, lambda rows: self._found(node, rows), self._failed)

    def _found(self, node: Node, rows: list[StudyRow]) -> None:
        self.results_node = node  # series listings and retrieves go to the node that answered
        self.results.set_studies(rows)
        self.status.setText(f"{len(rows)} studies on {node.name}")

    def _failed(self, error: str) -> None:
        self.status.setText(error.partition(": ")[2] or error)

    def _list_series(self, study_uid: str) -> None:
        node = self.results_node
        if node is None:
            return

        def work(progress: Any) -> list[SeriesRow]:
            rows = self.service.client(node).find("SERIES", Query(study_uid=study_uid))
            return [r for r in rows if isinstance(r, SeriesRow)]

        self.service.run("List series", work, lambda rows: self.results.set_series(study_uid, rows), self._failed)

    def retrieve(self, open_after: bool) -> None:
        """Retrieve the selected patients, studies or series into the cache."""
        node = self.results_node
        chosen = self.results.selection()
        if node is None or not chosen:
            self.status.setText("Select studies or series to retrieve.")
            return
        for study_uid, series_uids in chosen.items():
            known = {r.series_uid: r for r in self.results.series.get(study_uid, [])}
            series = [known[u] for u in series_uids or [] if u in known] or None
            self.retrieval.retrieve(node, study_uid, series, open_after)
        self.status.setText(f"Retrieving {len(chosen)} studies from {node.name}: see the job dock.")

    def _study_done(self, study_uid: str, received: int, errors: list[str]) -> None:
        if errors:
            self.status.setText(f"Retrieve ended with problems: {errors[0].partition(': ')[2] or errors[0]}")
        else:
            self.status.setText(f"Retrieved {received} new images.")


class LocalSettings(QWidget):
    """Our AE title and store port, receiving pushed studies, the cache limit, clear cache."""

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        config = service.config
        self.ae_title = QLineEdit(config.local.ae_title)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(config.local.store_port or 11112)
        self.listen = QCheckBox("Receive studies pushed to this AE (storage SCP)")
        self.listen.setChecked(config.listen)
        self.limit = QDoubleSpinBox()
        self.limit.setRange(0.1, 10000.0)
        self.limit.setSuffix(" GB")
        self.limit.setValue(config.cache_limit_gb)
        self.usage = QLabel("")
        self.message = QLabel("The PACS must know this AE title, this computer's address and the store port "
                              "for C-MOVE and for pushing studies here.")
        self.message.setWordWrap(True)
        apply = QPushButton("Apply")
        apply.clicked.connect(self.apply)
        clear = QPushButton("Clear cache…")
        clear.clicked.connect(self.clear_cache)
        for widget, name in ((self.ae_title, "Our AE title"), (self.port, "Store port"),
                             (self.listen, "Receive pushed studies"), (self.limit, "Cache limit"),
                             (apply, "Apply workstation settings"), (clear, "Clear the cache")):
            widget.setAccessibleName(name)
        form = QFormLayout(self)
        form.addRow("Our AE title", self.ae_title)
        form.addRow("Store port", self.port)
        form.addRow("", self.listen)
        form.addRow("Cache limit", self.limit)
        form.addRow("Cache in use", self.usage)
        row = QHBoxLayout()
        row.addWidget(apply)
        row.addWidget(clear)
        row.addStretch(1)
        form.addRow("", row)
        form.addRow("", self.message)
        self.refresh_usage()

    def refresh_usage(self) -> None:
        self.usage.setText(f"{self.service.cache.usage_bytes() / 1e9:.2f} GB in {self.service.cache.root}")

    def apply(self) -> None:
        try:
            aet = check_ae_title(self.ae_title.text(), "our AE title")
        except PacsError as exc:
            self.message.setText(str(exc))
            return
        local = LocalAE(aet, self.port.value(), self.service.config.local.bind_address)
        self.service.save(replace(self.service.config, local=local, listen=self.listen.isChecked(),
                                  cache_limit_gb=self.limit.value()))
        evicted = self.service.cache.enforce_limit()
        state = f"receiving on port {local.store_port}" if self.service.listening else "not receiving"
        self.message.setText(f"Saved; {state}" + (f"; {len(evicted)} studies left the cache" if evicted else "."))
        self.refresh_usage()

    def clear_cache(self) -> None:
        size = self.service.cache.usage_bytes()
        answer = QMessageBox.question(self, "Clear cache", f"Delete the {size / 1e9:.2f} GB of retrieved studies "
                                      "from the cache? Files in your own folders are not touched.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        freed = self.service.cache.clear()
        self.service.database_changed.emit()
        self.message.setText(f"Cleared {freed / 1e9:.2f} GB.")
        self.refresh_usage()
