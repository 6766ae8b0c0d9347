"""Writing derived files: NIfTI images, derived DICOM series, and where they may go.

* One NIfTI convention: arrays ``(z, y, x)`` on a :class:`Volume`'s grid are stored
  x-fastest with the affine ``diag(-1, -1, 1, 1) @ volume.affine`` (DICOM LPS to NIfTI
  RAS), so NIfTI viewers place every voxel where the DICOM series has it.
* One rule for every writer: derived files never go into a folder the source images were
  read from, nor below one (:func:`check_outside_sources` raises :class:`SourceFolderError`).
* Derived DICOM objects belong to the patient and study of their source: the Patient and
  General Study modules and the Frame of Reference are copied from a source header
  (:func:`source_header`), unless the caller exports de-identified; every type 2
  attribute is present, and decimal strings fit their 16 characters.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

#: Patient and General Study module attributes copied into derived objects (PS3.3 C.7.1.1, C.7.2.1).
PATIENT_STUDY = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "PatientAge",
                 "OtherPatientIDsSequence", "PatientComments", "StudyInstanceUID", "StudyDate", "StudyTime",
                 "ReferringPhysicianName", "StudyID", "AccessionNumber", "StudyDescription")
#: Type 2 attributes of the patient, study, series, frame of reference and equipment modules.
TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
         "ReferringPhysicianName", "StudyID", "AccessionNumber", "PositionReferenceIndicator", "Manufacturer")


class SourceFolderError(ValueError):
    """A derived file was about to be written into (or below) a source folder."""


def nifti_affine(volume: Volume) -> NDArray[np.float64]:
    """NIfTI (RAS) affine of an array stored ``(x, y, z)`` from a volume's LPS geometry."""
    return LPS_TO_RAS @ volume.affine


def write_nifti(array_zyx: NDArray[Any], volume: Volume, path: str | Path, *, dtype: Any = None,
                intent: str = "", description: str = "", time_unit: Optional[str] = None) -> Path:
    """Write ``array_zyx`` (on ``volume``'s grid) as a NIfTI-1 file (gzipped for ``.nii.gz``).

    ``intent`` is a NIfTI intent code name (``label`` for label maps); ``description``
    goes into the 80-byte ``descrip`` field (units, say).
    """
    import nibabel as nib

    if tuple(array_zyx.shape) != volume.shape:
        raise ValueError(f"the shapes of the array {array_zyx.shape} and the volume {volume.shape} do not match")
    data = np.ascontiguousarray(np.asarray(array_zyx).transpose(2, 1, 0))
    image = nib.Nifti1Image(data if dtype is None else data.astype(dtype), nifti_affine(volume))
    image.header.set_xyzt_units("mm", time_unit)
    if intent:
        image.header.set_intent(intent)
    if description:
        image.header["descrip"] = description[:79].encode("ascii", "replace")
    path = Path(path)
    nib.save(image, str(path))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(value: Any) -> Any:
    """NaN and infinities (not valid JSON) as ``None``, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def plain_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as :func:`write_json` writes it and a reader gets it back (plain numbers, ``None`` for NaN)."""
    return dict(json.loads(json.dumps(_finite(dict(data)), default=_json_default, allow_nan=False)))


def write_json(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write JSON so readers never see a partial file (temp file + ``os.replace``).

    Non-finite numbers are written as ``null``; NumPy values as plain numbers and lists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_finite(dict(data)), fh, indent=2, default=_json_default, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def source_folders(files: Iterable[str | Path]) -> set[Path]:
    """The resolved folders holding ``files``."""
    return {Path(f).resolve().parent for f in files}


def check_outside_sources(target: str | Path, sources: Iterable[str | Path]) -> Path:
    """``target`` resolved; :class:`SourceFolderError` when it is a source folder or inside one."""
    resolved = Path(target).resolve()
    for folder in sorted({Path(s).resolve() for s in sources}):
        if resolved == folder or folder in resolved.parents:
            raise SourceFolderError(
                f"{target} lies in the source folder {folder}: derived files never go into the source study folder "
                "or any folder holding source images; choose another folder")
    return resolved


def results_folder_beside(source_folder: str | Path) -> Path:
    """``<folder>_results`` beside (never inside) a study folder."""
    folder = Path(source_folder).resolve()
    return folder.parent / f"{folder.name}_results"


def source_header(files: Sequence[str | Path]) -> Any:
    """The header (no pixels) of the first readable source file, or ``None``."""
    import pydicom

    for f in files[:8]:
        try:
            return pydicom.dcmread(str(f), stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - try the next source file
            continue
    return None


def decimal_string(value: float) -> str:
    """``value`` as a DICOM DS of at most 16 characters (as many significant digits as fit)."""
    for digits in range(12, 0, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    raise ValueError(f"{value!r} cannot be written as a 16-character decimal string")


def patient_study_tags(source: Any, *, deidentified: bool = False) -> dict[str, Any]:
    """The Patient and General Study attributes of ``source`` (a pydicom dataset) to copy.

    Missing type 2 attributes are given empty; with ``deidentified`` the patient's
    identity is left empty too (the caller supplies pseudonyms where it needs them).
    """
    tags: dict[str, Any] = {k: "" for k in TYPE2 if k not in ("PositionReferenceIndicator", "Manufacturer")}
    if source is not None:
        for keyword in PATIENT_STUDY:
            if keyword in source and source[keyword].value is not None:
                tags[keyword] = source[keyword].value
    if deidentified:
        for keyword in ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "OtherPatientIDsSequence",
                        "PatientComments", "ReferringPhysicianName", "AccessionNumber"):
            tags[keyword] = ""
    return tags


def fill_type2(ds: Any) -> Any:
    """``ds`` with every missing patient/study/equipment type 2 attribute present and empty.

    Used on in-memory copies of source headers handed to SR and SEG builders, which copy
    these attributes and fail on an absent one (they are allowed to be empty, not absent).
    """
    for keyword in TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def write_derived_series(
    volume: Volume, folder: str | Path, *, source: Any, series_description: str, series_number: int,
    derivation: str, slope: float, intercept: float = 0.0, file_prefix: str = "IM",
    extra: Optional[Mapping[str, Any]] = None, deidentified: bool = False,
) -> list[Path]:
    """Write ``volume`` (values in physical units) as a derived CT-like series of the source's study.

    ``source`` is a header of the source series (:func:`source_header`): patient, study
    and Frame of Reference come from it, so the maps overlay the source images in any
    viewer.  ImageType is ``DERIVED\\SECONDARY``; RescaleSlope/Intercept are written as
    16-character decimal strings and the stored values computed with those exact values.
    """
    from pydicom.uid import generate_uid

    from workstation.io.dicom_write import write_series

    slope_text, intercept_text = decimal_string(slope), decimal_string(intercept)
    tags: dict[str, Any] = patient_study_tags(source, deidentified=deidentified)
    study_uid = str(tags.get("StudyInstanceUID") or "") or generate_uid()
    frame_uid = str(getattr(source, "FrameOfReferenceUID", "") or "") or generate_uid()
    tags.pop("StudyInstanceUID", None)
    tags.update({
        "ImageType": ["DERIVED", "SECONDARY", "AXIAL"], "DerivationDescription": derivation[:1024],
        "Manufacturer": "Workstation", "PositionReferenceIndicator": "",
        "KVP": "", "AcquisitionNumber": "", "PatientPosition": str(getattr(source, "PatientPosition", "") or "HFS"),
        "Laterality": str(getattr(source, "Laterality", "") or ""), "RescaleSlope": slope_text,
        "RescaleIntercept": intercept_text, "RescaleType": "US",
    })
    tags.update(extra or {})
    return write_series(volume, folder, modality="CT", tags=tags, study_uid=study_uid, frame_of_reference_uid=frame_uid,
                        series_number=series_number, series_description=series_description[:64],
                        slope=float(slope_text), intercept=float(intercept_text), file_prefix=file_prefix)
