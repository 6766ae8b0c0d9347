"""C-GET as the SCU (PS3.4 C.4.3) over :mod:`~workstation.io.pacs.upper_layer`.

The PACS answers a C-GET-RQ with C-STORE-RQ sub-operations on the same association,
each followed (in practice) by a pending C-GET-RSP, and ends with a final C-GET-RSP.
Each instance's data fragments are streamed to its file as they arrive (no decoding:
the file is the data set as sent, behind a Part 10 header naming the negotiated
transfer syntax), then answered with a C-STORE-RSP carrying the sink's status.  The
command sets go through :mod:`~workstation.io.pacs.command_set`; pydicom (through
pynetdicom) encodes only the request's identifier and decodes a final response's.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from pydicom.dataset import Dataset

from workstation.io.pacs import command_set
from workstation.io.pacs.command_set import NO_DATA_SET
from workstation.io.pacs.transfer import IncomingInstance, SopSink
from workstation.io.pacs.upper_layer import Association, Fragment, ProtocolError

C_STORE_RQ, C_GET_RSP = 0x0001, 0x8010
PENDING = (0xFF00, 0xFF01)
#: Longest command set or response identifier we hold (they are a few hundred bytes).
MAX_SMALL_MESSAGE = 16 << 20
MESSAGE_ID = 1
Fields = dict[str, int | str]


def c_get(assoc: Association, model: str, identifier: Dataset, sink: SopSink,
          identity: Callable[[str], tuple[str, str, str]]) -> Iterator[tuple[Dataset, Dataset | None]]:
    """Send the C-GET-RQ; yield each C-GET-RSP as (command set, identifier or ``None``).

    Instances go to ``sink`` under ``identity(sop_instance_uid)`` (study, series, SOP
    instance UIDs: the request names them, so no header is parsed).  The last item
    yielded is the final response; a time-out or a peer that aborts raises the
    exception of :meth:`Association.fragments`.
    """
    from pynetdicom.dimse_messages import C_GET_RQ
    from pynetdicom.dimse_primitives import C_GET

    context_id = assoc.context_for(model)
    if context_id is None:
        raise ProtocolError("the query/retrieve context was not accepted")
    get = C_GET()
    get.MessageID = MESSAGE_ID
    get.AffectedSOPClassUID = model
    get.Priority = 0x0002  # low, as pynetdicom and dcmtk send it
    get.Identifier = io.BytesIO(_encode(identifier, assoc.accepted[context_id]))
    message = C_GET_RQ()
    message.primitive_to_message(get)
    assoc.send(message, context_id)

    command = bytearray()
    #: the instance being received: where it goes, its C-STORE-RQ, its context
    storing: tuple[IncomingInstance, Fields, int] | None = None
    #: a C-GET-RSP whose identifier (failed instance UIDs) is still arriving
    response: Fields | None = None
    response_data = bytearray()
    try:
        for fragment in assoc.fragments():
            if fragment.is_command:
                if storing is not None or response is not None:
                    raise ProtocolError("a command arrived before the last data set was complete")
                _gather(command, fragment)
                if not fragment.is_last:
                    continue
                fields = _command_set(command)
                command.clear()
                field = _number(fields, "CommandField")
                has_data = _number(fields, "CommandDataSetType") != NO_DATA_SET
                if field == C_STORE_RQ:
                    instance = _incoming(assoc, fields, fragment.context_id, sink, identity)
                    if has_data:
                        storing = (instance, fields, fragment.context_id)
                    else:  # a store without a data set: nothing to keep
                        instance.discard()
                        _answer_store(assoc, fields, fragment.context_id, 0xC000)
                elif field == C_GET_RSP:
                    _number(fields, "Status")
                    if has_data:
                        response = fields
                        continue
                    yield command_set.as_dataset(fields), None
                    if _final(fields):
                        return
                else:
                    raise ProtocolError(f"unexpected DIMSE command 0x{field & 0xFFFF:04X} during C-GET")
            elif storing is not None:
                instance, request, context_id = storing
                if fragment.context_id != context_id:
                    raise ProtocolError("data set fragments on two presentation contexts")
                instance.write(fragment.data)
                if fragment.is_last:
                    storing = None
                    _answer_store(assoc, request, context_id, instance.finish())
            elif response is not None:
                _gather(response_data, fragment)
                if fragment.is_last:
                    fields, response = response, None
                    found = _decode(bytes(response_data), assoc.accepted[fragment.context_id])
                    response_data.clear()
                    yield command_set.as_dataset(fields), found
                    if _final(fields):
                        return
            else:
                raise ProtocolError("a data set arrived without its command")
    finally:
        if storing is not None:
            storing[0].discard()


def _gather(into: bytearray, fragment: Fragment) -> None:
    if len(into) + len(fragment.data) > MAX_SMALL_MESSAGE:
        raise ProtocolError(f"a command or identifier longer than {MAX_SMALL_MESSAGE} bytes")
    into += fragment.data


def _final(fields: Fields) -> bool:
    return _number(fields, "Status") not in PENDING


def _number(fields: Fields, keyword: str) -> int:
    """A command set's US value, which must be there."""
    value = fields.get(keyword)
    if not isinstance(value, int):
        raise ProtocolError(f"a DIMSE command without its {keyword}")
    return value


def _incoming(assoc: Association, fields: Fields, context_id: int, sink: SopSink,
              identity: Callable[[str], tuple[str, str, str]]) -> IncomingInstance:
    _number(fields, "MessageID")
    sop_class = str(fields.get("AffectedSOPClassUID", ""))
    sop_instance = str(fields.get("AffectedSOPInstanceUID", ""))
    if not (sop_class and sop_instance):
        raise ProtocolError("a C-STORE request without its SOP class or SOP instance UID")
    if assoc.abstract.get(context_id) != sop_class:
        raise ProtocolError(f"a C-STORE of {sop_class} on the context of {assoc.abstract.get(context_id)}")
    return sink.incoming(identity(sop_instance), sop_class, assoc.accepted[context_id])


def _answer_store(assoc: Association, request: Fields, context_id: int, status: int) -> None:
    """The C-STORE-RSP of a sub-operation, with ``status``."""
    answer = command_set.store_response(_number(request, "MessageID"), str(request["AffectedSOPClassUID"]),
                                        str(request["AffectedSOPInstanceUID"]), status)
    assoc.send_command(context_id, answer)


def _command_set(raw: bytearray) -> Fields:
    try:
        return command_set.read(raw)
    except command_set.MalformedCommand as exc:
        raise ProtocolError(f"malformed DIMSE command ({exc})") from None


def _decode(raw: bytes, transfer_syntax: str) -> Dataset:
    from pynetdicom.dsutils import decode

    try:
        ds = decode(io.BytesIO(raw), transfer_syntax == "1.2.840.10008.1.2", transfer_syntax != "1.2.840.10008.1.2.2")
        for element in ds:  # decode every element now, so a malformed one fails here
            _ = element.value
    except Exception as exc:  # noqa: BLE001 - any decoding fault of a hostile message
        raise ProtocolError(f"malformed DIMSE message ({type(exc).__name__})") from None
    return ds


def _encode(ds: Dataset, transfer_syntax: str) -> bytes:
    from pynetdicom.dsutils import encode

    raw = encode(ds, transfer_syntax == "1.2.840.10008.1.2", transfer_syntax != "1.2.840.10008.1.2.2")
    if raw is None:
        raise ValueError("the identifier cannot be encoded")
    return bytes(raw)
