"""Read one DICOM file's header, without its pixels, into plain records.

:func:`read_header` opens a file with large values deferred (so the pixel data is
skipped, not read; see :mod:`workstation.io.dicom_open`), classifies it (image, DICOMDIR, other object such as SR or
RTSTRUCT) and, for an image, lists one :class:`~workstation.core.study.FrameRef` per
plane with the per-frame facts the decoder needs (:class:`FrameExtra`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional, Union

from pydicom.dataset import Dataset
from pydicom.uid import UID

from workstation.core.study import FrameRef
from workstation.io.dicom_encapsulated import check_encapsulated
from workstation.io.dicom_frames import frame_records, n_frames_of
from workstation.io.dicom_layout import FrameExtra, PixelLayout, check_layout
from workstation.io.dicom_open import PIXEL_DATA, file_size, open_dataset
from workstation.io.dicom_values import BadValue, age_years, as_float, as_int, da_date, first_text, optional, value
from workstation.io.errors import DicomReadError

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
RT_DOSE_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"
NATIVE_SYNTAXES = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
EXPLICIT_BIG_ENDIAN = "1.2.840.10008.1.2.2"
UID_CHARACTERS = frozenset("0123456789.")


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


def read_header(path: Union[str, Path]) -> Header:
    """Classify one file and read what grouping, sorting and decoding need.

    Raises
    ------
    DicomReadError
        For a file that is not DICOM, is corrupt or truncated, is an image without
        usable pixel data, or holds an unreadable required attribute.
    """
    path = Path(path)
    ds = open_dataset(path)
    try:
        return _classify(path, ds)
    except BadValue as exc:
        raise DicomReadError(path, str(exc)) from None


def _classify(path: Path, ds: Dataset) -> Header:
    meta = getattr(ds, "file_meta", None)
    media_class = first_text(optional(meta, "MediaStorageSOPClassUID"))
    if media_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        return DirectoryFile(path, _referenced_files(path, ds))
    sop_class = first_text(value(ds, "SOPClassUID")) or media_class
    if not sop_class:
        raise DicomReadError(path, "not a DICOM object (no SOP Class UID)")
    if len(sop_class) > 64 or not set(sop_class) <= UID_CHARACTERS:
        raise DicomReadError(path, "SOPClassUID is not a UID (characters other than digits and dots)")
    if not _is_image_class(sop_class, ds):
        return OtherObject(
            path=path,
            modality=first_text(optional(ds, "Modality")),
            sop_class_uid=sop_class,
            sop_class_name=_class_name(sop_class),
            series_uid=first_text(optional(ds, "SeriesInstanceUID")),
            study_uid=first_text(optional(ds, "StudyInstanceUID")),
        )
    layout = _pixel_layout(path, ds)
    header = _image_identity(path, ds, sop_class)
    for ref, extra in frame_records(path, ds, layout):
        header.frames.append(ref)
        header.extras.append(extra)
    return header


def _image_identity(path: Path, ds: Dataset, sop_class: str) -> ImageHeader:
    birth = da_date(optional(ds, "PatientBirthDate"))
    study_date = da_date(optional(ds, "StudyDate")) or da_date(optional(ds, "SeriesDate"))
    age = age_years(optional(ds, "PatientAge"), birth, study_date)
    sex = first_text(optional(ds, "PatientSex")).upper()
    modality = first_text(optional(ds, "Modality"))
    series_uid = first_text(value(ds, "SeriesInstanceUID"))
    study_uid = first_text(value(ds, "StudyInstanceUID"))
    if not series_uid or not study_uid:
        raise DicomReadError(path, "image without Study/Series Instance UID")
    center = as_float(optional(ds, "WindowCenter"))
    width = as_float(optional(ds, "WindowWidth"))
    series_meta: dict[str, Any] = {
        "series_uid": series_uid,
        "study_uid": study_uid,
        "modality": modality,
        "kvp": as_float(optional(ds, "KVP")),
        "slice_thickness": as_float(optional(ds, "SliceThickness")),
        "spacing_between_slices": as_float(optional(ds, "SpacingBetweenSlices")),
        "convolution_kernel": first_text(optional(ds, "ConvolutionKernel")),
        "manufacturer": first_text(optional(ds, "Manufacturer")),
        "patient_age_years": age,
        "patient_sex": sex,
        "patient_ethnic_group": first_text(optional(ds, "EthnicGroup")),
        "study_date": study_date.isoformat() if study_date else None,
        "window_center": center,
        "window_width": width,
        "frame_of_reference_uid": first_text(optional(ds, "FrameOfReferenceUID")),
        "sop_class_uid": sop_class,
        **_cardiac_meta(ds),
    }
    return ImageHeader(
        path=path,
        patient_id=first_text(optional(ds, "PatientID")),
        patient_name=first_text(optional(ds, "PatientName")),
        patient_birth_date=birth,
        patient_sex=sex,
        patient_age_years=age,
        study_uid=study_uid,
        study_date=study_date,
        study_description=first_text(optional(ds, "StudyDescription")),
        accession_number=first_text(optional(ds, "AccessionNumber")),
        series_uid=series_uid,
        modality=modality,
        series_number=as_int(optional(ds, "SeriesNumber")),
        series_description=first_text(optional(ds, "SeriesDescription")),
        series_meta=series_meta,
    )


def _cardiac_meta(ds: Dataset) -> dict[str, Any]:
    """Heart rate, R-R interval and phases of a gated image, and the patient's height and weight.

    Enhanced objects keep heart rate and R-R interval in the Cardiac Synchronization
    functional group; the shared group, else the first frame's, is read when the top
    level lacks them.
    """
    gated = _group_item(ds, "SharedFunctionalGroupsSequence") or _group_item(ds, "PerFrameFunctionalGroupsSequence")

    def number(keyword: str, grouped: str = "") -> Optional[float]:
        found = as_float(optional(ds, keyword))
        if found is None and grouped and gated is not None:
            found = as_float(optional(gated, grouped))
        return found if found is not None and found > 0 else None

    return {
        "heart_rate_bpm": number("HeartRate", "HeartRate"),
        "nominal_interval_ms": number("NominalInterval", "RRIntervalTimeNominal"),
        "cardiac_number_of_images": as_int(optional(ds, "CardiacNumberOfImages")),
        "patient_height_m": number("PatientSize"),
        "patient_weight_kg": number("PatientWeight"),
    }


def _group_item(ds: Dataset, groups: str) -> Optional[Dataset]:
    """The Cardiac Synchronization item of the first item of a functional groups sequence."""
    outer = optional(ds, groups)
    if not outer or not isinstance(outer[0], Dataset):
        return None
    sync = optional(outer[0], "CardiacSynchronizationSequence")
    return sync[0] if sync and isinstance(sync[0], Dataset) else None


def _pixel_layout(path: Path, ds: Dataset) -> PixelLayout:
    """The pixel attributes, checked against each other and against the file's length."""
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True)
    if elem is None:
        raise DicomReadError(path, "image object without pixel data")
    rows, columns = as_int(value(ds, "Rows")), as_int(value(ds, "Columns"))
    if not rows or not columns or rows < 0 or columns < 0:
        raise DicomReadError(path, "image without Rows/Columns")
    meta = getattr(ds, "file_meta", None)
    syntax = first_text(value(meta, "TransferSyntaxUID")) or "1.2.840.10008.1.2"
    bits = _positive(path, ds, "BitsAllocated", 16)
    layout = PixelLayout(
        transfer_syntax=syntax,
        rows=rows,
        columns=columns,
        samples_per_pixel=_positive(path, ds, "SamplesPerPixel", 1),
        bits_allocated=bits,
        bits_stored=_positive(path, ds, "BitsStored", bits),
        pixel_representation=as_int(value(ds, "PixelRepresentation")) or 0,
        photometric=first_text(value(ds, "PhotometricInterpretation")).upper() or "MONOCHROME2",
        n_frames=n_frames_of(path, ds),
    )
    check_layout(path, layout)
    offset = getattr(elem, "value_tell", None)
    size = file_size(path)
    if offset is None:
        raise DicomReadError(path, "pixel data position unknown")
    length = int(getattr(elem, "length", 0))
    if length == 0xFFFFFFFF:  # encapsulated (compressed)
        if syntax in NATIVE_SYNTAXES or syntax == EXPLICIT_BIG_ENDIAN:
            raise DicomReadError(path, "compressed pixel data in an uncompressed transfer syntax")
        with open(path, "rb") as fh:
            check_encapsulated(path, fh, int(offset), size, layout)
        return layout
    frame = layout.stored_frame_bytes
    expected = frame * layout.n_frames if bits >= 8 else (rows * columns * layout.n_frames + 7) // 8
    if length < expected:
        raise DicomReadError(path, f"pixel data too short (expected {expected} bytes, found {length})")
    if length - expected >= max(2, frame):
        raise DicomReadError(
            path, f"pixel data holds {length} bytes but Rows x Columns x SamplesPerPixel x BitsAllocated x "
            f"frames give {expected} (BitsAllocated {bits} or NumberOfFrames {layout.n_frames} is wrong)")
    found = size - int(offset)
    if syntax in NATIVE_SYNTAXES | {EXPLICIT_BIG_ENDIAN} and found < expected:
        raise DicomReadError(path, f"truncated pixel data (expected {expected} bytes, found {max(found, 0)})")
    if syntax in NATIVE_SYNTAXES and bits in (8, 16, 32):
        return PixelLayout(**{**layout.__dict__, "offset": int(offset)})
    return layout


def _positive(path: Path, ds: Dataset, keyword: str, default: int) -> int:
    """A positive integer attribute, ``default`` when absent; a bad value is a fault of the file."""
    raw = value(ds, keyword)
    if raw is None or raw == "":
        return default
    number = as_int(raw)
    if number is None or number <= 0:
        raise DicomReadError(path, f"{keyword} {first_text(raw)!r} is not a positive integer")
    return number


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
    """Files a DICOMDIR references, inside its own folder only (no ``..``, no absolute paths)."""
    out: list[Path] = []
    records = optional(ds, "DirectoryRecordSequence") or []
    for record in records:
        file_id = optional(record, "ReferencedFileID")
        if not file_id:
            continue
        parts = [str(file_id)] if isinstance(file_id, str) else [str(p) for p in file_id]
        if any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
            continue
        out.append(path.parent.joinpath(*parts))
    return tuple(out)
