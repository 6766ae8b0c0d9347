"""Seeded hostile DICOM files for the reader's fuzz tests.

Each mutant is derived from a real file: a slice of the good series the tests write
(keeping its SOP Instance UID, so a damaged copy competes with its original) or one
of pydicom's compressed samples (its own series).  The kinds follow what a hostile
folder holds: bit flips, truncation, random header bytes, wrong VRs, absurd lengths,
inconsistent pixel attributes, degenerate geometry, corrupted compressed fragments
and huge frame counts.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.filereader import data_element_generator
from pydicom.uid import generate_uid

KINDS = ("bit_flip", "truncate", "header_bytes", "wrong_vr", "absurd_length", "pixel_attributes",
         "geometry", "compressed_fragment", "frame_count")

#: pydicom samples with compressed (encapsulated) pixel data, by exact name.
COMPRESSED_SAMPLES = (
    "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG2000.dcm",
    "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm", "JPEGLSNearLossless_16.dcm",
    "rtdose_rle.dcm", "JPGExtended.dcm",
)
SHORT_VRS = (b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
             b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US")
UID_TAGS = (0x00020003, 0x00080018)  # MediaStorageSOPInstanceUID, SOPInstanceUID
VR_TARGETS = ("PatientID", "PatientName", "Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation",
              "SamplesPerPixel", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
              "RescaleSlope", "RescaleIntercept", "WindowCenter", "SliceThickness", "InstanceNumber",
              "SeriesNumber", "StudyDate", "PatientAge", "SpacingBetweenSlices", "Modality", "KVP",
              "PhotometricInterpretation", "SeriesInstanceUID", "StudyInstanceUID", "SOPClassUID")


@dataclass(frozen=True)
class Mutant:
    """One hostile file: its name, kind, bytes and what was done to its source."""

    name: str
    kind: str
    data: bytes
    detail: str
    source: str


@dataclass(frozen=True)
class Element:
    """Where one top-level element lies in a file: header start, value start, length, VR."""

    tag: int
    vr: str
    header: int
    value: int
    length: int


def elements(data: bytes) -> list[Element]:
    """Top-level elements of an explicit VR little endian file (meta and data set)."""
    out: list[Element] = []
    fp = io.BytesIO(data)
    fp.seek(132)
    for elem in data_element_generator(fp, False, True, defer_size=64):
        vr = str(elem.VR)
        long_header = vr in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT")
        value = getattr(elem, "value_tell", None)
        value = elem.file_tell if value is None else value
        header = value - (12 if long_header else 8)
        undefined = getattr(elem, "is_undefined_length", False) or getattr(elem, "length", 0) == 0xFFFFFFFF
        out.append(Element(int(elem.tag), vr, header, value, 0xFFFFFFFF if undefined else int(elem.length)))
    return out


def _protected(elems: Sequence[Element]) -> list[tuple[int, int]]:
    """Byte ranges (header and value) of the SOP Instance UIDs: mutations keep the identity."""
    return [(e.header, e.value + e.length) for e in elems if e.tag in UID_TAGS]


def _pixel_start(elems: Sequence[Element], size: int) -> int:
    for e in elems:
        if e.tag == 0x7FE00010:
            return e.value
    return size


def _free(pos: int, protected: Sequence[tuple[int, int]]) -> bool:
    return not any(lo <= pos < hi for lo, hi in protected)


def _dataset_bytes(ds: pydicom.Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    return buf.getvalue()


def bit_flip(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    elems = elements(data)
    protected = _protected(elems)
    out = bytearray(data)
    flips = []
    for _ in range(int(rng.integers(1, 9))):
        pos = int(rng.integers(132, len(out)))
        if _free(pos, protected):
            bit = int(rng.integers(0, 8))
            out[pos] ^= 1 << bit
            flips.append(f"{pos}:{bit}")
    return bytes(out), "bits " + ",".join(flips)


def truncate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    pixel = _pixel_start(elements(data), len(data))
    where = int(rng.choice([rng.integers(0, 132), rng.integers(132, pixel), rng.integers(pixel, len(data))]))
    return data[:where], f"cut at {where} of {len(data)}"


def header_bytes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    elems = elements(data)
    protected = _protected(elems)
    pixel = _pixel_start(elems, len(data))
    out = bytearray(data)
    changed = []
    for _ in range(int(rng.integers(1, 17))):
        pos = int(rng.integers(132, pixel))
        if _free(pos, protected):
            out[pos] = int(rng.integers(0, 256))
            changed.append(str(pos))
    return bytes(out), "bytes at " + ",".join(changed)


def _find(elems: Sequence[Element], keyword: str) -> Element | None:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    return next((e for e in elems if e.tag == tag), None)


def wrong_vr(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    elems = elements(data)
    candidates = [e for e in (_find(elems, k) for k in VR_TARGETS) if e is not None and e.value - e.header == 8]
    target = candidates[int(rng.integers(len(candidates)))]
    choices = [v for v in SHORT_VRS if v.decode() != target.vr] + [b"ZZ", b"\x00\x00", b"12"]
    vr = choices[int(rng.integers(len(choices)))]
    out = bytearray(data)
    out[target.header + 4: target.header + 6] = vr
    return bytes(out), f"{pydicom.datadict.keyword_for_tag(target.tag)} VR {target.vr} -> {vr!r}"


def absurd_length(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    elems = [e for e in elements(data) if e.tag > 0x0002FFFF]
    target = elems[int(rng.integers(len(elems)))]
    out = bytearray(data)
    if target.value - target.header == 8:
        length = int(rng.choice([0xFFFF, 0xFFFE, 0xFFF1, len(data) & 0xFFFF | 1]))
        out[target.header + 6: target.header + 8] = struct.pack("<H", length)
    else:
        length = int(rng.choice([0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, 0x80000000, len(data) * 1000, 3]))
        out[target.header + 8: target.header + 12] = struct.pack("<I", length)
    return bytes(out), f"{pydicom.datadict.keyword_for_tag(target.tag) or hex(target.tag)} length {length:#x}"


PIXEL_CHANGES: tuple[tuple[str, Any], ...] = (
    ("BitsAllocated", 24), ("BitsAllocated", 255), ("BitsAllocated", 65535), ("BitsAllocated", 8),
    ("BitsAllocated", 0), ("BitsAllocated", 1), ("BitsAllocated", 12), ("BitsAllocated", 64),
    ("BitsAllocated", 32), ("BitsStored", 40), ("BitsStored", 0), ("HighBit", 40), ("PixelRepresentation", 7),
    ("SamplesPerPixel", 3), ("SamplesPerPixel", 0), ("SamplesPerPixel", 65535), ("Rows", 0), ("Rows", 65535),
    ("Columns", 65535), ("Rows", 65), ("Columns", 1), ("PhotometricInterpretation", "RGB"),
    ("PhotometricInterpretation", "PALETTE COLOR"), ("PhotometricInterpretation", "YBR_FULL_422"),
    ("PhotometricInterpretation", "JUNK"), ("PlanarConfiguration", 1),
)


def _set(ds: pydicom.Dataset, keyword: str, value: Any) -> None:
    if value is None:
        if keyword in ds:
            delattr(ds, keyword)
    else:
        setattr(ds, keyword, value)


def pixel_attributes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    changes = [PIXEL_CHANGES[int(i)] for i in rng.choice(len(PIXEL_CHANGES), int(rng.integers(1, 3)), False)]
    for keyword, value in changes:
        _set(ds, keyword, value)
    return _dataset_bytes(ds), ", ".join(f"{k}={v}" for k, v in changes)


GEOMETRY_CHANGES: tuple[tuple[str, Any], ...] = (
    ("ImageOrientationPatient", [0, 0, 0, 0, 0, 0]), ("ImageOrientationPatient", [1, 0, 0, 1, 0, 0]),
    ("ImageOrientationPatient", [1e308, 1e308, 0, 0, 1e308, 0]), ("ImageOrientationPatient", ["NaN"] * 6),
    ("ImageOrientationPatient", [1, 0, 0, 0, 1]), ("ImageOrientationPatient", [1e-320, 0, 0, 0, 1e-320, 0]),
    ("ImageOrientationPatient", [3, 0, 0, 0, 5, 0]), ("ImageOrientationPatient", [1, 0, 0, 0.7, 0.7, 0]),
    ("ImageOrientationPatient", None), ("ImagePositionPatient", [1e308, -1e308, 1e308]),
    ("ImagePositionPatient", ["NaN", 0, 0]), ("ImagePositionPatient", ["inf", 0, 0]), ("ImagePositionPatient", None),
    ("PixelSpacing", [0, 0]), ("PixelSpacing", [-1, 1]), ("PixelSpacing", [1e308, 1e308]), ("PixelSpacing", ["NaN", 1]),
    ("SliceThickness", 0), ("SliceThickness", -3), ("SliceThickness", 1e308), ("SpacingBetweenSlices", 1e308),
    ("SpacingBetweenSlices", 0), ("RescaleSlope", 1e308), ("RescaleSlope", 0), ("RescaleSlope", "NaN"),
    ("RescaleSlope", -1e30), ("RescaleIntercept", 1e308), ("RescaleIntercept", "-inf"), ("WindowWidth", 0),
    ("WindowCenter", 1e308),
)


def geometry(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    changes = [GEOMETRY_CHANGES[int(i)] for i in rng.choice(len(GEOMETRY_CHANGES), int(rng.integers(1, 3)), False)]
    for keyword, value in changes:
        _set(ds, keyword, value)
    detail = ", ".join(f"{k}={v}" for k, v in changes)
    if rng.random() < 0.5:  # a hostile series of its own, besides damaged copies of the good one
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[f"series {rng.integers(2**62)}"])
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(
            entropy_srcs=[f"instance {rng.integers(2**62)}"])
        detail += " (own series)"
    return _dataset_bytes(ds), detail


def _fragments(data: bytes, elems: Sequence[Element]) -> list[tuple[int, int]]:
    """(value offset, length) of each item of the encapsulated pixel data."""
    start = _pixel_start(elems, len(data))
    out = []
    pos = start
    while pos + 8 <= len(data):
        group, elem, length = struct.unpack("<HHI", data[pos:pos + 8])
        if (group, elem) != (0xFFFE, 0xE000):
            break
        out.append((pos + 8, length))
        pos += 8 + length
    return out


def compressed_fragment(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    elems = elements(data)
    items = _fragments(data, elems)
    out = bytearray(data)
    how = int(rng.integers(0, 6))
    frag = items[int(rng.integers(1, len(items)))] if len(items) > 1 else items[0]
    if how == 0:  # random bytes inside a fragment
        for _ in range(int(rng.integers(1, 33))):
            out[frag[0] + int(rng.integers(0, max(frag[1], 1)))] = int(rng.integers(0, 256))
        return bytes(out), f"bytes in fragment at {frag[0]}"
    if how == 1:  # cut the file inside a fragment
        return data[: frag[0] + int(rng.integers(0, max(frag[1], 1)))], f"cut inside fragment at {frag[0]}"
    if how == 2:  # an item length pointing far past the end
        out[frag[0] - 4: frag[0]] = struct.pack("<I", int(rng.choice([0xFFFFFFF0, len(data) * 50, 0x7FFFFFFF])))
        return bytes(out), f"fragment length at {frag[0]} past the end"
    if how == 3:  # no sequence delimiter
        return data[: frag[0] + frag[1]], "sequence delimiter removed"
    if how == 4:  # a Basic Offset Table pointing nowhere
        first = items[0]
        table = struct.pack("<4I", 0, 0x7FFFFFF0, 12, 0xFFFFFFFF)
        return bytes(out[: first[0] - 4]) + struct.pack("<I", len(table)) + table + bytes(
            out[first[0] + first[1]:]), "basic offset table pointing nowhere"
    # the first fragment's codestream header zeroed
    span = min(frag[1], 24)
    out[frag[0]: frag[0] + span] = bytes(span)
    return bytes(out), f"codestream header zeroed at {frag[0]}"


FRAME_COUNTS = (0, -1, 2, 17, 10**6, 2**31, 2**32 - 1, 10**9, "abc", "1e6")


def frame_count(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    value = FRAME_COUNTS[int(rng.integers(len(FRAME_COUNTS)))]
    ds.NumberOfFrames = 7654321  # a placeholder of 8 bytes, replaced by the raw text below
    detail = f"NumberOfFrames={value}"
    if rng.random() < 0.3:
        ds.Rows, ds.Columns = 65535, 65535
        detail += ", 65535 x 65535"
    text = str(value).encode().ljust(10)
    encoded = _dataset_bytes(ds)
    at = encoded.index(b"7654321 ")
    length_at = at - 2
    out = encoded[:length_at] + struct.pack("<H", len(text)) + text + encoded[at + 8:]
    return out, detail


MUTATORS: dict[str, Callable[[bytes, np.random.Generator], tuple[bytes, str]]] = {
    "bit_flip": bit_flip, "truncate": truncate, "header_bytes": header_bytes, "wrong_vr": wrong_vr,
    "absurd_length": absurd_length, "pixel_attributes": pixel_attributes, "geometry": geometry,
    "compressed_fragment": compressed_fragment, "frame_count": frame_count,
}
#: Which sources each kind mutates: slices of the good series, compressed samples, or both.
SOURCES = {"compressed_fragment": ("compressed",), "frame_count": ("good", "compressed"),
           "bit_flip": ("good", "compressed"), "truncate": ("good", "compressed")}


def generate(good: Sequence[Path], compressed: Sequence[Path], per_kind: int, seed: int = 0) -> list[Mutant]:
    """``per_kind`` mutants of every kind, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    sources = {"good": [(p.name, p.read_bytes()) for p in good],
               "compressed": [(p.name, p.read_bytes()) for p in compressed]}
    out: list[Mutant] = []
    for kind in KINDS:
        pools = SOURCES.get(kind, ("good",))
        for i in range(per_kind):
            pool = sources[pools[i % len(pools)]]
            name, data = pool[int(rng.integers(len(pool)))]
            mutated, detail = MUTATORS[kind](data, rng)
            out.append(Mutant(f"{kind}-{i:03d}", kind, mutated, detail, name))
    return out
