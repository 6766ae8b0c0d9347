"""DIMSE client: C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE against one node.

C-ECHO, C-FIND, C-MOVE and C-STORE go through pynetdicom; C-GET, where the PACS
sends whole series to us, through :mod:`~workstation.io.pacs.upper_layer`, which
reads its thousands of PDUs for a small fraction of pynetdicom's cost a PDU.

Every fault becomes a :class:`~workstation.io.pacs.errors.PacsError`: a failed
association is diagnosed (rejected and why, connection refused, no TCP answer, TLS
handshake, time-out), and every non-success status names the operation and its code.
pynetdicom's own log stays quiet; the error says what happened.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from workstation.core.progress import Cancelled
from workstation.io.pacs import get_scu, upper_layer
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import DimseNode, LocalAE
from workstation.io.pacs.query import (
    LEVELS,
    InstanceRow,
    Query,
    Row,
    find_identifier,
    row_from_dataset,
)
from workstation.io.pacs.scp import StoreServer
from workstation.io.pacs.status import check_status, status_of
from workstation.io.pacs.transfer import (
    COMPRESSED_SYNTAXES,
    NATIVE_SYNTAXES,
    SopSink,
)

log = logging.getLogger(__name__)
logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # faults are raised as PacsError instead

VERIFICATION = "1.2.840.10008.1.1"
PATIENT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
MAX_CONTEXTS = 128
#: Storage classes proposed for a C-GET of a series whose instances were not listed
#: (an instance of another class fails its sub-operation and is fetched by its own class
#: once the series is listed).
COMMON_STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2",  # CT
    "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.4",  # MR
    "1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.130", "1.2.840.10008.5.1.4.1.1.20",  # PET, NM
    "1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1",  # US
    "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.13.1.3",  # MG, BTO
    "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1",  # CR, DX
    "1.2.840.10008.5.1.4.1.1.12.1", "1.2.840.10008.5.1.4.1.1.12.1.1", "1.2.840.10008.5.1.4.1.1.12.2",  # XA, RF
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.2", "1.2.840.10008.5.1.4.1.1.7.3",  # SC
    "1.2.840.10008.5.1.4.1.1.7.4", "1.2.840.10008.5.1.4.1.1.77.1.4",  # SC true colour, VL photographic
    "1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.30",  # SEG, parametric map
    "1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.22", "1.2.840.10008.5.1.4.1.1.88.33",  # SR
    "1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.5.1.4.1.1.11.1",  # SR, KOS, GSPS
    "1.2.840.10008.5.1.4.1.1.481.1", "1.2.840.10008.5.1.4.1.1.481.2", "1.2.840.10008.5.1.4.1.1.481.3",  # RT
    "1.2.840.10008.5.1.4.1.1.481.5", "1.2.840.10008.5.1.4.1.1.481.8", "1.2.840.10008.5.1.4.1.1.104.1",  # RT, PDF
)


class DimseClient:
    """Talk to one DIMSE node as ``local.ae_title``.

    Each call opens its own association (with ``node.timeout_s`` for the connection,
    the association and each response) and releases it, or aborts it on error or
    cancellation.
    """

    def __init__(self, node: DimseNode, local: LocalAE | None = None, store_server: StoreServer | None = None) -> None:
        self.node = node
        self.local = local or LocalAE()
        self.store_server = store_server

    def _fail(self, fault: Fault, detail: str) -> PacsError:
        return PacsError(self.node.label, fault, detail)

    # -- association --------------------------------------------------------------------
    @contextmanager
    def association(self, contexts: Sequence[tuple[str, Sequence[str]]]) -> Iterator[Any]:
        """An established pynetdicom association proposing ``contexts`` (abstract syntax, syntaxes)."""
        from pynetdicom import AE

        ae = AE(ae_title=self.local.ae_title)
        for timeout in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
            setattr(ae, timeout, self.node.timeout_s)
        ae.maximum_pdu_size = 0  # let the peer send PDUs as large as it likes
        for abstract, syntaxes in contexts:
            ae.add_requested_context(abstract, list(syntaxes))
        tls = (self.node.tls.context(), self.node.host) if self.node.tls else None
        start = time.monotonic()
        assoc = ae.associate(self.node.host, self.node.port, ae_title=self.node.ae_title, tls_args=tls)
        if not assoc.is_established:
            raise self._association_fault(assoc, time.monotonic() - start)
        try:
            yield assoc
        except BaseException:
            assoc.abort()
            raise
        else:
            if assoc.is_established:
                assoc.release()

    def _association_fault(self, assoc: Any, elapsed: float) -> PacsError:
        answer = assoc.acceptor.primitive
        if assoc.is_rejected and answer is not None:
            return self._rejection(answer)
        if answer is not None and answer.result == 0:
            return self._nothing_accepted()
        self._probe()
        if elapsed >= 0.9 * self.node.timeout_s:
            return self._no_answer()
        return self._fail(Fault.PROTOCOL, "the PACS closed the connection during the association request")

    def _rejection(self, answer: Any) -> PacsError:
        """The fault of an A-ASSOCIATE-RJ (pynetdicom's primitive), with what to do about it."""
        reason = str(answer.reason_str)
        hint = ""
        if "Called AE" in reason:
            hint = f"; is {self.node.ae_title!r} the PACS's AE title?"
        elif "Calling AE" in reason:
            hint = f"; the PACS does not accept our AE title {self.local.ae_title!r}: register it there"
        return self._fail(Fault.REJECTED, f"{answer.result_str}, by the {answer.source_str}: {reason}{hint}")

    def _nothing_accepted(self) -> PacsError:
        return self._fail(Fault.REFUSED, "the PACS accepted none of the proposed SOP classes / transfer syntaxes")

    def _no_answer(self) -> PacsError:
        return self._fail(Fault.TIMEOUT, f"no answer to the association request within {self.node.timeout_s:g} s")

    def _probe(self) -> None:
        """Raise the network fault that stops a connection to the node, if there is one."""
        try:
            with upper_layer.connect(self.node.host, self.node.port, self.node.timeout_s, self._tls()):
                pass
        except OSError as exc:
            raise self._network_fault(exc) from None

    def _tls(self) -> ssl.SSLContext | None:
        return self.node.tls.context() if self.node.tls else None

    def _network_fault(self, exc: OSError) -> PacsError:
        """The fault of a failed TCP connection or TLS handshake to the node."""
        where = f"{self.node.host}:{self.node.port}"
        if isinstance(exc, ConnectionRefusedError):
            return self._fail(Fault.UNREACHABLE, f"connection refused at {where}: is the PACS running and is "
                              "this its DICOM port?")
        if isinstance(exc, socket.gaierror):
            return self._fail(Fault.UNREACHABLE, f"unknown host {self.node.host!r}")
        if isinstance(exc, TimeoutError):
            return self._fail(Fault.TIMEOUT, f"no TCP answer from {where} within {self.node.timeout_s:g} s")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._fail(Fault.TLS, f"the server's certificate is not trusted ({exc.verify_message})")
        if isinstance(exc, ssl.SSLError):
            return self._fail(Fault.TLS, f"TLS handshake failed ({exc.reason or exc})")
        return self._fail(Fault.UNREACHABLE, f"cannot connect to {where} ({exc.strerror or exc})")

    @contextmanager
    def _streaming_association(self, contexts: Sequence[tuple[str, Sequence[str]]],
                               scp_roles: Sequence[str]) -> Iterator[upper_layer.Association]:
        """An association on :mod:`upper_layer`, with the same faults as :meth:`association`."""
        try:
            sock = upper_layer.connect(self.node.host, self.node.port, self.node.timeout_s, self._tls())
        except OSError as exc:
            raise self._network_fault(exc) from None
        try:
            assoc = upper_layer.associate(sock, self.local.ae_title, self.node.ae_title, contexts, scp_roles)
        except upper_layer.AssociationRejected as exc:
            raise self._rejection(exc.answer) from None
        except upper_layer.NothingAccepted:
            raise self._nothing_accepted() from None
        except TimeoutError:
            raise self._no_answer() from None
        except (upper_layer.AssociationEnded, upper_layer.ProtocolError, OSError) as exc:
            raise self._fail(Fault.PROTOCOL, f"association request failed: {exc}") from None
        try:
            yield assoc
        except BaseException:
            assoc.abort()
            raise
        else:
            assoc.release()

    # -- operations ---------------------------------------------------------------------
    def echo(self) -> float:
        """C-ECHO; returns the round trip in seconds (association included)."""
        start = time.monotonic()
        with self.association([(VERIFICATION, NATIVE_SYNTAXES)]) as assoc:
            sent = time.monotonic()
            status = assoc.send_c_echo()
            check_status(self.node.label, "C-ECHO", status, time.monotonic() - sent, self.node.timeout_s)
        return time.monotonic() - start

    def find(self, level: str, query: Query) -> list[Row]:
        """C-FIND at ``PATIENT``, ``STUDY``, ``SERIES`` or ``IMAGE`` level."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}")
        model = PATIENT_FIND if level == "PATIENT" else STUDY_FIND
        rows: list[Row] = []
        with self.association([(model, NATIVE_SYNTAXES)]) as assoc:
            for status, identifier, waited in _timed(assoc.send_c_find(find_identifier(level, query), model)):
                if status_of(status) in (0xFF00, 0xFF01) and identifier is not None:
                    rows.append(row_from_dataset(level, identifier))
                else:
                    check_status(self.node.label, "C-FIND", status, waited, self.node.timeout_s)
        return rows

    def fetch(self, study_uid: str, series_uid: str, instances: Sequence[InstanceRow] | None,
              sink: SopSink, tick: Callable[[], None], sop_classes: Iterable[str] = ()) -> None:
        """Retrieve a whole series (``instances`` ``None``) or the listed instances.

        By C-GET, or by C-MOVE to our storage SCP (``store_server``, which must be
        running) when the node's ``retrieve`` is ``move``.
        """
        identifier = retrieve_identifier(study_uid, series_uid, instances)
        if self.node.retrieve != "move":
            self.get(identifier, sop_classes, sink, tick)
            return
        if self.store_server is None or not self.store_server.running:
            raise self._fail(Fault.CONFIG, "C-MOVE needs our storage SCP running (a store port)")
        with self.store_server.route([series_uid], sink):
            self.move(identifier, self.local.ae_title, tick)

    def get(self, identifier: Dataset, sop_classes: Iterable[str], sink: SopSink,
            tick: Callable[[], None]) -> None:
        """C-GET ``identifier``; each instance goes to ``sink`` on the same association.

        ``tick()`` runs after each response; raising :class:`Cancelled` from it aborts.
        """
        classes = list(dict.fromkeys(sop_classes)) or list(COMMON_STORAGE_CLASSES)
        contexts = [(STUDY_GET, NATIVE_SYNTAXES), *storage_contexts(classes, MAX_CONTEXTS - 1)]
        classes = list(dict.fromkeys(uid for uid, _ in contexts[1:]))
        study, series = str(identifier.StudyInstanceUID), str(identifier.SeriesInstanceUID)

        def identity(sop_uid: str) -> tuple[str, str, str]:
            # the request names the instance and the identifier its series: no header to parse
            return study, series, sop_uid

        with self._streaming_association(contexts, classes) as assoc:
            responses = get_scu.c_get(assoc, STUDY_GET, identifier, sink, identity)
            try:
                self._retrieve(responses, "C-GET", tick)
            except TimeoutError:
                raise self._fail(Fault.TIMEOUT, f"no answer to C-GET within {self.node.timeout_s:g} s") from None
            except (upper_layer.AssociationEnded, upper_layer.ProtocolError, OSError) as exc:
                raise self._fail(Fault.PROTOCOL, f"C-GET: {exc}") from None

    def move(self, identifier: Dataset, destination: str, tick: Callable[[], None]) -> None:
        """C-MOVE ``identifier`` to AE ``destination`` (a storage SCP the PACS knows)."""
        with self.association([(STUDY_MOVE, NATIVE_SYNTAXES)]) as assoc:
            responses = assoc.send_c_move(identifier, destination, STUDY_MOVE)
            self._retrieve(responses, "C-MOVE", tick, destination=destination)

    def _retrieve(self, responses: Iterable[tuple[Dataset, Any]], what: str,
                  tick: Callable[[], None], destination: str = "") -> None:
        for status, _, waited in _timed(responses):
            code = status_of(status)
            if code == 0xFF00:
                tick()
                continue
            if code is not None and code >= 0xA000 and destination:
                counts = [int(status.get(k, 0) or 0) for k in ("NumberOfCompletedSuboperations",
                                                                "NumberOfFailedSuboperations",
                                                                "NumberOfWarningSuboperations")]
                if code == 0xA801 or (code >= 0xC000 and not any(counts)):
                    raise self._fail(Fault.UNKNOWN_DESTINATION, (
                        f"the PACS refused to send to AE {destination!r} (status 0x{code:04X}, no sub-operation "
                        f"started): register AE {destination!r} on the PACS with our host and port "
                        f"{self.local.store_port}"))
            check_status(self.node.label, what, status, waited, self.node.timeout_s)
            tick()

    def store(self, files: Sequence[tuple[Path, str, str]], tick: Callable[[Path, str | None], None]) -> None:
        """C-STORE each ``(path, sop_class, transfer_syntax)``; ``tick(path, error)`` after each.

        Files are sent as they are on disk (no re-encoding).  A file the PACS refuses
        is reported to ``tick`` with the reason; other files still go.
        """
        pairs = list(dict.fromkeys((c, s) for _, c, s in files))
        for start in range(0, len(pairs), MAX_CONTEXTS):
            chunk = set(pairs[start:start + MAX_CONTEXTS])
            with self.association([(c, [s]) for c, s in chunk]) as assoc:
                for path, sop_class, syntax in files:
                    if (sop_class, syntax) not in chunk:
                        continue
                    sent = time.monotonic()
                    status = assoc.send_c_store(path)
                    try:
                        check_status(self.node.label, "C-STORE", status, time.monotonic() - sent, self.node.timeout_s)
                    except PacsError as exc:
                        if exc.fault in (Fault.TIMEOUT, Fault.PROTOCOL, Fault.UNREACHABLE):
                            raise
                        tick(path, exc.detail)
                    else:
                        tick(path, None)


def storage_contexts(classes: Sequence[str], budget: int) -> list[tuple[str, Sequence[str]]]:
    """Presentation contexts for receiving ``classes``, at most ``budget`` of them.

    A PACS that does not transcode sends an instance only on a context that accepted
    its stored transfer syntax, and an acceptor picks one syntax per context.  So
    every syntax gets its own context when the budget allows; otherwise each class gets
    explicit and implicit little endian apart and the compressed syntaxes together
    (whichever one the PACS picks; PACS that transcode, as Orthanc does, send any
    instance on it).  Classes past the budget are left out.
    """
    syntaxes = [*NATIVE_SYNTAXES, *COMPRESSED_SYNTAXES]
    if len(classes) * len(syntaxes) <= budget:
        return [(uid, [syntax]) for uid in classes for syntax in syntaxes]
    groups: list[Sequence[str]] = [[syntax] for syntax in NATIVE_SYNTAXES] + [COMPRESSED_SYNTAXES]
    return [(uid, group) for uid in classes[: budget // len(groups)] for group in groups]


def retrieve_identifier(study_uid: str, series_uid: str, instances: Sequence[InstanceRow] | None) -> Dataset:
    """A study-root C-GET/C-MOVE identifier for a series or a list of its instances."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES" if instances is None else "IMAGE"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    if instances is not None:
        ds.SOPInstanceUID = [row.sop_uid for row in instances]
    return ds


def _timed(responses: Iterable[tuple[Dataset, Any]]) -> Iterator[tuple[Dataset, Any, float]]:
    """Each response with the seconds waited for it (to tell a time-out from an abort)."""
    last = time.monotonic()
    for status, identifier in responses:
        now = time.monotonic()
        yield status, identifier, now - last
        last = time.monotonic()


def storage_class_name(uid: str) -> str:
    """``CT Image Storage`` for its UID (the UID itself when unknown)."""
    return UID(uid).name


__all__ = ["Cancelled", "DimseClient", "storage_class_name"]
