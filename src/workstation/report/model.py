"""The report model: a header identifying patient and study, and sections of plain blocks.

An analysis's ``report.py`` turns its result into one :class:`ReportSection` (text,
tables, key images, curves, warnings, and the result's provenance); :mod:`.pdf` lays
sections out the same way for every analysis, and a study report is several sections
under one header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
from numpy.typing import NDArray

from workstation.core.provenance import Provenance

RGB = tuple[int, int, int]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _dicom_date(value: Any) -> str:
    text = _text(value)
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


@dataclass(frozen=True)
class ReportHeader:
    """Who and what a report is about; empty fields are printed as unknown."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_description: str = ""
    accession_number: str = ""
    study_uid: str = ""

    @classmethod
    def from_study(cls, study: Any) -> "ReportHeader":
        """From a :class:`~workstation.core.study.Study`."""
        return cls(_text(study.patient_name).replace("^", " ").strip(), _text(study.patient_id),
                   _text(study.patient_birth_date), _text(study.patient_sex), _text(study.study_date),
                   _text(study.description), _text(study.accession_number), _text(study.uid))

    @classmethod
    def from_dataset(cls, ds: Any) -> "ReportHeader":
        """From a source image header (a pydicom dataset); absent attributes stay empty."""
        def get(keyword: str) -> str:
            return _text(getattr(ds, keyword, "") if ds is not None else "")

        return cls(get("PatientName").replace("^", " ").strip(), get("PatientID"),
                   _dicom_date(get("PatientBirthDate")), get("PatientSex"), _dicom_date(get("StudyDate")),
                   get("StudyDescription"), get("AccessionNumber"), get("StudyInstanceUID"))

    def rows(self) -> list[tuple[str, str, str, str]]:
        """Two label/value pairs per row for the header table."""
        unknown = "unknown"
        return [
            ("Patient", self.patient_name or unknown, "Patient ID", self.patient_id or unknown),
            ("Birth date", self.birth_date or unknown, "Sex", self.sex or unknown),
            ("Study date", self.study_date or unknown, "Accession", self.accession_number or unknown),
            ("Study", self.study_description or "-", "Study UID", self.study_uid or unknown),
        ]

    def running_line(self) -> str:
        """The short identification repeated at the top of every page."""
        parts = [self.patient_name, f"ID {self.patient_id}" if self.patient_id else "", self.study_date]
        return "  |  ".join(p for p in parts if p) or "Patient unknown"


@dataclass(frozen=True)
class Letterhead:
    """The institution a report comes from: its name and, optionally, a logo image file."""

    institution: str = ""
    logo: Optional[Path] = None


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Table:
    """Rows of cells; the first row is a heading row when ``heading`` is true.

    ``swatches`` colour the first cell of the rows they name (row index -> RGB): a legend
    of the colours key images use.
    """

    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    heading: bool = True
    swatches: Mapping[int, RGB] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class KeyImage:
    """An RGB image (rows, columns, 3) and its caption."""

    rgb: NDArray[np.uint8]
    caption: str = ""


@dataclass(frozen=True)
class Images:
    """Key images laid out ``per_row`` across the page width, each at most ``max_height_mm`` tall."""

    images: tuple[KeyImage, ...]
    title: str = ""
    per_row: int = 4
    max_height_mm: float = 110.0


@dataclass(frozen=True)
class Curve:
    x: tuple[float, ...]
    y: tuple[float, ...]
    label: str
    colour: RGB = (0, 0, 0)


@dataclass(frozen=True)
class Plot:
    """Curves against a common x axis (a time-concentration plot, say)."""

    curves: tuple[Curve, ...]
    x_label: str = ""
    y_label: str = ""
    title: str = ""


@dataclass(frozen=True)
class Notes:
    """Warnings or limits, one per line."""

    lines: tuple[str, ...]
    title: str = "Warnings"


Block = Union[Paragraph, Table, Images, Plot, Notes]


@dataclass(frozen=True)
class ReportSection:
    """One analysis's part of a report."""

    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    provenance: Optional[Provenance] = None
