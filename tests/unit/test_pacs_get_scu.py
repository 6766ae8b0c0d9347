"""C-GET on our upper layer against a second implementation and against hostile peers.

* pynetdicom as the C-GET SCP (an independent DIMSE stack) serving pydicom's own test
  files: every instance arrives equal to the original, in its own transfer syntax;
  failure statuses, a full disk and a cancel each end as they should.
* A scripted peer sending bytes encoded by pynetdicom: a PDU stream read in chunks of
  every size gives the same files; oversized, truncated, aborted, silent and rejected
  answers give the stated faults; seeded mutants of a valid stream end in a file, a
  :class:`PacsError` or a C-STORE failure, never another exception, a hang or a partial
  file under a real name.
"""

from __future__ import annotations

import copy
import io
import random
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom_files import data_file

from workstation.core.progress import Cancelled
from workstation.io.pacs import command_set, upper_layer
from workstation.io.pacs.dimse import STUDY_GET, DimseClient, retrieve_identifier
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import DimseNode
from workstation.io.pacs.transfer import COMPRESSED_SYNTAXES as COMPRESSED
from workstation.io.pacs.transfer import FolderDestination, SopSink

CT = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
STUDY, SERIES = "1.2.826.0.1.3680043.8.498.7", "1.2.826.0.1.3680043.8.498.7.1"
SOURCES = ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_implicit.dcm", "JPEG2000.dcm"]


def node(port: int, timeout_s: float = 5.0, ae_title: str = "PYNETDICOM") -> DimseNode:
    return DimseNode("", ae_title, "127.0.0.1", port, timeout_s=timeout_s)


def get(client: DimseClient, folder: Path, classes: list[str],
        tick: Callable[[], None] = lambda: None) -> SopSink:
    sink = SopSink(FolderDestination(folder))
    client.get(retrieve_identifier(STUDY, SERIES, None), classes, sink, tick)
    return sink


# -- command sets, against pynetdicom's encoder and decoder -------------------------------
def _pynetdicom_command(message: Any) -> bytes:
    """The command set bytes of a pynetdicom DIMSE message."""
    command = b""
    for primitive in message.encode_msg(1, 16384):
        for _, data in primitive.presentation_data_value_list:
            if data[0] & 1:
                command += data[1:]
    return command


@pytest.mark.parametrize(("sop_instance", "status"), [("1.2.3", 0x0000), ("1.2.840.1234.5", 0xA700)])
def test_our_store_response_is_byte_for_byte_pynetdicoms(sop_instance: str, status: int) -> None:
    from pynetdicom.dimse_messages import C_STORE_RSP
    from pynetdicom.dimse_primitives import C_STORE

    answer = C_STORE()
    answer.MessageIDBeingRespondedTo, answer.AffectedSOPClassUID = 517, CT
    answer.AffectedSOPInstanceUID, answer.Status = sop_instance, status
    message = C_STORE_RSP()
    message.primitive_to_message(answer)
    assert command_set.store_response(517, CT, sop_instance, status) == _pynetdicom_command(message)


def test_command_sets_read_as_pynetdicom_wrote_them() -> None:
    from pynetdicom.dimse_messages import C_GET_RSP
    from pynetdicom.dimse_primitives import C_GET

    response = C_GET()
    response.MessageIDBeingRespondedTo, response.AffectedSOPClassUID, response.Status = 1, STUDY_GET, 0xB000
    response.NumberOfRemainingSuboperations, response.NumberOfCompletedSuboperations = 0, 297
    response.NumberOfFailedSuboperations, response.NumberOfWarningSuboperations = 3, 0
    response.ErrorComment = "three files missing"
    message = C_GET_RSP()
    message.primitive_to_message(response)
    fields = command_set.read(_pynetdicom_command(message))
    assert fields == {"AffectedSOPClassUID": STUDY_GET, "CommandField": 0x8010, "MessageIDBeingRespondedTo": 1,
                      "CommandDataSetType": 0x0101, "Status": 0xB000, "ErrorComment": "three files missing",
                      "NumberOfRemainingSuboperations": 0, "NumberOfCompletedSuboperations": 297,
                      "NumberOfFailedSuboperations": 3, "NumberOfWarningSuboperations": 0}
    store = store_request(instances(1)[0], 9)
    length = struct.unpack_from(">L", store, 6)[0]  # the first PDV holds the whole command
    fields = command_set.read(store[12:12 + length - 2])
    assert (fields["CommandField"], fields["MessageID"], fields["AffectedSOPInstanceUID"]) == (1, 9, f"{SERIES}.1")


def test_elements_outside_the_command_group_are_skipped() -> None:
    """Orthanc 1.10 ends a failed C-GET's command with the Failed SOP Instance UID List."""
    status = struct.pack("<HHI", 0, 0x0900, 2) + b"\x00\xc0"
    failed = struct.pack("<HHI", 8, 0, 4) + struct.pack("<I", 12) + struct.pack("<HHI", 8, 0x58, 4) + b"1.2\x00"
    assert command_set.read(status + failed) == {"Status": 0xC000}


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's word on the long UID, which is the point
def test_the_part10_header_keeps_odd_uids_and_refuses_unwritable_ones(tmp_path: Path) -> None:
    from workstation.io.pacs.transfer import part10_header

    long_uid = "1.2.826.0.1.3680043.8.498." + "1234567890" * 5  # longer than the standard's 64
    path = tmp_path / "x.dcm"
    path.write_bytes(part10_header(CT, long_uid, EXPLICIT) + b"\x08\x00\x18\x00UI\x04\x001.2\x00")
    meta = pydicom.dcmread(path).file_meta
    assert (meta.MediaStorageSOPInstanceUID, meta.TransferSyntaxUID) == (long_uid, EXPLICIT)
    for bad in ("", "1.2.3\n", "1.2 3", "1.2\u00ae"):
        with pytest.raises(ValueError, match="not a UID"):
            part10_header(CT, bad, EXPLICIT)


@pytest.mark.parametrize(("raw", "words"), [
    (b"\x00\x00\x00\x01\x02\x00", "truncated element header"),
    (struct.pack("<HHI", 8, 0x58, 40) + b"1\x00", "element (0008,0058) of 40 bytes does not fit"),
    (struct.pack("<HHI", 0, 0x0900, 400) + b"\x00\x00", "element (0000,0900) of 400 bytes does not fit"),
    (struct.pack("<HHI", 0, 0x0900, 4) + bytes(4), "Status of 4 bytes (US is 2)"),
])
def test_malformed_command_sets_are_named(raw: bytes, words: str) -> None:
    with pytest.raises(command_set.MalformedCommand, match=re.escape(words)):
        command_set.read(raw)


# -- pynetdicom as the PACS -------------------------------------------------------------
@pytest.fixture
def pynetdicom_scp() -> Iterator[dict[str, Any]]:
    """A pynetdicom C-GET SCP on a loopback port; ``state["serve"]`` says what it answers."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

    state: dict[str, Any] = {"serve": []}

    def on_get(event: Any) -> Iterator[Any]:
        answers = state["serve"]
        yield len(answers)
        for status, ds in answers:
            if event.is_cancelled:
                yield 0xFE00, None
                return
            yield status, ds

    ae = AE(ae_title="PYNETDICOM")
    ae.add_supported_context(STUDY_GET)
    for name in SOURCES:
        uid = pydicom.dcmread(data_file(name), stop_before_pixels=True).SOPClassUID
        ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_GET, on_get)])
    assert server is not None
    state["port"] = server.server_address[1]
    yield state
    server.shutdown()


def test_every_instance_from_pynetdicom_equals_the_original(pynetdicom_scp: dict[str, Any], tmp_path: Path) -> None:
    """Each in its stored transfer syntax (pynetdicom does not transcode)."""
    originals = {name: pydicom.dcmread(data_file(name)) for name in SOURCES}
    for k, ds in enumerate(originals.values()):  # some of them share an instance UID
        ds.SOPInstanceUID = f"{SERIES}.{k + 1}"
    pynetdicom_scp["serve"] = [(0xFF00, ds) for ds in originals.values()]
    classes = list(dict.fromkeys(str(ds.SOPClassUID) for ds in originals.values()))
    ticks: list[int] = []
    sink = get(DimseClient(node(pynetdicom_scp["port"])), tmp_path, classes, lambda: ticks.append(1))
    assert sink.failures == [] and sink.count == len(SOURCES)
    assert len(ticks) == len(SOURCES) + 1  # a pending response per instance and the final one
    by_uid = {str(ds.SOPInstanceUID): ds for ds in originals.values()}
    for arrival in sink.arrivals:
        got = pydicom.dcmread(arrival.path)
        original = by_uid[arrival.sop_uid]
        assert got.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert got.SOPClassUID == original.SOPClassUID and got.SOPInstanceUID == original.SOPInstanceUID
        np.testing.assert_array_equal(got.pixel_array, original.pixel_array)
        assert arrival.path == FolderDestination(tmp_path).path_for(STUDY, SERIES, arrival.sop_uid)
        assert arrival.size == arrival.path.stat().st_size
    assert not list(tmp_path.rglob("*.part"))


def test_many_classes_get_grouped_contexts() -> None:
    from workstation.io.pacs.dimse import COMMON_STORAGE_CLASSES, storage_contexts

    few = storage_contexts([CT], 127)
    assert len(few) == 12 and all(len(syntaxes) == 1 for _, syntaxes in few)
    many = storage_contexts(list(COMMON_STORAGE_CLASSES), 127)
    assert len(many) == 3 * len(COMMON_STORAGE_CLASSES) <= 127
    assert many[:3] == [(COMMON_STORAGE_CLASSES[0], ["1.2.840.10008.1.2.1"]),
                        (COMMON_STORAGE_CLASSES[0], ["1.2.840.10008.1.2"]),
                        (COMMON_STORAGE_CLASSES[0], COMPRESSED)]
    assert len(storage_contexts([f"1.2.3.{k}" for k in range(60)], 127)) == 42 * 3


def test_a_failure_status_of_the_pacs_is_a_refused_request(pynetdicom_scp: dict[str, Any], tmp_path: Path) -> None:
    pynetdicom_scp["serve"] = [(0xC000, None)]
    with pytest.raises(PacsError) as caught:
        get(DimseClient(node(pynetdicom_scp["port"])), tmp_path, [CT])
    assert caught.value.fault is Fault.REFUSED
    assert "C-GET failed with status 0xC000 (unable to process)" in str(caught.value)


def test_an_unwritable_destination_fails_each_sub_operation(pynetdicom_scp: dict[str, Any], tmp_path: Path) -> None:
    """Each C-STORE is answered "out of resources"; pynetdicom then ends with 0xA702."""
    ds = pydicom.dcmread(data_file("CT_small.dcm"))
    pynetdicom_scp["serve"] = [(0xFF00, ds), (0xFF00, ds)]
    blocked = tmp_path / "file"
    blocked.write_text("a file where the study folder should be")
    sink = SopSink(FolderDestination(blocked))
    with pytest.raises(PacsError) as caught:
        DimseClient(node(pynetdicom_scp["port"])).get(retrieve_identifier(STUDY, SERIES, None), [CT], sink,
                                                      lambda: None)
    assert "C-GET failed with status 0xA702" in str(caught.value)
    assert sink.count == 0 and len(sink.failures) == 2
    assert all(f.startswith("cannot write a received instance") for f in sink.failures)


def test_a_cancel_aborts_and_keeps_what_arrived(pynetdicom_scp: dict[str, Any], tmp_path: Path) -> None:
    originals = [pydicom.dcmread(data_file(name)) for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm")]
    pynetdicom_scp["serve"] = [(0xFF00, ds) for ds in originals]
    classes = list(dict.fromkeys(str(ds.SOPClassUID) for ds in originals))

    def cancel_after_first() -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        get(DimseClient(node(pynetdicom_scp["port"])), tmp_path, classes, cancel_after_first)
    kept = list(tmp_path.rglob("*.dcm"))
    assert len(kept) == 1 and pydicom.dcmread(kept[0]).SOPInstanceUID == originals[0].SOPInstanceUID
    assert not list(tmp_path.rglob("*.part"))


# -- a scripted peer ---------------------------------------------------------------------
def _pdata(message: Any, context_id: int, max_pdu: int = 16384) -> bytes:
    from pynetdicom.pdu import P_DATA_TF

    out = b""
    for primitive in message.encode_msg(context_id, max_pdu):
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        out += pdu.encode()
    return out


def accept_answer(results: dict[int, str | None], max_pdu: int = 16384) -> bytes:
    """A-ASSOCIATE-AC accepting the given context IDs (None: refused), encoded by pynetdicom."""
    from pynetdicom.pdu import A_ASSOCIATE_AC
    from pynetdicom.pdu_primitives import A_ASSOCIATE, ImplementationClassUIDNotification, MaximumLengthNotification
    from pynetdicom.presentation import PresentationContext

    primitive = A_ASSOCIATE()
    primitive.application_context_name = upper_layer.APPLICATION_CONTEXT
    primitive.calling_ae_title = "WORKSTATION"
    primitive.called_ae_title = "SCRIPTED"
    primitive.result = 0
    contexts = []
    for context_id, syntax in results.items():
        context = PresentationContext()
        context.context_id = context_id
        context.result = 0 if syntax else 4
        context.transfer_syntax = [syntax or EXPLICIT]
        contexts.append(context)
    primitive.presentation_context_definition_results_list = contexts
    length = MaximumLengthNotification()
    length.maximum_length_received = max_pdu
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.3.4"
    primitive.user_information = [length, implementation]
    return bytes(A_ASSOCIATE_AC(primitive).encode())


def store_request(ds: Dataset, message_id: int, context_id: int = 3, max_pdu: int = 16384) -> bytes:
    from pynetdicom.dimse_messages import C_STORE_RQ
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.dsutils import encode

    request = C_STORE()
    request.MessageID = message_id
    request.AffectedSOPClassUID = ds.SOPClassUID
    request.AffectedSOPInstanceUID = ds.SOPInstanceUID
    request.Priority = 2
    request.DataSet = io.BytesIO(encode(ds, False, True) or b"")
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    return _pdata(message, context_id, max_pdu)


def get_response(status: int, remaining: int | None = None) -> bytes:
    from pynetdicom.dimse_messages import C_GET_RSP
    from pynetdicom.dimse_primitives import C_GET

    response = C_GET()
    response.MessageIDBeingRespondedTo = 1
    response.AffectedSOPClassUID = STUDY_GET
    response.Status = status
    if remaining is not None:
        response.NumberOfRemainingSuboperations = remaining
    message = C_GET_RSP()
    message.primitive_to_message(response)
    return _pdata(message, 1)


def instances(count: int) -> list[Dataset]:
    base = pydicom.dcmread(data_file("CT_small.dcm"))
    out: list[Dataset] = []
    for k in range(count):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID = f"{SERIES}.{k + 1}"
        out.append(ds)
    return out


def valid_stream(count: int = 2, max_pdu: int = 16384) -> bytes:
    """What a PACS sends for a C-GET of ``count`` CT instances (after the AC)."""
    body = b""
    for k, ds in enumerate(instances(count)):
        body += store_request(ds, k + 1, max_pdu=max_pdu) + get_response(0xFF00, count - k - 1)
    return body + get_response(0x0000, 0)


class ScriptedPeer:
    """A TCP peer that reads the association request, sends ``script``, then reads until EOF.

    ``chunk`` bytes at a time when set (to split PDUs at every place); ``close`` ends the
    sending side after the script (else it stays silent).
    """

    def __init__(self, script: bytes, chunk: int = 0, close: bool = True) -> None:
        self.script, self.chunk, self.close = script, chunk, close
        self.received = bytearray()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            try:
                header = _recv_exactly(conn, 6)
                _recv_exactly(conn, struct.unpack(">L", header[2:])[0])
                step = self.chunk or len(self.script) or 1
                for start in range(0, len(self.script), step):
                    conn.sendall(self.script[start:start + step])
                if self.close:
                    conn.shutdown(socket.SHUT_WR)
                while data := conn.recv(65536):
                    self.received += data
            except OSError:
                pass

    def stop(self) -> None:
        self.thread.join(10)
        self.listener.close()


def _recv_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        got = conn.recv(count - len(data))
        if not got:
            raise OSError("closed")
        data += got
    return data


ACCEPT = {1: EXPLICIT, 3: EXPLICIT, 5: None}


def scripted_get(tmp_path: Path, script: bytes, chunk: int = 0, close: bool = True,
                 timeout_s: float = 5.0) -> tuple[SopSink, ScriptedPeer]:
    peer = ScriptedPeer(script, chunk, close)
    try:
        return get(DimseClient(node(peer.port, timeout_s, "SCRIPTED")), tmp_path, [CT]), peer
    finally:
        peer.stop()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 16390, 1 << 20])
def test_pdus_split_anywhere_give_the_same_files(tmp_path: Path, chunk: int) -> None:
    stream = valid_stream(3)
    sink, peer = scripted_get(tmp_path / str(chunk), accept_answer(ACCEPT) + stream, chunk)
    assert sink.failures == [] and sorted(a.sop_uid for a in sink.arrivals) == [f"{SERIES}.{k}" for k in (1, 2, 3)]
    originals = {str(ds.SOPInstanceUID): ds for ds in instances(3)}
    for arrival in sink.arrivals:
        got = pydicom.dcmread(arrival.path)
        np.testing.assert_array_equal(got.pixel_array, originals[arrival.sop_uid].pixel_array)
    # three C-STORE-RSPs with success, then A-RELEASE-RQ
    assert peer.received.count(b"\x01\x80") >= 3 and bytes(peer.received[-10:]) == b"\x05\x00\x00\x00\x00\x04" + bytes(4)


def test_large_pdus_are_taken_up_to_our_limit(tmp_path: Path) -> None:
    sink, _ = scripted_get(tmp_path, accept_answer(ACCEPT) + valid_stream(2, max_pdu=upper_layer.MAX_PDU))
    assert sink.count == 2


def test_a_pdu_longer_than_we_accept_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = struct.pack(">BBL", 4, 0, 0xFFFFFFF0)
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, accept_answer(ACCEPT) + huge)
    assert caught.value.fault is Fault.PROTOCOL
    assert f"PDU of {0xFFFFFFF0} bytes, more than the {upper_layer.MAX_PDU} we accept" in str(caught.value)


@pytest.mark.parametrize(("tail", "words"), [
    (b"\x07\x00\x00\x00\x00\x04\x00\x00\x02\x00", "C-GET: the PACS aborted the association"),
    (b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00", "C-GET: the PACS released the association"),
    (b"", "C-GET: the PACS closed the connection"),
    (b"\x01\x00\x00\x00\x00\x00", "C-GET: unexpected PDU type 0x01 during data transfer"),
    (struct.pack(">BBLLBB", 4, 0, 6, 2, 9, 3), "data on presentation context 9, which was not accepted"),
    (struct.pack(">BBLLBB", 4, 0, 6, 200, 1, 3), "presentation data value of 200 bytes does not fit its PDU"),
])
def test_a_peer_that_breaks_off_is_a_protocol_error(tmp_path: Path, tail: bytes, words: str) -> None:
    partial = store_request(instances(1)[0], 1)[:5000]  # the command and part of the data set
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, accept_answer(ACCEPT) + _whole_pdus(partial) + tail)
    assert caught.value.fault is Fault.PROTOCOL and words in str(caught.value)
    assert not list(tmp_path.rglob("*.dcm")) and not list(tmp_path.rglob("*.part"))


def _whole_pdus(stream: bytes) -> bytes:
    """The longest prefix of ``stream`` made of whole PDUs."""
    pos = 0
    while pos + 6 <= len(stream):
        length = struct.unpack_from(">L", stream, pos + 2)[0]
        if pos + 6 + length > len(stream):
            break
        pos += 6 + length
    return stream[:pos]


def test_a_silent_peer_is_a_time_out(tmp_path: Path) -> None:
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, accept_answer(ACCEPT), close=False, timeout_s=0.5)
    assert caught.value.fault is Fault.TIMEOUT and "no answer to C-GET within 0.5 s" in str(caught.value)
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, b"", close=False, timeout_s=0.5)
    assert caught.value.fault is Fault.TIMEOUT
    assert str(caught.value).endswith("no answer to the association request within 0.5 s")


def test_a_rejection_names_its_reason(tmp_path: Path) -> None:
    from pynetdicom.pdu import A_ASSOCIATE_RJ
    from pynetdicom.pdu_primitives import A_ASSOCIATE

    primitive = A_ASSOCIATE()
    primitive.result, primitive.result_source, primitive.diagnostic = 0x01, 0x01, 0x07
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, bytes(A_ASSOCIATE_RJ(primitive).encode()))
    assert caught.value.fault is Fault.REJECTED and str(caught.value).endswith(
        "Rejected Permanent, by the Service User: Called AE title not recognised; is 'SCRIPTED' the PACS's AE title?")


def test_nothing_accepted_is_a_refusal(tmp_path: Path) -> None:
    with pytest.raises(PacsError) as caught:
        scripted_get(tmp_path, accept_answer({1: None, 3: None, 5: None}))
    assert caught.value.fault is Fault.REFUSED and "accepted none of the proposed" in str(caught.value)


def test_a_store_without_a_data_set_is_answered_with_a_failure(tmp_path: Path) -> None:
    from pynetdicom.dimse_messages import C_STORE_RQ
    from pynetdicom.dimse_primitives import C_STORE

    request = C_STORE()
    request.MessageID, request.AffectedSOPClassUID, request.AffectedSOPInstanceUID = 7, CT, f"{SERIES}.1"
    request.Priority = 2
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    sink, peer = scripted_get(tmp_path, accept_answer(ACCEPT) + _pdata(message, 3) + get_response(0xB000, 0))
    assert sink.count == 0 and b"\x00\x00\x00\x09\x02\x00\x00\x00\x00\xc0" in peer.received  # Status 0xC000


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's words on the mutated UIDs
def test_seeded_mutants_end_in_files_or_a_named_fault(tmp_path: Path) -> None:
    """300 mutants: bytes flipped, runs dropped or repeated, lengths altered."""
    original = accept_answer(ACCEPT) + valid_stream(2, max_pdu=4096)
    rng = random.Random(20261202)
    outcomes: dict[str, int] = {}
    for k in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data))
            action = rng.choice(["flip", "drop", "repeat", "length"])
            if action == "flip":
                data[where] ^= 1 << rng.randrange(8)
            elif action == "drop":
                del data[where:where + rng.randint(1, 64)]
            elif action == "repeat":
                data[where:where] = data[where:where + rng.randint(1, 64)]
            else:
                data[where:where + 4] = struct.pack(">L", rng.choice([0, 1, 5, 0xFFFF, 0x7FFFFFFF]))
        folder = tmp_path / str(k)
        try:
            sink, _ = scripted_get(folder, bytes(data), timeout_s=2.0)
        except PacsError as exc:
            outcomes[exc.fault.name] = outcomes.get(exc.fault.name, 0) + 1
        else:
            outcomes["done"] = outcomes.get("done", 0) + 1
            for arrival in sink.arrivals:
                assert arrival.path.stat().st_size == arrival.size
        assert not list(folder.rglob("*.part"))
    assert outcomes.get("PROTOCOL", 0) > 100 and sum(outcomes.values()) == 300
