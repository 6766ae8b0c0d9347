"""What a header says about displaying an image: orientation letters, laterality, view, cine rate, size.

Read once per file, header only, through the bounded reader of :mod:`.dicom_open`;
every attribute is type 2 or 3 here, so a missing or malformed value is unknown,
never an error:

* PatientOrientation (0020,0020) gives the letters at the image edges; without it they
  follow from ImageOrientationPatient when the image lies in patient space.
* True size: PixelSpacing (in the patient) wins; else ImagerPixelSpacing (at the
  detector) divided by EstimatedRadiographicMagnificationFactor when given (the IHE
  Mammography Image profile's rule); else no true size.
* The cine rate: FrameTime (ms), else the mean of FrameTimeVector, else CineRate or
  RecommendedDisplayFrameRate (frames per second).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from workstation.core.images import ImageFacts
from workstation.core.slice_geometry import direction_letters
from workstation.io.dicom_values import as_float, as_floats, as_int, first_text, optional

def _text(ds: Any, keyword: str) -> str:
    return first_text(optional(ds, keyword)).upper()


def _orientation(ds: Any) -> tuple[str, str]:
    value = optional(ds, "PatientOrientation")
    if isinstance(value, str):
        value = value.split("\\")
    if isinstance(value, (list, tuple)) and len(value) == 2:
        letters = tuple("".join(ch for ch in str(v).upper() if ch in "LRAPHF") for v in value)
        if all(letters):
            return letters[0], letters[1]
    cosines = as_floats(optional(ds, "ImageOrientationPatient"), 6)
    if cosines is None:
        return ("", "")
    return direction_letters(cosines[:3]), direction_letters(cosines[3:])


def _spacing(ds: Any) -> tuple[Optional[tuple[float, float]], str]:
    pixel = as_floats(optional(ds, "PixelSpacing"), 2)
    if pixel is not None and min(pixel) > 0:
        return (pixel[0], pixel[1]), "PixelSpacing"
    imager = as_floats(optional(ds, "ImagerPixelSpacing"), 2)
    if imager is None or not min(imager) > 0:
        return None, ""
    magnification = as_float(optional(ds, "EstimatedRadiographicMagnificationFactor"))
    if magnification is not None and magnification > 0:
        return ((imager[0] / magnification, imager[1] / magnification),
                "ImagerPixelSpacing corrected for magnification")
    return (imager[0], imager[1]), "ImagerPixelSpacing"


def _frame_time_s(ds: Any) -> Optional[float]:
    ms = as_float(optional(ds, "FrameTime"))
    if ms is not None and ms > 0:
        return ms / 1000.0
    vector = optional(ds, "FrameTimeVector")
    if isinstance(vector, (list, tuple)) and len(vector) > 1:
        steps = [as_float(v) for v in list(vector)[1:]]
        good = [s for s in steps if s is not None and s > 0]
        if good:
            return float(np.mean(good)) / 1000.0
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = as_float(optional(ds, keyword))
        if rate is not None and rate > 0:
            return 1.0 / rate
    return None


def _laterality(ds: Any) -> str:
    for keyword in ("ImageLaterality", "Laterality"):
        value = _text(ds, keyword)
        if value in ("R", "L", "B", "U"):
            return value
    return ""


def _view_position(ds: Any) -> str:
    value = _text(ds, "ViewPosition")
    if value:
        return value
    codes = optional(ds, "ViewCodeSequence")
    if codes:
        meaning = first_text(optional(codes[0], "CodeMeaning")).lower().replace("-", "")
        for text, view in (("mediolateral oblique", "MLO"), ("craniocaudal", "CC"), ("mediolateral", "ML"),
                           ("lateromedial", "LM")):
            if text in meaning:
                return view
    return ""


def facts_from_dataset(ds: Any) -> ImageFacts:
    """The display facts of one image header (a pydicom dataset)."""
    spacing, source = _spacing(ds)
    return ImageFacts(
        sop_instance_uid=first_text(optional(ds, "SOPInstanceUID")),
        sop_class_uid=first_text(optional(ds, "SOPClassUID")),
        modality=_text(ds, "Modality"),
        patient_orientation=_orientation(ds),
        laterality=_laterality(ds),
        view_position=_view_position(ds),
        body_part=_text(ds, "BodyPartExamined"),
        frame_time_s=_frame_time_s(ds),
        pixel_spacing_mm=spacing,
        spacing_source=source,
        photometric=_text(ds, "PhotometricInterpretation") or "MONOCHROME2",
        voi_lut_function=_text(ds, "VOILUTFunction"),
        description=first_text(optional(ds, "SeriesDescription")),
        instance_number=as_int(optional(ds, "InstanceNumber")),
    )


def read_facts(path: Path) -> ImageFacts:
    """The display facts of the image in ``path`` (:class:`DicomReadError` when unreadable)."""
    from workstation.io.dicom_open import open_dataset

    return facts_from_dataset(open_dataset(Path(path)))
