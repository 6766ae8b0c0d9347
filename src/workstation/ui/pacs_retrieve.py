"""Retrieving studies in the desktop application: one job per series, then open.

Each series is its own job in the job dock (progress, cancel); instances land in the
cache and are indexed as they come, so a cancelled or failed series keeps what arrived
and the next retrieve fetches only the rest.  When every series of a study has ended,
the study is rebuilt from the local database (no rescan) and, if asked, opened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from workstation.io.pacs.nodes import Node
from workstation.io.pacs.query import Query, SeriesRow
from workstation.ui.pacs_service import PacsService

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    node: Node
    open_after: bool
    left: int = 0
    received: int = 0
    errors: list[str] = field(default_factory=list)


class StudyRetrieval(QObject):
    """Starts series jobs and reports each study once all its series are done."""

    study_done = Signal(str, int, list)  # study UID, instances received, error messages
    study_opened = Signal(object)  # ScanResult holding the study rebuilt from the database

    def __init__(self, service: PacsService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._pending: dict[str, _Pending] = {}

    def retrieve(self, node: Node, study_uid: str, series: list[SeriesRow] | None, open_after: bool) -> None:
        """Fetch ``series`` of the study (all of them when ``None``) into the cache."""
        if study_uid in self._pending:
            return
        self._pending[study_uid] = _Pending(node, open_after)
        if series:
            self._start(study_uid, series)
            return

        def find(progress: Any) -> list[SeriesRow]:
            rows = self.service.client(node).find("SERIES", Query(study_uid=study_uid))
            return [r for r in rows if isinstance(r, SeriesRow)]

        self.service.run(f"List series on {node.name or node.address}", find,
                         lambda rows: self._start(study_uid, rows), lambda error: self._failed_listing(study_uid, error))

    def _failed_listing(self, study_uid: str, error: str) -> None:
        self._pending[study_uid].errors.append(error)
        self._finish(study_uid)

    def _start(self, study_uid: str, series: list[SeriesRow]) -> None:
        pending = self._pending[study_uid]
        pending.left = len(series)
        if not series:
            pending.errors.append("the study has no series on the node")
            self._finish(study_uid)
            return
        for row in series:
            self._start_series(study_uid, row, pending)

    def _start_series(self, study_uid: str, row: SeriesRow, pending: _Pending) -> None:
        from workstation.io.pacs.retrieve import retrieve

        def work(progress: Any) -> Any:
            client = self.service.client(pending.node, retrieving=True)
            return retrieve(client, study_uid, self.service.cache, series_uids=[row.series_uid], progress=progress,
                            node=pending.node.label)

        count = f"{row.n_instances} images" if row.n_instances is not None else "images"
        title = f"Retrieve {row.modality} #{row.number if row.number is not None else '?'} ({count})"
        job = self.service.run(title, work, lambda report: self._series_done(study_uid, report),
                               lambda error: self._series_failed(study_uid, error))
        job.cancelled.connect(lambda: self._series_failed(study_uid, "cancelled (what arrived is kept)"))

    def _series_done(self, study_uid: str, report: Any) -> None:
        pending = self._pending[study_uid]
        pending.received += len(report.received)
        if not report.complete:
            pending.errors.append(f"{report.missing} of {report.listed} images did not arrive")
        self._series_ended(study_uid)

    def _series_failed(self, study_uid: str, error: str) -> None:
        self._pending[study_uid].errors.append(error)
        self._series_ended(study_uid)

    def _series_ended(self, study_uid: str) -> None:
        pending = self._pending[study_uid]
        pending.left -= 1
        if pending.left <= 0:
            self._finish(study_uid)

    def _finish(self, study_uid: str) -> None:
        pending = self._pending.pop(study_uid)
        self.service.database_changed.emit()
        self.study_done.emit(study_uid, pending.received, pending.errors)
        if pending.open_after and self.service.database.study(study_uid) is not None:
            self.open(study_uid)

    def open(self, study_uid: str) -> None:
        """Rebuild the study from the local database (a job) and emit :attr:`study_opened`."""
        self.service.open_study(study_uid, self.study_opened.emit)
