"""The desktop application's PACS state: settings, local database, cache, our storage SCP.

One :class:`PacsService` per window.  It hands out clients for nodes, runs retrieves,
sends and echoes as jobs of the viewer's JobRunner (the job dock shows them), keeps
our storage SCP running while C-MOVE needs it or "listen" is on, and runs the analyses
routing rules ask for on studies pushed to us (one job per study).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal

from workstation.analyses.panel_api import ViewerContext
from workstation.core.paths import data_dir, folder_problem, unwritable_message, user_folder
from workstation.io.database import StudyDatabase
from workstation.io.database_rows import StudyRecord
from workstation.io.dicom_scan import ScanResult
from workstation.io.pacs.cache import StudyCache
from workstation.io.pacs.client import Client, connect
from workstation.io.pacs.config import PacsSettings
from workstation.io.pacs.listener import DEFAULT_STABLE_S, Listener
from workstation.io.pacs.nodes import DicomWebNode, Node
from workstation.io.pacs.routing import route
from workstation.io.pacs.scp import StoreServer
from workstation.jobs.runner import Job
from workstation.ui.pacs_settings import load_pacs_settings, save_pacs_settings
from workstation.ui.settings import Settings

log = logging.getLogger(__name__)


class PacsService(QObject):
    """PACS settings, database and cache shared by the PACS dialog, the database dock and "Send"."""

    study_received = Signal(object)  # StudyRecord, pushed to our storage SCP
    settings_changed = Signal()
    database_changed = Signal()

    def __init__(self, context: ViewerContext, settings: Settings | QSettings | None = None, *,
                 database: StudyDatabase | None = None, cache_root: str | Path | None = None,
                 results_dir: str | Path | None = None, stable_s: float = DEFAULT_STABLE_S) -> None:
        super().__init__()
        self.context = context
        self._settings_store = settings
        self.config = load_pacs_settings(settings)
        for problem in self.config.problems:
            log.warning("PACS settings: %s", problem)
        self._session: tempfile.TemporaryDirectory[str] | None = None
        self.database, self.cache = self._open_store(database, cache_root)
        default_results = data_dir() / "results" if not folder_problem(data_dir()) else self.cache.root.parent / "results"
        self.results_dir = Path(results_dir) if results_dir is not None else default_results
        self.stable_s = stable_s
        self._server: StoreServer | None = None
        self._listener: Listener | None = None
        self.study_received.connect(self._route)
        if self.config.listen:
            self.start_listening(report=False)

    def _open_store(self, database: StudyDatabase | None,
                    cache_root: str | Path | None) -> tuple[StudyDatabase, StudyCache]:
        """The study database and retrieve cache in the user's folders or, where those cannot
        be written (a read-only home), in a temporary folder for this session only, saying
        which folder and which variable would fix it."""
        try:
            db = database or StudyDatabase()
            return db, StudyCache(db, cache_root, limit_bytes=self.limit_bytes)
        except OSError as exc:
            folder = user_folder("data" if folder_problem(data_dir()) else "cache")
            reason = folder_problem(folder.path) or exc.strerror or type(exc).__name__
            log.warning("%s; the local study database and the PACS cache are kept for this session only",
                        unwritable_message(folder, reason))
            # removed when the service shuts down (or, failing that, when the interpreter exits)
            self._session = tempfile.TemporaryDirectory(prefix="workstation-session-")
            session = Path(self._session.name)
            db = database or StudyDatabase(session / "studies.sqlite")
            return db, StudyCache(db, session / "cache", limit_bytes=self.limit_bytes)

    @property
    def limit_bytes(self) -> int:
        return int(self.config.cache_limit_gb * 1024**3)

    @property
    def nodes(self) -> list[Node]:
        return list(self.config.nodes)

    def save(self, config: PacsSettings) -> None:
        """Keep ``config``; restart our storage SCP when its AE, port or listening changed."""
        restart = (config.local, config.listen) != (self.config.local, self.config.listen)
        self.config = config
        self.cache.limit_bytes = self.limit_bytes
        save_pacs_settings(self._settings_store, config)
        if restart:
            self.stop_server()
            if config.listen:
                self.start_listening()
        self.settings_changed.emit()

    # -- our storage SCP ------------------------------------------------------------------
    def store_server(self) -> StoreServer:
        """Our running storage SCP (the listener's, or one started for C-MOVE and kept)."""
        if self._listener is not None:
            return self._listener.server
        if self._server is None:
            self._server = StoreServer(self.config.local).start()
        return self._server

    def start_listening(self, report: bool = True) -> bool:
        """Receive pushed studies on our port; False (and a message) when the port is taken."""
        from workstation.io.pacs.errors import PacsError

        self.stop_server()
        listener = Listener(self.config.local, self.cache, self.study_received.emit, self.stable_s)
        try:
            listener.start()
        except PacsError as exc:
            self.context.notify("PACS listener", str(exc))
            return False
        self._listener = listener
        if report:
            self.context.notify("PACS listener", f"Receiving as AE {self.config.local.ae_title} "
                                f"on port {listener.port}")
        return True

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def stop_server(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    def shutdown(self) -> None:
        self.stop_server()
        if self._session is not None:
            self._session.cleanup()  # a read-only home's session-only database and cache
            self._session = None

    # -- clients and jobs -------------------------------------------------------------------
    def client(self, node: Node, *, retrieving: bool = False) -> Client:
        """The client of ``node``; for a retrieve from a C-MOVE node our storage SCP runs first."""
        needs_server = retrieving and not isinstance(node, DicomWebNode) and node.retrieve == "move"
        return connect(node, self.config.local, self.store_server() if needs_server else None)

    def run(self, title: str, work: Callable[[Any], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[str], None] | None = None) -> Job:
        """Run ``work(progress)`` as a job (shown in the job dock)."""
        return self.context.run_job(title, lambda backend, progress: work(progress), on_done, on_error)

    def open_study(self, study_uid: str, on_done: Callable[[ScanResult], None]) -> Job:
        """Rebuild a study from the local database (no rescan) in a job; ``on_done(result)``."""

        def work(progress: Any) -> ScanResult:
            study, problems = self.database.open_study(study_uid)
            return ScanResult(studies=[study] if study.series else [], problems=problems)

        return self.run("Open study from the local database", work, on_done)

    def _route(self, record: StudyRecord) -> None:
        """A pushed study arrived (GUI thread): tell the user, queue its routed analyses.

        They go to the persistent job queue, which this application's queue worker (and
        ``workstation-batch queue work`` elsewhere) runs; without a queue (its file cannot
        be written) they run as one job here.
        """
        self.database_changed.emit()
        requests = route(record, self.config.routing)
        names = ", ".join(r.analysis for r in requests)
        queue = self.context.jobs.queue
        self.context.notify("Study received", f"{len(record.series)} series, {record.n_instances} images"
                            + (f"; {'queued' if queue is not None else 'running'} {names}" if names else ""))
        if not requests:
            return
        if queue is not None:
            def enqueue(progress: Any) -> Any:
                from workstation.jobs.routed import enqueue_requests

                study, _ = self.database.open_study(record.study_uid)
                return enqueue_requests(requests, study, self.results_dir, queue=queue)

            self.run(f"Queue routed analyses: {names}", enqueue, self._queued)
            return

        def work(progress: Any) -> Any:
            from workstation.jobs.routed import run_requests

            study, _ = self.database.open_study(record.study_uid)
            return run_requests(requests, study, self.results_dir, progress=progress)

        self.run(f"Routed analyses: {names}", work, self._routed_done)

    def _queued(self, queued: list[Any]) -> None:
        failed = [f"{q.analysis}: {q.problem}" for q in queued if q.job_id is None]
        if failed:
            self.context.notify("Routed analyses not queued", "; ".join(failed))

    def _routed_done(self, outcomes: list[Any]) -> None:
        failed = [o.message for o in outcomes if not o.ok]
        if failed:
            self.context.notify("Routed analyses", "; ".join(failed))
