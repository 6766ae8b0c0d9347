"""Open a DICOM file's header within the file's real size, its patient's identity registered first.

pydicom trusts declared lengths: it allocates a corrupt 4 GB length before reading it,
and stops quietly where a file was cut.  Here it reads through a file object that
never returns more than the bytes left, and a value shorter than its declared length
is reported as a truncated file; a deflated dataset is inflated (and thrown away) once in
bounded pieces first, so that one that would grow past ``MAX_INFLATE_RATIO`` times the
file's size is refused before pydicom inflates it whole.  The names and IDs of the patient are registered for
redaction from their raw bytes before any value is converted, so no log line,
exception text or crash report about the file can carry them.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Optional

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from workstation.core.redact import register_sensitive
from workstation.io.dicom_values import first_text, optional
from workstation.io.errors import DicomReadError

DEFER_BYTES = 1024
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_DATA = 0x7FE00010
#: A deflated dataset may inflate to this many times its file's size (at least ``MIN_INFLATE_BYTES``).
MAX_INFLATE_RATIO = 256
MIN_INFLATE_BYTES = 16 * 2**20
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
#: Attributes naming the patient: registered for redaction from logs as soon as a file is opened.
IDENTITY_KEYWORDS = ("PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthName")


class _BoundedReader(io.BufferedReader):
    """A file whose ``read(n)`` never asks for more than the bytes left.

    pydicom allocates a declared length before reading it; a corrupt length of 4 GB
    in a 10 kB file would allocate 4 GB.  Reading through this, it gets what the file
    holds, which it then sees as the end of the file.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(io.FileIO(str(path), "rb"))
        self._size = os.fstat(self.fileno()).st_size

    def read(self, size: Optional[int] = -1, /) -> bytes:
        if size is not None and size >= 0:
            size = min(size, max(0, self._size - self.tell()))
        return super().read(size)


def _deflated_body_offset(path: Path) -> Optional[int]:
    """Where the deflated dataset starts, when the file meta names the deflated transfer syntax.

    The meta group is read by hand (explicit VR little endian, within the file): pydicom
    would inflate the rest as soon as it saw the transfer syntax.
    """
    with open(path, "rb") as fh:
        head = fh.read(132)
        if len(head) < 132 or head[128:] != b"DICM":
            return None
        syntax = b""
        while True:
            start = fh.tell()
            tag = fh.read(6)
            if len(tag) < 6:
                return None
            group, element = struct.unpack("<HH", tag[:4])
            if group != 0x0002:
                return start if syntax.rstrip(b"\0 ").decode("ascii", "replace") == DEFLATED else None
            vr = tag[4:6]
            if vr in _LONG_VRS:
                fh.read(2)
                raw = fh.read(4)
                length = struct.unpack("<I", raw)[0] if len(raw) == 4 else 0
            else:
                raw = fh.read(2)
                length = struct.unpack("<H", raw)[0] if len(raw) == 2 else 0
            value = fh.read(min(length, 1024)) if element == 0x0010 else b""
            if element == 0x0010:
                syntax = value
            else:
                fh.seek(length, os.SEEK_CUR)


def _check_inflated_size(path: Path, size: int) -> None:
    """Refuse a deflated dataset that would inflate past ``MAX_INFLATE_RATIO`` x the file."""
    offset = _deflated_body_offset(path)
    if offset is None:
        return
    limit = max(MIN_INFLATE_BYTES, MAX_INFLATE_RATIO * size)
    inflater, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(1 << 20):
            try:
                total += len(inflater.decompress(chunk, limit + 1 - total))
                while inflater.unconsumed_tail and total <= limit:
                    total += len(inflater.decompress(inflater.unconsumed_tail, limit + 1 - total))
            except zlib.error:
                raise DicomReadError(path, "corrupt deflated dataset") from None
            if total > limit:
                raise DicomReadError(path, f"deflated dataset expands beyond {MAX_INFLATE_RATIO} times the file's "
                                           f"size ({limit / 2**20:.0f} MiB)")


def _dcmread(path: Path, defer: bool, force: bool) -> Dataset:
    with _BoundedReader(path) as fh:
        return pydicom.dcmread(fh, defer_size=DEFER_BYTES if defer else None, force=force)


def _check_complete(path: Path, ds: Dataset) -> None:
    """A value shorter than its declared length means the file was cut inside the header."""
    size = file_size(path)
    meta = getattr(ds, "file_meta", None)
    deflated = first_text(optional(meta, "TransferSyntaxUID")) == DEFLATED
    for group in (meta, ds) if meta is not None else (ds,):
        for tag in list(group.keys()):
            elem = group.get_item(tag, keep_deferred=True)
            raw, length = getattr(elem, "value", None), getattr(elem, "length", 0)
            if length == 0xFFFFFFFF or not isinstance(elem, RawDataElement) or tag == PIXEL_DATA:
                continue  # pixel data is checked against its layout, with the sizes in the message
            if (isinstance(raw, bytes) and len(raw) < length) or (
                    raw is None and not deflated and elem.value_tell + length > size):
                raise DicomReadError(path, "truncated file (ends inside the header)")


def open_dataset(path: Path, *, defer: bool = True) -> Dataset:
    """Parse a file's header, with values over ``DEFER_BYTES`` left on disk.

    The patient's name and ID are registered for redaction (read from the raw bytes,
    whatever their VR) before anything else is done with the file, so no later log
    line, exception text or crash report about it can carry them.
    """
    size = file_size(path)
    if size == 0:
        raise DicomReadError(path, "empty file")
    _check_inflated_size(path, size)
    try:
        ds = _dcmread(path, defer, force=False)
    except InvalidDicomError:
        ds = None  # no preamble: maybe a raw dataset (old files, RTSTRUCT exports); try below
    except EOFError:
        raise DicomReadError(path, "truncated file (ends inside the header)") from None
    except OSError as exc:
        raise DicomReadError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a fault of the file
        raise DicomReadError(path, f"unreadable DICOM header ({type(exc).__name__})") from None
    if ds is None:
        try:
            ds = _dcmread(path, defer, force=True)
        except Exception:  # noqa: BLE001
            raise DicomReadError(path, "not a DICOM file") from None
        if "SOPClassUID" not in ds and "Modality" not in ds:
            raise DicomReadError(path, "not a DICOM file")
    register_identity(ds)
    _check_complete(path, ds)
    return ds


def raw_text(ds: Dataset, keyword: str) -> str:
    """An attribute's stored bytes as text, without pydicom's VR conversion ('' when absent)."""
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    try:
        elem = ds.get_item(tag, keep_deferred=True) if tag is not None else None
    except Exception:  # noqa: BLE001 - a malformed element holds no name to protect
        return ""
    raw = getattr(elem, "value", None)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace").strip(" \x00")
    return "" if raw is None else str(raw)


def register_identity(ds: Dataset) -> None:
    """Keep this file's patient name and IDs out of every later log line and report.

    Both the stored bytes and pydicom's reading of them are registered: a value with
    a wrong VR (a PatientID stored as FD) reads as a number, and that number, or the
    raw bytes in an exception text, would identify the patient as well.
    """
    found: list[str] = []
    for keyword in IDENTITY_KEYWORDS:
        found.append(raw_text(ds, keyword))
        converted = optional(ds, keyword)
        if isinstance(converted, (list, tuple)):
            found.extend(str(v) for v in converted)
        elif converted is not None:
            found.append(str(converted))
    register_sensitive(found)


def file_size(path: Path) -> int:
    """The size of ``path`` in bytes; an unreadable file is a :class:`DicomReadError`."""
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise DicomReadError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
