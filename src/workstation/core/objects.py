"""Non-image DICOM objects of a study (SR, SEG, presentation states...): plain records.

Every record starts with an :class:`ObjectRef`: where the object is, what it is and
what it points at (Frame of Reference, referenced series and instances), which is how
:class:`~workstation.core.study.Study` links it to its image series.  The RT objects
(structure sets, plans, dose grids) are in :mod:`workstation.core.rt`.  Records hold
header facts only; bulk data (contour points, dose voxels, segment frames) is read on
demand by ``workstation.io``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class ObjectRef:
    """Identity and references of one non-image object.

    ``referenced_series_uids`` and ``referenced_instance_uids`` are the image series and
    SOP instances the object names (RT Referenced Series, Referenced Series Sequence,
    SR evidence, SEG source images, an RT plan's structure set...).
    """

    path: Path
    modality: str
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str = ""
    sop_class_name: str = ""
    series_number: Optional[int] = None
    series_description: str = ""
    content_date: Optional[date] = None
    frame_of_reference_uid: str = ""
    referenced_series_uids: tuple[str, ...] = ()
    referenced_instance_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StructuredReport:
    """A DICOM SR document: its title, state and the evidence it reports on."""

    ref: ObjectRef
    title: str = ""
    template_id: str = ""
    completion_flag: str = ""  # COMPLETE or PARTIAL
    verification_flag: str = ""  # VERIFIED or UNVERIFIED

    def summary(self) -> str:
        """One line for lists."""
        return f"SR: {self.title or self.ref.series_description or 'document'}"


@dataclass(frozen=True)
class SegmentInfo:
    """One segment of a DICOM SEG: number, label and what it stands for (code meanings)."""

    number: int
    label: str
    category: str = ""
    property_type: str = ""
    algorithm_type: str = ""  # AUTOMATIC, SEMIAUTOMATIC, MANUAL
    algorithm_name: str = ""


@dataclass(frozen=True)
class Segmentation:
    """A DICOM Segmentation: its segments and frame layout (frames are read on demand)."""

    ref: ObjectRef
    segmentation_type: str = ""  # BINARY, FRACTIONAL, LABELMAP
    segments: tuple[SegmentInfo, ...] = ()
    rows: int = 0
    columns: int = 0
    frames: int = 0

    def summary(self) -> str:
        """One line for lists: the first segment labels."""
        names = ", ".join(s.label for s in self.segments[:4]) + (", ..." if len(self.segments) > 4 else "")
        return f"SEG: {names or self.ref.series_description or 'segmentation'}"


@dataclass(frozen=True)
class GenericObject:
    """Any other non-image object (presentation state, key object selection, raw data...)."""

    ref: ObjectRef

    def summary(self) -> str:
        """One line for lists: the SOP class and series description."""
        kind = self.ref.sop_class_name or self.ref.modality or "DICOM object"
        return f"{kind}: {self.ref.series_description}" if self.ref.series_description else kind
