"""A DICOM upper layer association (PS3.8) on one socket, read through one buffer.

This carries C-GET, where the PACS sends whole series to us: Orthanc sends 16 KB
PDUs, so a 300-slice CT is about 10,000 of them.  pynetdicom handles each PDU in
Python across two threads and several queues, about 150 us a PDU: 1.5 s for that CT,
twice dcmtk's whole transfer.  Here PDUs are read into one reusable buffer, large reads at a time,
and each data fragment is handed on as a memory view of it, for a few microseconds a
PDU.  pynetdicom's PDU and DIMSE message classes still encode and decode everything
that is not a data fragment: the association request and its answer, and the command
sets.

Memory is bounded: we announce :data:`MAX_PDU` as the longest PDU we take and refuse
a longer one; the buffer holds one PDU and what was read past it.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from workstation.io.pacs.transfer import IMPLEMENTATION_VERSION

#: The longest P-DATA-TF variable field we accept (announced in the request).
MAX_PDU = 1 << 20
#: The shortest maximum PDU length of a peer we talk to (dcmtk's own minimum).
MIN_PEER_PDU = 4096
#: How much is read from the socket at a time, at most (several PDUs of a fast sender).
READ_AHEAD = 1 << 22
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
_HEADER = struct.Struct(">BBL")
_PDV = struct.Struct(">LBB")
P_DATA, RELEASE_RQ, RELEASE_RP, ABORT = 0x04, 0x05, 0x06, 0x07
ASSOCIATE_AC, ASSOCIATE_RJ = 0x02, 0x03


class ProtocolError(Exception):
    """The peer broke PS3.8 (a malformed, oversized or unexpected PDU)."""


class AssociationEnded(Exception):
    """The peer aborted, released or closed the connection before we were done."""


class AssociationRejected(Exception):
    """The peer answered the request with A-ASSOCIATE-RJ; ``answer`` is pynetdicom's primitive."""

    def __init__(self, answer: Any) -> None:
        super().__init__(str(answer.reason_str))
        self.answer = answer


class NothingAccepted(Exception):
    """The peer accepted the association but none of the proposed presentation contexts."""


@dataclass(frozen=True)
class Fragment:
    """One presentation data value: its context, whether command or data, last or not.

    ``data`` is a view into the receive buffer, valid until the next fragment is read.
    """

    context_id: int
    is_command: bool
    is_last: bool
    data: memoryview


class Association:
    """An established association: accepted contexts, send DIMSE messages, read fragments.

    Use :func:`associate` to open one; :meth:`release` ends it politely, :meth:`abort`
    at once; both close the socket.
    """

    def __init__(self, sock: socket.socket, abstract: dict[int, str], accepted: dict[int, str],
                 peer_max_pdu: int, reader: _Reader) -> None:
        self.sock = sock
        #: context ID -> abstract syntax (SOP class) proposed in it
        self.abstract = abstract
        #: context ID -> transfer syntax, for every accepted context
        self.accepted = accepted
        self.peer_max_pdu = peer_max_pdu
        self._reader = reader

    def context_for(self, abstract_syntax: str) -> int | None:
        """The first accepted context ID proposing ``abstract_syntax``."""
        for context_id, syntax in self.accepted.items():
            if self.abstract.get(context_id) == abstract_syntax and syntax:
                return context_id
        return None

    def send(self, message: Any, context_id: int) -> None:
        """Send a pynetdicom DIMSE message (command set and data set) on ``context_id``."""
        from pynetdicom.pdu import P_DATA_TF

        chunks = []
        for primitive in message.encode_msg(context_id, self.peer_max_pdu):
            pdu = P_DATA_TF()
            pdu.from_primitive(primitive)
            chunks.append(pdu.encode())
        self.sock.sendall(b"".join(chunks))

    def send_command(self, context_id: int, command: bytes) -> None:
        """Send an encoded command set with no data set (in PDUs the peer takes)."""
        step = self.peer_max_pdu - 6
        chunks = []
        for start in range(0, len(command), step):
            piece = command[start:start + step]
            control = 0x03 if start + step >= len(command) else 0x01
            chunks.append(_HEADER.pack(P_DATA, 0, len(piece) + 6) + _PDV.pack(len(piece) + 2, context_id, control)
                          + piece)
        self.sock.sendall(b"".join(chunks))

    def fragments(self) -> Iterator[Fragment]:
        """Every presentation data value the peer sends, in order.

        Raises :class:`AssociationEnded` when the peer aborts, asks for release or
        closes the connection, :class:`ProtocolError` for a PDU that is not P-DATA-TF
        or is malformed, :class:`TimeoutError` when the peer is silent for the socket's
        time-out.
        """
        reader = self._reader
        buf = reader.buffer
        while True:
            kind, start, end = reader.pdu()
            if kind != P_DATA:
                if kind == RELEASE_RQ:
                    self._send_quietly(_encode(RELEASE_RP))
                    self.close()
                    raise AssociationEnded("the PACS released the association")
                if kind == ABORT:
                    self.close()
                    raise AssociationEnded("the PACS aborted the association")
                raise ProtocolError(f"unexpected PDU type 0x{kind:02X} during data transfer")
            pos = start
            while pos < end:
                if end - pos < 6:
                    raise ProtocolError("truncated presentation data value item")
                length, context_id, control = _PDV.unpack_from(buf, pos)
                if length < 2 or pos + 4 + length > end:
                    raise ProtocolError(f"presentation data value of {length} bytes does not fit its PDU")
                if context_id not in self.accepted:
                    raise ProtocolError(f"data on presentation context {context_id}, which was not accepted")
                yield Fragment(context_id, bool(control & 1), bool(control & 2),
                               reader.view[pos + 6:pos + 4 + length])
                pos += 4 + length

    def release(self) -> None:
        """A-RELEASE: ask, wait (the socket's time-out) for the answer, close."""
        try:
            self.sock.sendall(_encode(RELEASE_RQ))
            while True:
                kind, _, _ = self._reader.pdu()
                if kind in (RELEASE_RP, ABORT):
                    break
                if kind == RELEASE_RQ:  # both sides asked at once (PS3.8 9.2.3)
                    self.sock.sendall(_encode(RELEASE_RP))
                    break
        except (OSError, AssociationEnded, ProtocolError):
            pass  # everything wanted has arrived; a peer that does not answer is closed on
        finally:
            self.close()

    def abort(self) -> None:
        """A-ABORT (by the service user), then close."""
        self._send_quietly(_encode(ABORT, b"\x00\x00\x00\x00"))
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _send_quietly(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass


class _Reader:
    """Whole PDUs from a socket through one buffer; at most ``limit`` bytes of PDU body."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.sock = sock
        self.limit = limit
        self.buffer = bytearray(max(READ_AHEAD, 2 * (limit + 6)))
        self.view = memoryview(self.buffer)
        self.start = self.end = 0

    def pdu(self) -> tuple[int, int, int]:
        """The next PDU: (type, start, end) of its body within :attr:`buffer`."""
        self._fill(6)
        kind, _, length = _HEADER.unpack_from(self.buffer, self.start)
        if length > self.limit:
            raise ProtocolError(f"PDU of {length} bytes, more than the {self.limit} we accept")
        self._fill(6 + length)
        body = self.start + 6
        self.start = body + length
        return kind, body, body + length

    def body(self, start: int, end: int) -> bytes:
        return bytes(self.view[start:end])

    def _fill(self, count: int) -> None:
        if self.end - self.start >= count:
            return
        if self.start + count > len(self.buffer):
            held = self.end - self.start
            self.buffer[:held] = self.buffer[self.start:self.end]
            self.start, self.end = 0, held
        while self.end - self.start < count:
            got = self.sock.recv_into(self.view[self.end:])
            if not got:
                raise AssociationEnded("the PACS closed the connection")
            self.end += got


def _encode(kind: int, body: bytes = b"\x00\x00\x00\x00") -> bytes:
    """A PDU of ``kind`` with ``body`` (release and abort PDUs carry 4 reserved bytes)."""
    return _HEADER.pack(kind, 0, len(body)) + body


def connect(host: str, port: int, timeout_s: float, tls: ssl.SSLContext | None) -> socket.socket:
    """A TCP connection (TLS when ``tls``) with ``timeout_s`` for it and every later wait."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            return tls.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    return sock


def associate(sock: socket.socket, calling: str, called: str, contexts: Sequence[tuple[str, Sequence[str]]],
              scp_roles: Sequence[str] = ()) -> Association:
    """Request an association on ``sock`` proposing ``contexts`` (abstract syntax, syntaxes).

    ``scp_roles``: SOP classes for which we offer the SCP role (C-GET's storage
    sub-operations come to us).  Raises :class:`AssociationRejected`,
    :class:`NothingAccepted`, :class:`AssociationEnded`, :class:`ProtocolError` or
    :class:`TimeoutError`; the socket is closed on any of them.
    """
    from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ

    reader = _Reader(sock, MAX_PDU)
    abstract = {2 * k + 1: uid for k, (uid, _) in enumerate(contexts)}
    try:
        sock.sendall(_request(calling, called, contexts, scp_roles))
        kind, start, end = reader.pdu()
        raw = _encode(kind, reader.body(start, end))
        if kind == ABORT:
            raise AssociationEnded("the PACS aborted the association request")
        if kind not in (ASSOCIATE_AC, ASSOCIATE_RJ):
            raise ProtocolError(f"PDU type 0x{kind:02X} in answer to the association request")
        try:
            answer = A_ASSOCIATE_AC() if kind == ASSOCIATE_AC else A_ASSOCIATE_RJ()
            answer.decode(raw)
            primitive = answer.to_primitive()
            if kind == ASSOCIATE_RJ:
                # a result, source or reason outside PS3.8 fails here, not in the message
                _ = (str(primitive.result_str), str(primitive.source_str), str(primitive.reason_str))
            else:
                accepted = {int(c.context_id or 0): str(c.transfer_syntax[0])
                            for c in primitive.presentation_context_definition_results_list
                            if c.result == 0 and c.transfer_syntax and (c.context_id or 0) in abstract}
                peer_max = int(primitive.maximum_length_received or 0)
        except Exception as exc:  # noqa: BLE001 - any decoding fault of a hostile answer
            raise ProtocolError(f"malformed association answer ({type(exc).__name__})") from None
        if kind == ASSOCIATE_RJ:
            raise AssociationRejected(primitive)
    except BaseException:
        sock.close()
        raise
    refused = Association(sock, abstract, {}, 0, reader)
    if not accepted:
        refused.abort()
        raise NothingAccepted()
    if 0 < peer_max < MIN_PEER_PDU:
        refused.abort()
        raise ProtocolError(f"the PACS takes PDUs of at most {peer_max} bytes (fewer than {MIN_PEER_PDU})")
    # 0 means "no limit"; send in PDUs no longer than the peer takes (and a sane size)
    send_max = min(peer_max, MAX_PDU) if peer_max else MAX_PDU
    return Association(sock, abstract, accepted, send_max, reader)


def _request(calling: str, called: str, contexts: Sequence[tuple[str, Sequence[str]]],
             scp_roles: Sequence[str]) -> bytes:
    """The encoded A-ASSOCIATE-RQ PDU."""
    from pynetdicom.pdu import A_ASSOCIATE_RQ
    from pynetdicom.pdu_primitives import (
        A_ASSOCIATE,
        ImplementationClassUIDNotification,
        ImplementationVersionNameNotification,
        MaximumLengthNotification,
        SCP_SCU_RoleSelectionNegotiation,
    )
    from pynetdicom.presentation import PresentationContext

    if not 1 <= len(contexts) <= 128:
        raise ValueError("an association proposes 1 to 128 presentation contexts")
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    proposed = []
    for k, (uid, syntaxes) in enumerate(contexts):
        context = PresentationContext()
        context.context_id = 2 * k + 1
        context.abstract_syntax = uid
        context.transfer_syntax = list(syntaxes)
        proposed.append(context)
    primitive.presentation_context_definition_list = proposed
    length = MaximumLengthNotification()
    length.maximum_length_received = MAX_PDU
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = PYDICOM_IMPLEMENTATION_UID
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = IMPLEMENTATION_VERSION
    items: list[Any] = [length, implementation, version]
    for uid in dict.fromkeys(scp_roles):
        role = SCP_SCU_RoleSelectionNegotiation()
        role.sop_class_uid = uid
        role.scu_role = False
        role.scp_role = True
        items.append(role)
    primitive.user_information = items
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())
