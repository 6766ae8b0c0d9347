"""Read one DICOM file's header, without its pixels, into plain records.

:func:`read_header` opens a file with large values deferred (so the pixel data is
skipped, not read), classifies it (image, DICOMDIR, other object such as SR or
RTSTRUCT) and, for an image, lists one :class:`~workstation.core.study.FrameRef` per
plane with the per-frame facts the decoder needs (:class:`FrameExtra`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional, Union

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from workstation.core.study import FrameRef
from workstation.io.dicom_frames import frame_records
from workstation.io.dicom_layout import FrameExtra, PixelLayout
from workstation.io.dicom_values import age_years, as_float, as_int, da_date, first_text, value
from workstation.io.errors import DicomReadError

DEFER_BYTES = 1024
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
RT_DOSE_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"
NATIVE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


@dataclass
class ImageHeader:
    """The identity and planes of one image file."""

    path: Path
    patient_id: str
    patient_name: str
    patient_birth_date: Optional[date]
    patient_sex: str
    patient_age_years: Optional[float]
    study_uid: str
    study_date: Optional[date]
    study_description: str
    accession_number: str
    series_uid: str
    modality: str
    series_number: Optional[int]
    series_description: str
    series_meta: dict[str, Any]
    frames: list[FrameRef] = field(default_factory=list)
    extras: list[FrameExtra] = field(default_factory=list)


@dataclass(frozen=True)
class OtherObject:
    """A DICOM object that is not an image (SR, RTSTRUCT, RTPLAN, SEG...)."""

    path: Path
    modality: str
    sop_class_uid: str
    sop_class_name: str = ""
    series_uid: str = ""
    study_uid: str = ""


@dataclass(frozen=True)
class DirectoryFile:
    """A DICOMDIR and the files it references (absolute paths)."""

    path: Path
    referenced: tuple[Path, ...]


Header = Union[ImageHeader, OtherObject, DirectoryFile]


def open_dataset(path: Path, *, defer: bool = True) -> Dataset:
    """Parse a file's header, with values over ``DEFER_BYTES`` left on disk."""
    size = _file_size(path)
    if size == 0:
        raise DicomReadError(path, "empty file")
    try:
        return pydicom.dcmread(path, defer_size=DEFER_BYTES if defer else None)
    except InvalidDicomError:
        pass  # no preamble: maybe a raw dataset (old files, RTSTRUCT exports); try below
    except EOFError:
        raise DicomReadError(path, "truncated file (ends inside the header)") from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a fault of the file
        raise DicomReadError(path, f"unreadable DICOM header ({type(exc).__name__})") from None
    try:
        ds = pydicom.dcmread(path, defer_size=DEFER_BYTES if defer else None, force=True)
    except Exception:  # noqa: BLE001
        raise DicomReadError(path, "not a DICOM file") from None
    if "SOPClassUID" not in ds and "Modality" not in ds:
        raise DicomReadError(path, "not a DICOM file")
    return ds


def read_header(path: Union[str, Path]) -> Header:
    """Classify one file and read what grouping, sorting and decoding need.

    Raises
    ------
    DicomReadError
        For a file that is not DICOM, is corrupt or truncated, or is an image
        without usable pixel data.
    """
    path = Path(path)
    ds = open_dataset(path)
    meta = getattr(ds, "file_meta", None)
    media_class = str(getattr(meta, "MediaStorageSOPClassUID", "") or "")
    if media_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        return DirectoryFile(path, _referenced_files(path, ds))
    sop_class = str(ds.get("SOPClassUID", "") or media_class)
    if not sop_class:
        raise DicomReadError(path, "not a DICOM object (no SOP Class UID)")
    if not _is_image_class(sop_class, ds):
        return OtherObject(
            path=path,
            modality=first_text(value(ds, "Modality")),
            sop_class_uid=sop_class,
            sop_class_name=_class_name(sop_class),
            series_uid=first_text(value(ds, "SeriesInstanceUID")),
            study_uid=first_text(value(ds, "StudyInstanceUID")),
        )
    layout = _pixel_layout(path, ds)
    header = _image_identity(path, ds)
    for ref, extra in frame_records(path, ds, layout):
        header.frames.append(ref)
        header.extras.append(extra)
    return header


def _image_identity(path: Path, ds: Dataset) -> ImageHeader:
    birth = da_date(value(ds, "PatientBirthDate"))
    study_date = da_date(value(ds, "StudyDate")) or da_date(value(ds, "SeriesDate"))
    age = age_years(value(ds, "PatientAge"), birth, study_date)
    sex = first_text(value(ds, "PatientSex")).upper()
    modality = first_text(value(ds, "Modality"))
    series_uid = first_text(value(ds, "SeriesInstanceUID"))
    study_uid = first_text(value(ds, "StudyInstanceUID"))
    if not series_uid or not study_uid:
        raise DicomReadError(path, "image without Study/Series Instance UID")
    center = as_float(value(ds, "WindowCenter"))
    width = as_float(value(ds, "WindowWidth"))
    series_meta: dict[str, Any] = {
        "series_uid": series_uid,
        "study_uid": study_uid,
        "modality": modality,
        "kvp": as_float(value(ds, "KVP")),
        "slice_thickness": as_float(value(ds, "SliceThickness")),
        "spacing_between_slices": as_float(value(ds, "SpacingBetweenSlices")),
        "convolution_kernel": first_text(value(ds, "ConvolutionKernel")),
        "manufacturer": first_text(value(ds, "Manufacturer")),
        "patient_age_years": age,
        "patient_sex": sex,
        "study_date": study_date.isoformat() if study_date else None,
        "window_center": center,
        "window_width": width,
        "frame_of_reference_uid": first_text(value(ds, "FrameOfReferenceUID")),
        "sop_class_uid": str(ds.get("SOPClassUID", "")),
    }
    return ImageHeader(
        path=path,
        patient_id=first_text(value(ds, "PatientID")),
        patient_name=first_text(value(ds, "PatientName")),
        patient_birth_date=birth,
        patient_sex=sex,
        patient_age_years=age,
        study_uid=study_uid,
        study_date=study_date,
        study_description=first_text(value(ds, "StudyDescription")),
        accession_number=first_text(value(ds, "AccessionNumber")),
        series_uid=series_uid,
        modality=modality,
        series_number=as_int(value(ds, "SeriesNumber")),
        series_description=first_text(value(ds, "SeriesDescription")),
        series_meta=series_meta,
    )


def _pixel_layout(path: Path, ds: Dataset) -> PixelLayout:
    elem = ds.get_item(0x7FE00010, keep_deferred=True)
    if elem is None:
        raise DicomReadError(path, "image object without pixel data")
    rows, columns = as_int(value(ds, "Rows")), as_int(value(ds, "Columns"))
    if not rows or not columns:
        raise DicomReadError(path, "image without Rows/Columns")
    syntax = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "1.2.840.10008.1.2")
    bits = as_int(value(ds, "BitsAllocated")) or 16
    layout = PixelLayout(
        transfer_syntax=syntax,
        rows=rows,
        columns=columns,
        samples_per_pixel=as_int(value(ds, "SamplesPerPixel")) or 1,
        bits_allocated=bits,
        bits_stored=as_int(value(ds, "BitsStored")) or bits,
        pixel_representation=as_int(value(ds, "PixelRepresentation")) or 0,
        photometric=first_text(value(ds, "PhotometricInterpretation")) or "MONOCHROME2",
        n_frames=max(1, as_int(value(ds, "NumberOfFrames")) or 1),
    )
    length = int(elem.length)  # type: ignore[attr-defined]  # a raw element: length read, value not parsed
    if length == 0xFFFFFFFF:  # encapsulated (compressed): pydicom has walked its fragments
        return layout
    expected = layout.frame_bytes * layout.n_frames if bits >= 8 else (rows * columns * layout.n_frames + 7) // 8
    if length < expected:
        raise DicomReadError(path, f"pixel data too short (expected {expected} bytes, found {length})")
    offset = getattr(elem, "value_tell", None)
    if syntax in NATIVE_SYNTAXES and offset is not None and bits in (8, 16, 32):
        found = _file_size(path) - int(offset)
        if found < expected:
            raise DicomReadError(path, f"truncated pixel data (expected {expected} bytes, found {max(found, 0)})")
        return PixelLayout(**{**layout.__dict__, "offset": int(offset)})
    return layout


def _is_image_class(sop_class: str, ds: Dataset) -> bool:
    name = _class_name(sop_class)
    if "Image Storage" in name or sop_class == RT_DOSE_CLASS:
        return True
    if name:  # a known non-image class: SR, RTSTRUCT, RTPLAN, SEG, presentation state...
        return False
    return "PixelData" in ds  # a private class carrying pixels


def _class_name(sop_class: str) -> str:
    name = UID(sop_class).name
    return "" if name == sop_class else name


def _referenced_files(path: Path, ds: Dataset) -> tuple[Path, ...]:
    out: list[Path] = []
    for record in ds.get("DirectoryRecordSequence", []) or []:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        out.append(path.parent.joinpath(*parts))
    return tuple(out)


def _file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise DicomReadError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
