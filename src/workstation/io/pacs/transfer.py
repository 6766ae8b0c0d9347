"""Where received instances go: destinations, and the sink that writes them safely.

Every instance is written to ``<root>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``
as a temporary file first and moved into place (``os.replace``), so a cancelled or
broken transfer never leaves a partial file under a real name; what arrived stays.
UIDs that are not plain DICOM UIDs (a hostile or broken sender) are replaced by a hash
in file names.  No patient data is used in names.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pydicom
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

log = logging.getLogger(__name__)

NATIVE_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
#: Compressed syntaxes our decoders read (pylibjpeg, openjpeg, RLE, JPEG-LS).
COMPRESSED_SYNTAXES = (
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.1.99",
)
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_WRITABLE_UID = re.compile(r"[\x21-\x5b\x5d-\x7e]+")  # printable ASCII but space and backslash


def safe_uid(uid: str) -> str:
    """``uid`` when it is a plain DICOM UID (digits and dots, <= 64), else a stable hash."""
    uid = uid.strip().rstrip("\x00")
    if _UID.match(uid) and len(uid) <= 64:
        return uid
    return "x" + hashlib.sha256(uid.encode("utf-8", "replace")).hexdigest()[:32]


class Destination(Protocol):
    """Where a retrieve puts instances, and what it already holds (to resume)."""

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path: ...

    def present(self, sop_uids: Iterable[str]) -> set[str]: ...

    def held(self, study_uid: str, series_uid: str) -> int: ...

    def commit(self, paths: list[Path]) -> None: ...


class FolderDestination:
    """A plain folder: instances already there (by file name) are not fetched again."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return self.root / safe_uid(study_uid) / safe_uid(series_uid) / f"{safe_uid(sop_uid)}.dcm"

    def present(self, sop_uids: Iterable[str]) -> set[str]:
        if not self.root.exists():
            return set()
        names = {p.stem for p in self.root.glob("*/*/*.dcm")}
        return {uid for uid in sop_uids if safe_uid(uid) in names}

    def held(self, study_uid: str, series_uid: str) -> int:
        """How many instances of the series are in the folder already."""
        return len(list((self.root / safe_uid(study_uid) / safe_uid(series_uid)).glob("*.dcm")))

    def commit(self, paths: list[Path]) -> None:
        """Nothing to record: the folder is the record."""


@dataclass(frozen=True)
class Arrival:
    """One instance written: where, its UIDs, its size in bytes."""

    path: Path
    study_uid: str
    series_uid: str
    sop_uid: str
    size: int


IMPLEMENTATION_VERSION = "WORKSTATION_1"


def _element(group_element: int, vr: bytes, value: bytes) -> bytes:
    if vr == b"OB":
        return struct.pack("<HH2sHI", 2, group_element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 2, group_element, vr, len(value)) + value


def _padded(text: str, pad: bytes) -> bytes:
    raw = text.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def part10_header(sop_class: str, sop_instance: str, transfer_syntax: str) -> bytes:
    """Preamble, ``DICM`` and the file meta information (PS3.10 7.1) of a received instance.

    Written by hand: pydicom's general writer costs about 2 ms per instance, a third of
    a C-GET's time on a fast link.  Raises ``ValueError`` for a value that cannot be
    written as a UID (empty, or not printable ASCII); a UID off the standard's form in a
    lesser way (too long, letters) is kept as sent, not refused.
    """
    for uid in (sop_class, sop_instance, transfer_syntax):
        if not _WRITABLE_UID.fullmatch(uid):
            raise ValueError("not a UID")
    elements = [
        _element(0x0001, b"OB", b"\x00\x01"),
        _element(0x0002, b"UI", _padded(sop_class, b"\x00")),
        _element(0x0003, b"UI", _padded(sop_instance, b"\x00")),
        _element(0x0010, b"UI", _padded(transfer_syntax, b"\x00")),
        _element(0x0012, b"UI", _padded(PYDICOM_IMPLEMENTATION_UID, b"\x00")),
        _element(0x0013, b"SH", _padded(IMPLEMENTATION_VERSION, b" ")),
    ]
    body = b"".join(elements)
    return b"\x00" * 128 + b"DICM" + _element(0x0000, b"UL", struct.pack("<I", len(body))) + body


def encoded_instance(event: Any) -> bytes:
    """The Part 10 bytes of a pynetdicom C-STORE event, without decoding its data set."""
    request = event.request
    header = part10_header(str(request.AffectedSOPClassUID), str(request.AffectedSOPInstanceUID),
                           str(event.context.transfer_syntax))
    return header + request.DataSet.getvalue()


def identity(raw: bytes) -> tuple[str, str, str]:
    """(Study, Series, SOP Instance UID) of a Part 10 encoded instance, read from its header."""
    ds = pydicom.dcmread(io.BytesIO(raw), stop_before_pixels=True, force=True,
                         specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
    return (str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SeriesInstanceUID", "") or ""),
            str(ds.get("SOPInstanceUID", "") or ""))


class PartFile:
    """A file written under a temporary name in its folder and moved into place when done.

    A reader never sees a partial file under the real name; :meth:`discard` removes the
    temporary file (a cancelled or failed transfer).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.{threading.get_ident()}.part")
        self._fh = open(self._tmp, "wb")

    def write(self, data: bytes | memoryview) -> None:
        self._fh.write(data)
        self.size += len(data)

    def commit(self) -> None:
        try:
            self._fh.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    part = PartFile(path)
    try:
        part.write(data)
    except BaseException:
        part.discard()
        raise
    part.commit()


class IncomingInstance:
    """One instance arriving in fragments (a C-GET sub-operation), streamed to its file.

    Fragments are written as they come, so memory does not grow with the instance.  A
    write that fails is remembered and the remaining fragments are dropped (they must
    still be read off the association); :meth:`finish` then answers the failure status.
    """

    def __init__(self, sink: SopSink, uids: tuple[str, str, str], sop_class: str, transfer_syntax: str) -> None:
        self.sink = sink
        self.uids = uids
        self._part: PartFile | None = None
        self._status = 0x0000
        try:
            if not all(uids):
                raise ValueError("instance without Study/Series/SOP Instance UID")
            header = part10_header(sop_class, uids[2], transfer_syntax)
            self._part = PartFile(sink.destination.path_for(*uids))
            self._part.write(header)
        except Exception as exc:  # noqa: BLE001 - reported as the sub-operation's status
            self._failed(exc)

    def write(self, data: memoryview) -> None:
        if self._part is None:
            return
        try:
            self._part.write(data)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)

    def finish(self) -> int:
        """Move the file into place and record it; the C-STORE status to answer with."""
        if self._part is not None:
            try:
                self._part.commit()
            except Exception as exc:  # noqa: BLE001
                self._part = None
                self._failed(exc)
            else:
                self.sink.record(Arrival(self._part.path, *self.uids, self._part.size))
        return self._status

    def discard(self) -> None:
        """Drop what arrived of it (the association ended before its last fragment)."""
        if self._part is not None:
            self._part.discard()
            self._part = None

    def _failed(self, exc: Exception) -> None:
        if self._part is not None:
            self._part.discard()
            self._part = None
        self._status = self.sink.failure_status(exc)


class SopSink:
    """Writes instances into a destination from any thread and remembers what arrived.

    ``on_arrival`` (optional) is called after each instance is in place; it runs on
    the receiving thread and must be quick.
    """

    def __init__(self, destination: Destination, on_arrival: Callable[[Arrival], None] | None = None) -> None:
        self.destination = destination
        self.on_arrival = on_arrival
        self.arrivals: list[Arrival] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.arrivals)

    @property
    def size_bytes(self) -> int:
        return sum(a.size for a in self.arrivals)

    @property
    def paths(self) -> list[Path]:
        with self._lock:
            return [a.path for a in self.arrivals]

    def write_bytes(self, raw: bytes, uids: tuple[str, str, str] | None = None) -> Arrival:
        """Store one Part 10 encoded instance (``uids``: its identity, when already read)."""
        study, series, sop = uids or identity(raw)
        if not (study and series and sop):
            raise ValueError("instance without Study/Series/SOP Instance UID")
        path = self.destination.path_for(study, series, sop)
        write_atomic(path, raw)
        return self.record(Arrival(path, study, series, sop, len(raw)))

    def record(self, arrival: Arrival) -> Arrival:
        """Remember an instance that is in place, and tell ``on_arrival``."""
        with self._lock:
            self.arrivals.append(arrival)
        if self.on_arrival is not None:
            self.on_arrival(arrival)
        return arrival

    def incoming(self, uids: tuple[str, str, str], sop_class: str, transfer_syntax: str) -> IncomingInstance:
        """An instance to be streamed in fragments (its data set as sent, in ``transfer_syntax``)."""
        return IncomingInstance(self, uids, sop_class, transfer_syntax)

    def receive(self, raw: bytes, uids: tuple[str, str, str] | None = None) -> int:
        """Store one received instance; the C-STORE status to answer with."""
        try:
            self.write_bytes(raw, uids)
        except Exception as exc:  # noqa: BLE001 - any fault of the instance is reported, not raised
            return self.failure_status(exc)
        return 0x0000

    def failure_status(self, exc: Exception) -> int:
        """Record why an instance could not be stored; the C-STORE status that says it."""
        if isinstance(exc, OSError):
            self._fail(f"cannot write a received instance ({exc.strerror or exc})")
            return 0xA700  # out of resources
        self._fail(f"received instance could not be read ({type(exc).__name__})")
        return 0xC000

    def _fail(self, reason: str) -> None:
        log.warning("%s", reason)
        with self._lock:
            self.failures.append(reason)
