"""DIMSE command sets (PS3.7 Annex E) read and written by hand, for the C-GET receive path.

A command set is a handful of group 0000 elements, always implicit VR little endian.
A C-GET of a CT carries three per instance (the C-STORE-RQ, our C-STORE-RSP, a pending
C-GET-RSP); through pydicom they cost about 1 ms an instance, here a few microseconds.
Only the elements C-GET needs are read; lengths are checked against the bytes there.
Elements of other groups are skipped: Orthanc 1.10 sends the Failed SOP Instance UID
List of a failed C-GET inside the command set, where pydicom reads past it too.
"""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset

_ELEMENT = struct.Struct("<HHI")
_US, _UL = struct.Struct("<H"), struct.Struct("<I")

#: (0000,eeee) element -> (keyword, VR) of the elements read
ELEMENTS: dict[int, tuple[str, str]] = {
    0x0002: ("AffectedSOPClassUID", "UI"),
    0x0100: ("CommandField", "US"),
    0x0110: ("MessageID", "US"),
    0x0120: ("MessageIDBeingRespondedTo", "US"),
    0x0800: ("CommandDataSetType", "US"),
    0x0900: ("Status", "US"),
    0x0902: ("ErrorComment", "LO"),
    0x1000: ("AffectedSOPInstanceUID", "UI"),
    0x1020: ("NumberOfRemainingSuboperations", "US"),
    0x1021: ("NumberOfCompletedSuboperations", "US"),
    0x1022: ("NumberOfFailedSuboperations", "US"),
    0x1023: ("NumberOfWarningSuboperations", "US"),
}
C_STORE_RSP = 0x8001
NO_DATA_SET = 0x0101


class MalformedCommand(ValueError):
    """A command set that is not a sequence of group 0000 elements of the right sizes."""


def read(raw: bytes | bytearray) -> dict[str, int | str]:
    """The known elements of an encoded command set, by keyword (US as int, UI/LO as str)."""
    fields: dict[str, int | str] = {}
    pos, end = 0, len(raw)
    while pos < end:
        if end - pos < 8:
            raise MalformedCommand("truncated element header")
        group, element, length = _ELEMENT.unpack_from(raw, pos)
        pos += 8
        if length > end - pos:
            raise MalformedCommand(f"element ({group:04X},{element:04X}) of {length} bytes does not fit")
        # Orthanc puts a failed C-GET's identifier inside the command: other groups are skipped
        known = ELEMENTS.get(element) if group == 0x0000 else None
        if known is not None:
            keyword, vr = known
            value = raw[pos:pos + length]
            if vr == "US":
                if length != 2:
                    raise MalformedCommand(f"{keyword} of {length} bytes (US is 2)")
                fields[keyword] = _US.unpack(value)[0]
            else:
                text = bytes(value).rstrip(b"\x00 ").lstrip(b" ")
                fields[keyword] = text.decode("latin-1")  # byte for byte, to be echoed back
        pos += length
    return fields


def as_dataset(fields: dict[str, int | str]) -> Dataset:
    """The fields as a pydicom data set (what status checks read)."""
    ds = Dataset()
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    return ds


def _element(element: int, value: bytes) -> bytes:
    return _ELEMENT.pack(0x0000, element, len(value)) + value


def _uid(text: str) -> bytes:
    raw = text.encode("latin-1")
    return raw + b"\x00" if len(raw) % 2 else raw


def store_response(message_id: int, sop_class: str, sop_instance: str, status: int) -> bytes:
    """The encoded C-STORE-RSP command set answering request ``message_id`` with ``status``."""
    body = b"".join([
        _element(0x0002, _uid(sop_class)),
        _element(0x0100, _US.pack(C_STORE_RSP)),
        _element(0x0120, _US.pack(message_id)),
        _element(0x0800, _US.pack(NO_DATA_SET)),
        _element(0x0900, _US.pack(status)),
        _element(0x1000, _uid(sop_instance)),
    ])
    return _element(0x0000, _UL.pack(len(body))) + body
