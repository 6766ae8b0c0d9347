"""Our storage SCP: receives C-STORE (pushed studies, C-MOVE sub-operations) and C-ECHO.

It accepts every storage SOP class in every transfer syntax pynetdicom knows, answers
only to its own AE title, and writes each instance through a
:class:`~workstation.io.pacs.transfer.SopSink`: the sink of a C-MOVE in progress
when the instance belongs to a series it asked for (:meth:`StoreServer.route`), else
the default sink (unsolicited pushes), else it refuses the instance.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import LocalAE
from workstation.io.pacs.transfer import SopSink, encoded_instance, identity

log = logging.getLogger(__name__)
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
REFUSED_UNSOLICITED = 0xA700


class StoreServer:
    """A storage SCP on ``local.store_port`` (``0``: any free port; see :attr:`port`)."""

    def __init__(self, local: LocalAE, default_sink: SopSink | None = None) -> None:
        self.local = local
        self.default_sink = default_sink
        self._routes: dict[str, SopSink] = {}
        self._lock = threading.Lock()
        self._server: Any = None
        self.refused = 0

    @property
    def port(self) -> int:
        return int(self._server.server_address[1]) if self._server is not None else self.local.store_port

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        """Listen (in background threads); :class:`PacsError` when the port is taken."""
        from pynetdicom import (
            AE,
            ALL_TRANSFER_SYNTAXES,
            AllStoragePresentationContexts,
            evt,
        )
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        ae = AE(ae_title=self.local.ae_title)
        ae.require_called_aet = True
        ae.maximum_pdu_size = 0
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(str(context.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        address = (self.local.bind_address, self.local.store_port)
        try:
            self._server = ae.start_server(address, block=False, evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        except OSError as exc:
            raise PacsError(f"storage SCP {self.local.ae_title}", Fault.CONFIG,
                            f"cannot listen on port {self.local.store_port} ({exc.strerror or exc})") from None
        log.info("storage SCP %s listening on port %d", self.local.ae_title, self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> Self:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def route(self, series_uids: Iterable[str], sink: SopSink) -> Iterator[SopSink]:
        """While inside, instances of these series go to ``sink`` (a C-MOVE we asked for)."""
        uids = list(series_uids)
        with self._lock:
            for uid in uids:
                self._routes[uid] = sink
        try:
            yield sink
        finally:
            with self._lock:
                for uid in uids:
                    if self._routes.get(uid) is sink:
                        del self._routes[uid]

    def _on_store(self, event: Any) -> int:
        raw = encoded_instance(event)
        try:
            uids = identity(raw)
        except Exception:  # noqa: BLE001 - an unreadable instance is refused, not raised
            return 0xC000
        with self._lock:
            sink = self._routes.get(uids[1], self.default_sink)
        if sink is None:
            self.refused += 1
            return REFUSED_UNSOLICITED
        return sink.receive(raw, uids)
