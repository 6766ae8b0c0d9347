"""Patients, studies and series as found on disk or on a PACS: plain data, no pixels.

A :class:`Series` lists its frames (one per image plane: a single-frame file or one
frame of a multi-frame file) with the geometry read from the header, so it can be
checked and sorted before any pixel is decoded.  Pixels are read by
``workstation.io.dicom.load_series``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional


@dataclass(frozen=True)
class FrameRef:
    """One image plane of a series and where its pixels live.

    ``position`` is ImagePositionPatient (x, y, z mm), ``orientation`` the six
    direction cosines of ImageOrientationPatient.  ``frame`` is the 0-based frame
    number inside a multi-frame file, ``None`` for a single-frame file.
    ``time_s`` is the acquisition time of this plane in seconds since midnight,
    when the header gives one.
    """

    path: Path
    sop_instance_uid: str
    frame: Optional[int] = None
    position: Optional[tuple[float, float, float]] = None
    orientation: Optional[tuple[float, float, float, float, float, float]] = None
    rows: int = 0
    columns: int = 0
    pixel_spacing: Optional[tuple[float, float]] = None
    slice_thickness: Optional[float] = None
    instance_number: Optional[int] = None
    time_s: Optional[float] = None
    temporal_index: Optional[int] = None


@dataclass
class Series:
    """An image series: its identity, its frames and what the loader noticed about it.

    ``issues`` holds human-readable warnings (missing slices, uneven spacing, gantry
    tilt, mixed sizes); they never hold patient data.
    """

    uid: str
    study_uid: str
    modality: str = ""
    number: Optional[int] = None
    description: str = ""
    frames: list[FrameRef] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def label(self) -> str:
        number = "" if self.number is None else f"#{self.number} "
        return f"{number}{self.modality} {self.description}".strip()


@dataclass
class Study:
    """A study and its series, with the few patient facts analyses use."""

    uid: str
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: Optional[date] = None
    patient_sex: str = ""
    patient_age_years: Optional[float] = None
    study_date: Optional[date] = None
    description: str = ""
    accession_number: str = ""
    series: list[Series] = field(default_factory=list)

    def find_series(self, uid: str) -> Series:
        for s in self.series:
            if s.uid == uid:
                return s
        raise KeyError(f"series {uid} is not part of study {self.uid}")


@dataclass
class Patient:
    """A patient and their studies, grouped by PatientID."""

    patient_id: str
    name: str = ""
    studies: list[Study] = field(default_factory=list)


@dataclass(frozen=True)
class LoadProblem:
    """A file that could not be used, and why (no patient data in ``reason``)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"
