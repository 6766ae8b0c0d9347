"""Check compressed (encapsulated) pixel data against the file before anything is decoded.

A header can declare any image size and frame count; a decoder trusts it and
allocates ``Rows x Columns x frames`` before reading a byte.  So, reading only item
headers and the first codestream header, this module checks that the fragments lie
inside the file, that there are at least as many fragments as frames (PS3.5 A.4: a
frame starts a new fragment), and that the first frame's codestream (JPEG, JPEG-LS,
JPEG 2000) has the declared size, or that an RLE frame could expand to it.  Time and
memory are bounded by the file's real length.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from workstation.io.dicom_layout import PixelLayout
from workstation.io.errors import DicomReadError

ITEM = b"\xfe\xff\x00\xe0"
DELIMITER = b"\xfe\xff\xdd\xe0"
RLE = "1.2.840.10008.1.2.5"
#: JPEG, JPEG-LS, JPEG 2000 and HTJ2K transfer syntaxes: each frame is one such codestream.
CODESTREAM_SYNTAXES = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 57, 70, 80, 81, 90, 91, 92, 93, 201, 202, 203))
#: RLE: a 2-byte replicate run encodes at most 128 bytes, plus the 64-byte header.
RLE_MAX_EXPANSION = 64
HEAD_BYTES = 4096
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}


def _fragments(fh: BinaryIO, start: int, size: int, path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every item after the Basic Offset Table."""
    items: list[tuple[int, int]] = []
    pos = start
    while True:
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            if pos == size and items:  # the sequence delimiter alone is missing
                break
            raise DicomReadError(path, "truncated compressed pixel data (ends inside an item header)")
        tag, length = head[:4], struct.unpack("<I", head[4:])[0]
        if tag == DELIMITER:
            break
        if tag != ITEM:
            raise DicomReadError(path, f"compressed pixel data is malformed (no item tag at byte {pos})")
        if length == 0xFFFFFFFF or pos + 8 + length > size:
            raise DicomReadError(
                path, f"truncated compressed pixel data (a fragment of {length} bytes at byte {pos} "
                f"runs past the end of the {size}-byte file)")
        items.append((pos + 8, length))
        pos += 8 + length
    if not items:
        raise DicomReadError(path, "compressed pixel data without a Basic Offset Table item")
    return items[1:]


def _jpeg_size(head: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from a JPEG or JPEG-LS codestream's SOF segment."""
    if head[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", head[pos + 2: pos + 4])[0]
        if marker in _JPEG_SOF and pos + 10 <= len(head):
            rows, columns = struct.unpack(">HH", head[pos + 5: pos + 9])
            return rows, columns, head[pos + 9]
        if marker == 0xDA:  # start of scan before any frame header
            return None
        pos += 2 + length
    return None


def _j2k_size(head: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from a JPEG 2000 codestream's SIZ segment (JP2 boxes allowed)."""
    at = head.find(b"\xff\x4f\xff\x51")
    if at < 0 or at + 42 > len(head):
        return None
    xsiz, ysiz, xo, yo = struct.unpack(">IIII", head[at + 8: at + 24])
    components = struct.unpack(">H", head[at + 40: at + 42])[0]
    return ysiz - yo, xsiz - xo, components


def _codestream_size(head: bytes) -> tuple[int, int, int] | None:
    return _jpeg_size(head) if head[:2] == b"\xff\xd8" else _j2k_size(head)


def check_encapsulated(path: Path, fh: BinaryIO, start: int, size: int, layout: PixelLayout) -> int:
    """Raise :class:`DicomReadError` unless the fragments can hold the declared frames.

    ``start`` is the byte where the pixel data items begin, ``size`` the file's
    length.  Returns the number of fragments.
    """
    fragments = _fragments(fh, start, size, path)
    n = layout.n_frames
    if not fragments:
        raise DicomReadError(path, "compressed pixel data holds no fragments")
    if n > len(fragments):
        raise DicomReadError(path, f"NumberOfFrames is {n} but the pixel data holds only {len(fragments)} fragment(s)")
    offset, length = fragments[0]
    if layout.transfer_syntax == RLE:
        per_frame = sum(f[1] for f in fragments) / n
        if layout.frame_bytes > RLE_MAX_EXPANSION * per_frame + 8192:
            raise DicomReadError(
                path, f"RLE frames of about {per_frame:.0f} bytes cannot hold {layout.rows} x {layout.columns} "
                f"x {layout.samples_per_pixel} samples of {layout.bits_allocated} bits")
        return len(fragments)
    fh.seek(offset)
    found = _codestream_size(fh.read(min(length, HEAD_BYTES)))
    if found is None:
        if layout.transfer_syntax in CODESTREAM_SYNTAXES:
            raise DicomReadError(path, "compressed pixel data does not start with a JPEG or JPEG 2000 codestream")
        return len(fragments)  # a codestream this check does not know: the decoder decides
    rows, columns, components = found
    if (rows, columns) != (layout.rows, layout.columns) or components != layout.samples_per_pixel:
        raise DicomReadError(
            path, f"the compressed frame is {rows} x {columns} with {components} component(s); the header says "
            f"{layout.rows} x {layout.columns} with {layout.samples_per_pixel}")
    return len(fragments)
