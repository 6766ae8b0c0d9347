"""Write volumes as standard single-frame DICOM image series (demos, tests, derived maps).

Each slice becomes one file with full patient-space geometry (ImagePositionPatient,
ImageOrientationPatient, PixelSpacing), stored values and RescaleSlope/Intercept, so any
DICOM reader (ours, SimpleITK, a PACS) reconstructs the same volume.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, UID, generate_uid
from pydicom.valuerep import DSfloat

from workstation.core.volume import Volume, VolumeSeries

#: Storage SOP classes by modality.
SOP_CLASSES: dict[str, str] = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
}


def stored_values(
    values: NDArray[Any], slope: float, intercept: float, dtype: type = np.int16
) -> NDArray[Any]:
    """Physical values -> stored integers, ``round((v - intercept) / slope)``, range-checked."""
    stored = np.rint((np.asarray(values, dtype=np.float64) - intercept) / slope)
    info = np.iinfo(dtype)
    if stored.size and (stored.min() < info.min or stored.max() > info.max):
        raise ValueError(
            f"values {values.min()}..{values.max()} do not fit {np.dtype(dtype).name} "
            f"with slope {slope} and intercept {intercept}"
        )
    return stored.astype(dtype)


def base_dataset(sop_class: str, sop_uid: str) -> Dataset:
    """An empty dataset with its file meta (explicit VR little endian) and SOP identity."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    return ds


def _ds(values: Any) -> Any:
    """Decimal strings of at most 16 characters (DS) for one number or a sequence of them."""
    if isinstance(values, (list, tuple, np.ndarray)):
        return [DSfloat(float(v), auto_format=True) for v in values]
    return DSfloat(float(values), auto_format=True)


def _dicom_time(seconds: float) -> str:
    """Seconds since midnight -> DICOM TM ``HHMMSS.ffffff``."""
    seconds = seconds % 86400.0
    h, rem = divmod(seconds, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h):02d}{int(m):02d}{s:09.6f}"


def write_series(
    volume: Volume,
    folder: str | Path,
    *,
    modality: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    study_uid: Optional[str] = None,
    series_uid: Optional[str] = None,
    frame_of_reference_uid: Optional[str] = None,
    series_number: int = 1,
    series_description: str = "",
    slope: float = 1.0,
    intercept: float = -1024.0,
    slice_thickness: Optional[float] = None,
    acquisition_time_s: Optional[float] = None,
    temporal_position: Optional[int] = None,
    first_instance: int = 1,
    file_prefix: str = "IM",
    suffix: str = ".dcm",
) -> list[Path]:
    """Write ``volume`` as one DICOM file per slice into ``folder``.

    Parameters
    ----------
    volume
        Values in physical units (HU for CT); geometry from the volume.
    tags
        Extra top-level attributes by keyword (PatientName, PatientID, PatientAge,
        PatientSex, StudyDate, KVP, ...), applied to every file.
    slope, intercept
        RescaleSlope/Intercept used to store the values as int16.
    acquisition_time_s
        Seconds since midnight written as AcquisitionTime/ContentTime (dynamic series).
    temporal_position
        TemporalPositionIndex (1-based) for dynamic series.

    Returns
    -------
    list of Path
        The files written, in slice order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    modality = (modality or volume.modality or "CT").upper()
    sop_class = SOP_CLASSES.get(modality, SOP_CLASSES["OT"])
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_of_reference_uid = frame_of_reference_uid or generate_uid()
    stored = stored_values(volume.array, slope, intercept)
    dz, dy, dx = volume.spacing
    row_dir, col_dir = volume.direction[:, 0], volume.direction[:, 1]
    iop = [float(v) for v in (*row_dir, *col_dir)]
    positions = volume.index_to_patient(np.stack([np.arange(volume.shape[0]), np.zeros(volume.shape[0]),
                                                  np.zeros(volume.shape[0])], axis=1))
    today = dt.date.today().strftime("%Y%m%d")
    paths: list[Path] = []
    for k in range(volume.shape[0]):
        ds = base_dataset(sop_class, generate_uid())
        ds.Modality = modality
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.SeriesNumber = series_number
        ds.SeriesDescription = series_description
        ds.InstanceNumber = first_instance + k
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.StudyDate = today
        ds.SeriesDate = today
        ds.PatientName = "ANONYMOUS"
        ds.PatientID = "ANON"
        ds.ImagePositionPatient = _ds(positions[k])
        ds.ImageOrientationPatient = _ds(iop)
        ds.PixelSpacing = _ds([dy, dx])
        ds.SliceThickness = _ds(slice_thickness if slice_thickness is not None else dz)
        ds.SpacingBetweenSlices = _ds(dz)
        ds.SliceLocation = _ds(positions[k] @ np.cross(row_dir, col_dir))
        ds.Rows, ds.Columns = int(volume.shape[1]), int(volume.shape[2])
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = _ds(slope)
        ds.RescaleIntercept = _ds(intercept)
        ds.RescaleType = "HU" if modality == "CT" else "US"
        if acquisition_time_s is not None:
            ds.AcquisitionTime = _dicom_time(acquisition_time_s)
            ds.ContentTime = ds.AcquisitionTime
        if temporal_position is not None:
            ds.TemporalPositionIndex = int(temporal_position)
        for keyword, value in (tags or {}).items():
            setattr(ds, keyword, value)
        ds.PixelData = np.ascontiguousarray(stored[k]).tobytes()
        path = folder / f"{file_prefix}{first_instance + k:05d}{suffix}"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_time_series(
    series: VolumeSeries,
    folder: str | Path,
    *,
    start_time_s: float = 36000.0,
    tags: Optional[Mapping[str, Any]] = None,
    study_uid: Optional[str] = None,
    series_uid: Optional[str] = None,
    **kwargs: Any,
) -> list[Path]:
    """Write a dynamic series: every time point as a full set of slices in one series.

    Positions repeat across time points; ``AcquisitionTime`` is ``start_time_s`` plus
    each volume's time, and ``TemporalPositionIndex`` counts from 1.
    """
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = kwargs.pop("frame_of_reference_uid", None) or generate_uid()
    tags = dict(tags or {})
    tags.setdefault("NumberOfTemporalPositions", len(series.volumes))
    paths: list[Path] = []
    n_slices = series.reference.shape[0]
    for t, (volume, time_s) in enumerate(zip(series.volumes, series.times)):
        paths += write_series(
            volume,
            folder,
            tags=tags,
            study_uid=study_uid,
            series_uid=series_uid,
            frame_of_reference_uid=frame_uid,
            acquisition_time_s=start_time_s + time_s,
            temporal_position=t + 1,
            first_instance=1 + t * n_slices,
            **kwargs,
        )
    return paths


def patient_tags(
    name: str, patient_id: str, *, sex: str = "", age_years: Optional[int] = None,
    birth_date: str = "", study_date: str = "", study_description: str = "", accession: str = "",
) -> dict[str, Any]:
    """Keyword -> value mapping for the usual patient and study attributes."""
    tags: dict[str, Any] = {"PatientName": name, "PatientID": patient_id}
    if sex:
        tags["PatientSex"] = sex
    if age_years is not None:
        tags["PatientAge"] = f"{int(age_years):03d}Y"
    if birth_date:
        tags["PatientBirthDate"] = birth_date
    if study_date:
        tags["StudyDate"] = study_date
        tags["SeriesDate"] = study_date
        tags["AcquisitionDate"] = study_date
    if study_description:
        tags["StudyDescription"] = study_description
    if accession:
        tags["AccessionNumber"] = accession
    return tags

