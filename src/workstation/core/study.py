"""Patients, studies and series as found on disk or on a PACS: plain data, no pixels.

A :class:`Series` lists its frames (one per image plane: a single-frame file or one
frame of a multi-frame file) with the geometry read from the header, so it can be
checked and sorted before any pixel is decoded.  Pixels are read by
``workstation.io.dicom.load_series``.

A :class:`Study` also holds its non-image objects (RT structure sets, plans and dose
grids, SR, SEG...; :mod:`workstation.core.rt`, :mod:`workstation.core.objects`), each
linked to the image series it references: by referenced series UID, by referenced SOP
instance UID, else by a shared Frame of Reference UID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional, TypeVar, Union

from workstation.core.objects import GenericObject, Segmentation, StructuredReport
from workstation.core.rt import RtDose, RtPlan, StructureSet

#: Every kind of non-image object a study holds.
NonImageObject = Union[StructureSet, RtPlan, RtDose, StructuredReport, Segmentation, GenericObject]
O = TypeVar("O", StructureSet, RtPlan, RtDose, StructuredReport, Segmentation, GenericObject)


@dataclass(frozen=True)
class FrameRef:
    """One image plane of a series and where its pixels live.

    ``position`` is ImagePositionPatient (x, y, z mm), ``orientation`` the six
    direction cosines of ImageOrientationPatient.  ``frame`` is the 0-based frame
    number inside a multi-frame file, ``None`` for a single-frame file.
    ``time_s`` is the acquisition time of this plane in seconds since midnight,
    when the header gives one; ``trigger_time_s`` its delay after the R wave (cardiac
    gating: TriggerTime or NominalCardiacTriggerDelayTime), in seconds.
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
    trigger_time_s: Optional[float] = None


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

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.meta.get("frame_of_reference_uid") or "")

    @property
    def instance_uids(self) -> set[str]:
        return {f.sop_instance_uid for f in self.frames}


@dataclass
class Study:
    """A study: its image series, its non-image objects and the few patient facts analyses use."""

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
    objects: list[NonImageObject] = field(default_factory=list)

    def find_series(self, uid: str) -> Series:
        for s in self.series:
            if s.uid == uid:
                return s
        raise KeyError(f"series {uid} is not part of study {self.uid}")

    def objects_of(self, kind: type[O]) -> list[O]:
        """The study's objects of one record type (``study.objects_of(RtPlan)``)."""
        return [o for o in self.objects if isinstance(o, kind)]

    def find_object(self, sop_instance_uid: str) -> NonImageObject:
        """The object with this SOP Instance UID (an RT plan's structure set, a dose's plan...)."""
        for o in self.objects:
            if o.ref.sop_instance_uid == sop_instance_uid:
                return o
        raise KeyError(f"object {sop_instance_uid} is not part of study {self.uid}")

    def referenced_series(self, obj: NonImageObject) -> list[Series]:
        """The image series ``obj`` refers to: named series or instances, else its Frame of Reference."""
        ref = obj.ref
        named = [s for s in self.series if s.uid in ref.referenced_series_uids
                 or (ref.referenced_instance_uids and s.instance_uids & set(ref.referenced_instance_uids))]
        named = [s for s in named if s.uid != ref.series_uid]
        if named or not ref.frame_of_reference_uid:
            return named
        return [s for s in self.series if s.uid != ref.series_uid
                and s.frame_of_reference_uid == ref.frame_of_reference_uid]

    def objects_for(self, series: Series) -> list[NonImageObject]:
        """The objects that refer to ``series`` (its structure sets, doses, SEGs, SRs...)."""
        return [o for o in self.objects if any(s.uid == series.uid for s in self.referenced_series(o))]


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
