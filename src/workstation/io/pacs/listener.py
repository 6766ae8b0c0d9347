"""Receive studies pushed to us: storage SCP -> cache -> database -> "study arrived".

A study counts as arrived once no instance of it has come for ``stable_s`` seconds
(PACS and modalities send a study over one or several associations with no end
marker; Orthanc's "stable study" works the same way).  Its files are then committed to
the cache (indexed in the local database) and ``on_study(record)`` runs on the
listener's own thread, never on the thread receiving data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workstation.io.database_rows import StudyRecord
from workstation.io.pacs.cache import StudyCache
from workstation.io.pacs.nodes import LocalAE
from workstation.io.pacs.scp import StoreServer
from workstation.io.pacs.transfer import Arrival, SopSink

log = logging.getLogger(__name__)
DEFAULT_STABLE_S = 10.0


class Listener:
    """Our storage SCP for unsolicited pushes (C-MOVE retrieves route around it)."""

    def __init__(self, local: LocalAE, cache: StudyCache, on_study: Callable[[StudyRecord], None],
                 stable_s: float = DEFAULT_STABLE_S) -> None:
        self.cache = cache
        self.on_study = on_study
        self.stable_s = float(stable_s)
        self.server = StoreServer(local, SopSink(cache, on_arrival=self._arrived))
        self._pending: dict[str, tuple[float, list[Path]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.studies_received = 0

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Listener:
        """Listen; :class:`~workstation.io.pacs.errors.PacsError` when the port is taken."""
        self.server.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="pacs-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; studies still settling are committed and reported now."""
        self.server.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._flush(force=True)

    def _arrived(self, arrival: Arrival) -> None:
        with self._lock:
            _, paths = self._pending.get(arrival.study_uid, (0.0, []))
            paths.append(arrival.path)
            self._pending[arrival.study_uid] = (time.monotonic(), paths)

    def _watch(self) -> None:
        while not self._stop.wait(min(0.5, self.stable_s / 4)):
            self._flush(force=False)

    def _flush(self, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            ready = [uid for uid, (last, _) in self._pending.items() if force or now - last >= self.stable_s]
            batches = [(uid, self._pending.pop(uid)[1]) for uid in ready]
        for uid, paths in batches:
            try:
                self.cache.commit(paths)
                record = self.cache.database.study(uid)
                if record is None:
                    continue
                self.studies_received += 1
                self.on_study(record)
            except Exception:
                log.exception("handling a received study failed")
