"""Write synthetic mammograms as Digital Mammography X-Ray Image Storage files.

For Presentation images store the 12-bit presentation values (PixelIntensityRelationship
``LOG``: bright = dense).  For Processing images store a raw detector signal, linear in
exposure (``LIN``): ``raw = 4095 * exp(-k * p / 4095)`` with ``k = FOR_PROCESSING_K``,
so ``p = -4095 / k * ln(raw / 4095)`` recovers the presentation value; the analysis
applies that log-inverse when only For Processing images are available.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from workstation.io.dicom_write import base_dataset

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
FOR_PROCESSING_K = 3.0

#: ViewPosition -> (SNOMED CT code, meaning) for ViewCodeSequence (CID 4014).
VIEW_CODES: dict[str, tuple[str, str]] = {
    "CC": ("399162004", "cranio-caudal"),
    "MLO": ("399368009", "medio-lateral oblique"),
    "ML": ("399260004", "medial-lateral"),
    "LM": ("399352003", "lateral-medial"),
}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def to_for_processing(presentation: NDArray[Any]) -> NDArray[np.uint16]:
    """Presentation values (0-4095) -> linear raw detector values (0-4095)."""
    p = np.asarray(presentation, dtype=np.float64)
    raw = 4095.0 * np.exp(-FOR_PROCESSING_K * p / 4095.0)
    return np.clip(np.rint(raw), 1, 4095).astype(np.uint16)


def mg_dataset(
    image: NDArray[np.uint16],
    view: str,
    *,
    orientation: tuple[str, str],
    spacing_mm: float,
    study_uid: str,
    series_uid: str,
    instance: int,
    for_processing: bool = False,
    patient: Mapping[str, Any] | None = None,
) -> Dataset:
    """A complete MG dataset for one view (``"R-CC"``, ``"L-MLO"`` ...)."""
    laterality, position = view.split("-")
    sop_class = MG_FOR_PROCESSING if for_processing else MG_FOR_PRESENTATION
    ds = base_dataset(sop_class, generate_uid())
    today = dt.date.today().strftime("%Y%m%d")
    ds.PatientName = "Synthetic^Mammo"
    ds.PatientID = "SYN-MG-0001"
    ds.PatientSex = "F"
    ds.PatientBirthDate = ""
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = today
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "090000"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "1", "", ""
    ds.StudyDescription = "Synthetic screening mammogram"
    ds.SeriesDescription = "Synthetic MG " + ("for processing" if for_processing else "for presentation")
    ds.SeriesNumber = 2 if for_processing else 1
    ds.InstanceNumber = instance
    ds.Modality = "MG"
    ds.Manufacturer = "workstation synthetic"
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.PresentationIntentType = "FOR PROCESSING" if for_processing else "FOR PRESENTATION"
    ds.BodyPartExamined = "BREAST"
    ds.AnatomicRegionSequence = Sequence([_code("76752008", "SCT", "Breast")])
    ds.ImageLaterality = laterality
    ds.ViewPosition = position
    code, meaning = VIEW_CODES[position]
    view_code = _code(code, "SCT", meaning)
    view_code.ViewModifierCodeSequence = Sequence([])  # type 2 in the mammography image module: no modifier
    ds.ViewCodeSequence = Sequence([view_code])
    ds.PatientOrientation = list(orientation)
    ds.PositionerType = "MAMMOGRAPHIC"
    ds.DetectorType = "DIRECT"
    ds.BreastImplantPresent = "NO"
    ds.BurnedInAnnotation = "NO"
    ds.PixelSpacing = [f"{spacing_mm:.4f}", f"{spacing_mm:.4f}"]
    ds.ImagerPixelSpacing = [f"{spacing_mm:.4f}", f"{spacing_mm:.4f}"]
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    ds.PixelSpacingCalibrationDescription = "synthetic image: detector geometry, no magnification"
    ds.EstimatedRadiographicMagnificationFactor = 1.0
    ds.OrganExposed = "BREAST"
    ds.AcquisitionContextSequence = Sequence([])
    ds.LossyImageCompression = "00"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(image.shape[0]), int(image.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelIntensityRelationship = "LIN" if for_processing else "LOG"
    ds.PixelIntensityRelationshipSign = -1 if for_processing else 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    pixels = to_for_processing(image) if for_processing else np.asarray(image, dtype=np.uint16)
    ds.PresentationLUTShape = "IDENTITY"  # MONOCHROME2: no inversion
    if not for_processing:
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        ds.VOILUTFunction = "LINEAR"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    for key, value in dict(patient or {}).items():
        setattr(ds, key, value)
    return ds


def write_views(
    folder: Path,
    images: Mapping[str, NDArray[np.uint16]],
    orientations: Mapping[str, tuple[str, str]],
    spacing_mm: float,
    *,
    for_processing: bool = False,
    study_uid: str | None = None,
) -> dict[str, Path]:
    """Write one file per view into ``folder``; returns view -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    tag = "proc" if for_processing else "pres"
    out: dict[str, Path] = {}
    for i, (view, image) in enumerate(images.items(), start=1):
        ds = mg_dataset(image, view, orientation=orientations[view], spacing_mm=spacing_mm,
                        study_uid=study_uid, series_uid=series_uid, instance=i,
                        for_processing=for_processing)
        path = folder / f"MG_{tag}_{view.replace('-', '_')}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out[view] = path
    return out
