"""What to look for on a PACS and the rows that come back, the same for DIMSE and DICOMweb.

A :class:`Query` becomes a C-FIND identifier (:func:`find_identifier`) or QIDO-RS
search parameters (:func:`qido_filters`); every answer, a C-FIND response dataset or a
DICOM JSON object (read through ``Dataset.from_json``), becomes a :class:`PatientRow`,
:class:`StudyRow`, :class:`SeriesRow` or :class:`InstanceRow`.  Missing type 2/3
attributes are unknown (empty or ``None``), never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydicom.dataset import Dataset

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")

RETURN_KEYS: dict[str, tuple[str, ...]] = {
    "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "NumberOfPatientRelatedStudies"),
    "STUDY": ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
              "StudyTime", "StudyDescription", "AccessionNumber", "ModalitiesInStudy",
              "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"),
    "SERIES": ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
               "BodyPartExamined", "NumberOfSeriesRelatedInstances"),
    "IMAGE": ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "InstanceNumber"),
}


def dicom_date(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


@dataclass(frozen=True)
class Query:
    """Matching keys; empty means "any".  ``patient_name`` may use ``*`` and ``?``."""

    patient_id: str = ""
    patient_name: str = ""
    date_from: date | None = None
    date_to: date | None = None
    modality: str = ""
    accession: str = ""
    study_uid: str = ""
    series_uid: str = ""

    @property
    def date_range(self) -> str:
        """DICOM range matching: ``20240101-20240131``, ``20240101-``, ``-20240131``, ``""``."""
        if self.date_from is None and self.date_to is None:
            return ""
        if self.date_from == self.date_to:
            return dicom_date(self.date_from)
        return f"{dicom_date(self.date_from)}-{dicom_date(self.date_to)}"


def parse_date_range(text: str) -> tuple[date | None, date | None]:
    """``YYYYMMDD``, ``YYYYMMDD-YYYYMMDD``, ``YYYYMMDD-`` or ``-YYYYMMDD`` -> (from, to).

    Raises ``ValueError`` naming what is wrong.
    """
    text = text.strip()
    if not text:
        return None, None
    first, sep, second = text.partition("-")
    try:
        lo = date(int(first[:4]), int(first[4:6]), int(first[6:8])) if first else None
        hi = date(int(second[:4]), int(second[4:6]), int(second[6:8])) if second else None
    except ValueError:
        raise ValueError(f"{text!r} is not YYYYMMDD or YYYYMMDD-YYYYMMDD") from None
    if any(len(p) not in (0, 8) for p in (first, second)) or (lo is None and hi is None):
        raise ValueError(f"{text!r} is not YYYYMMDD or YYYYMMDD-YYYYMMDD")
    if not sep:
        hi = lo
    if lo and hi and lo > hi:
        raise ValueError(f"{text!r}: the first date is after the second")
    return lo, hi


def _matching(level: str, query: Query) -> dict[str, str]:
    keys: dict[str, str] = {}
    if query.patient_id:
        keys["PatientID"] = query.patient_id
    if query.patient_name:
        keys["PatientName"] = query.patient_name
    if level == "PATIENT":
        return keys
    if query.study_uid:
        keys["StudyInstanceUID"] = query.study_uid
    if query.date_range:
        keys["StudyDate"] = query.date_range
    if query.accession:
        keys["AccessionNumber"] = query.accession
    if query.modality:
        keys["ModalitiesInStudy" if level == "STUDY" else "Modality"] = query.modality.upper()
    if level == "IMAGE" and query.series_uid:
        keys["SeriesInstanceUID"] = query.series_uid
    return keys


def find_identifier(level: str, query: Query) -> Dataset:
    """The C-FIND identifier: matching keys set, return keys empty (universal)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in RETURN_KEYS[level]:
        setattr(ds, keyword, "")
    if level in ("SERIES", "IMAGE"):
        ds.StudyInstanceUID = query.study_uid
    if level == "IMAGE":
        ds.SeriesInstanceUID = query.series_uid
    for keyword, value in _matching(level, query).items():
        if level in ("SERIES", "IMAGE") and keyword not in ("StudyInstanceUID", "SeriesInstanceUID", "Modality"):
            continue  # study attributes are not keys below the study level in the study root model
        setattr(ds, keyword, value)
    return ds


_QIDO_SAFE = re.compile(r"[^A-Za-z0-9._~*-]")


def qido_filters(level: str, query: Query) -> tuple[dict[str, str], bool]:
    """QIDO-RS search parameters, and whether the answers must be filtered again here.

    Characters other than letters, digits, ``. _ ~ - *`` become ``*``: some servers
    (Orthanc 1.10) do not percent-decode query values, so ``^`` or a space would never
    match.  The search is then wider than asked and :func:`matches` narrows it.
    """
    keys = _matching(level, query)
    if level != "STUDY":
        keys = {k: v for k, v in keys.items() if k == "Modality"}
    safe = {k: _QIDO_SAFE.sub("*", v) for k, v in keys.items()}
    return safe, safe != keys


def _wildcard(pattern: str, text: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


def matches(row: Row, query: Query) -> bool:
    """Whether a study row meets the query's keys (DICOM wildcard matching; names ignore case)."""
    if not isinstance(row, StudyRow):
        return True
    checks = ((query.patient_name, row.patient_name, True), (query.patient_id, row.patient_id, False),
              (query.accession, row.accession, False))
    return all(not pattern or _wildcard(pattern, text, fold) for pattern, text, fold in checks)


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        text = _text(ds, keyword)
        return int(float(text)) if text else None
    except ValueError:
        return None


def _many(ds: Dataset, keyword: str) -> tuple[str, ...]:
    return tuple(v for v in _text(ds, keyword).split("\\") if v)


@dataclass(frozen=True)
class PatientRow:
    patient_id: str
    patient_name: str
    birth_date: str = ""
    sex: str = ""
    n_studies: int | None = None


@dataclass(frozen=True)
class StudyRow:
    """One study found on a node (dates as DICOM ``YYYYMMDD`` text)."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    description: str = ""
    accession: str = ""
    modalities: tuple[str, ...] = ()
    n_series: int | None = None
    n_instances: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The object ``workstation-batch pacs find --json`` prints for this study."""
        return {
            "StudyInstanceUID": self.study_uid, "PatientID": self.patient_id, "PatientName": self.patient_name,
            "StudyDate": self.study_date, "StudyDescription": self.description, "AccessionNumber": self.accession,
            "ModalitiesInStudy": list(self.modalities), "NumberOfStudyRelatedSeries": self.n_series,
            "NumberOfStudyRelatedInstances": self.n_instances,
        }


@dataclass(frozen=True)
class SeriesRow:
    study_uid: str
    series_uid: str
    modality: str = ""
    number: int | None = None
    description: str = ""
    body_part: str = ""
    n_instances: int | None = None


@dataclass(frozen=True)
class InstanceRow:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class: str = ""
    number: int | None = None


Row = PatientRow | StudyRow | SeriesRow | InstanceRow


def row_from_dataset(level: str, ds: Dataset) -> Row:
    """A response identifier (or a DICOM JSON object read by pydicom) as a row."""
    if level == "PATIENT":
        return PatientRow(_text(ds, "PatientID"), _text(ds, "PatientName"), _text(ds, "PatientBirthDate"),
                          _text(ds, "PatientSex"), _int(ds, "NumberOfPatientRelatedStudies"))
    if level == "STUDY":
        return StudyRow(
            study_uid=_text(ds, "StudyInstanceUID"), patient_id=_text(ds, "PatientID"),
            patient_name=_text(ds, "PatientName"), birth_date=_text(ds, "PatientBirthDate"),
            sex=_text(ds, "PatientSex"), study_date=_text(ds, "StudyDate"), study_time=_text(ds, "StudyTime"),
            description=_text(ds, "StudyDescription"), accession=_text(ds, "AccessionNumber"),
            modalities=_many(ds, "ModalitiesInStudy"), n_series=_int(ds, "NumberOfStudyRelatedSeries"),
            n_instances=_int(ds, "NumberOfStudyRelatedInstances"),
        )
    if level == "SERIES":
        return SeriesRow(_text(ds, "StudyInstanceUID"), _text(ds, "SeriesInstanceUID"), _text(ds, "Modality"),
                         _int(ds, "SeriesNumber"), _text(ds, "SeriesDescription"), _text(ds, "BodyPartExamined"),
                         _int(ds, "NumberOfSeriesRelatedInstances"))
    return InstanceRow(_text(ds, "StudyInstanceUID"), _text(ds, "SeriesInstanceUID"), _text(ds, "SOPInstanceUID"),
                       _text(ds, "SOPClassUID"), _int(ds, "InstanceNumber"))


def row_from_json(level: str, obj: dict[str, Any]) -> Row:
    """A QIDO-RS result object as a row (bulk data and unknown VRs ignored)."""
    try:
        ds = Dataset.from_json(obj)
    except Exception:  # noqa: BLE001 - a malformed answer: read what is readable
        ds = Dataset.from_json({k: v for k, v in obj.items() if isinstance(v, dict) and "Value" in v
                                and v.get("vr") in ("UI", "LO", "SH", "CS", "DA", "TM", "IS", "PN", "AE")})
    return row_from_dataset(level, ds)
