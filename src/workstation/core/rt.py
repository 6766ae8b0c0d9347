"""Radiotherapy objects of a study: structure sets, plans and dose grids (plain records).

Conventions, as DICOM defines them (PS3.3 C.8.8):

* Coordinates are patient LPS in mm (the same space as ``Volume.origin``); contours
  are lists of ``(x, y, z)`` points.  A ``CLOSED_PLANAR`` contour's last point joins
  its first (the first point is not repeated).
* Doses are in Gy when ``units == "GY"``; ``RELATIVE`` doses are fractions of a
  normalisation the planning system chose.  Stored dose voxels times ``grid_scaling``
  (DoseGridScaling) give the dose.
* ``GridFrameOffsetVector`` comes in two forms: *relative* (first offset 0, offsets
  along the slice normal from ImagePositionPatient) and *absolute* (first offset equal
  to the z of ImagePositionPatient, allowed only for axial grids).
  :meth:`DoseGridGeometry.relative_offsets_mm` gives the relative form of both.

Header facts only: contour points are read by ``workstation.io.rt.load_contours`` (a
structure set found by a scan has ``contours is None`` for every ROI) and dose voxels by
``workstation.io.rt.load_dose``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.objects import ObjectRef

RGB = tuple[int, int, int]
Vector3 = tuple[float, float, float]


@dataclass(frozen=True, eq=False)
class Contour:
    """One contour of an ROI: ``(n, 3)`` points in patient mm (LPS)."""

    points_mm: NDArray[np.float64]
    geometric_type: str = "CLOSED_PLANAR"  # POINT, OPEN_PLANAR, OPEN_NONPLANAR, CLOSED_PLANAR, CLOSEDPLANAR_XOR
    referenced_instance_uids: tuple[str, ...] = ()

    @property
    def closed(self) -> bool:
        return self.geometric_type.startswith("CLOSED")

    def plane_area_mm2(self) -> float:
        """Area enclosed by a closed planar contour (shoelace formula in its own plane)."""
        p = np.asarray(self.points_mm, dtype=np.float64)
        if not self.closed or len(p) < 3:
            return 0.0
        centred = p - p.mean(axis=0)
        cross = np.cross(centred, np.roll(centred, -1, axis=0)).sum(axis=0)
        return float(np.linalg.norm(cross) / 2.0)


@dataclass(frozen=True)
class StructureRoi:
    """One ROI of a structure set: identity, display colour, interpreted type, contours.

    ``roi_type`` is RTROIInterpretedType (EXTERNAL, PTV, CTV, GTV, ORGAN, AVOIDANCE...;
    empty when the file gives none).  ``contours`` is ``None`` until read.
    """

    number: int
    name: str
    colour: Optional[RGB] = None
    roi_type: str = ""
    frame_of_reference_uid: str = ""
    generation_algorithm: str = ""
    description: str = ""
    contour_count: int = 0
    contours: Optional[tuple[Contour, ...]] = None


@dataclass(frozen=True)
class StructureSet:
    """An RT Structure Set: its ROIs on one (or more) Frames of Reference."""

    ref: ObjectRef
    label: str = ""
    name: str = ""
    structure_set_date: Optional[date] = None
    rois: tuple[StructureRoi, ...] = ()

    def summary(self) -> str:
        """One line for lists: label and ROI count."""
        return f"RT Structure Set {self.label or self.name or ''} ({len(self.rois)} ROIs)".replace("  ", " ")

    @property
    def contours_loaded(self) -> bool:
        return all(r.contours is not None for r in self.rois)

    def roi(self, key: int | str) -> StructureRoi:
        """The ROI with this number or (case-insensitive) name."""
        for r in self.rois:
            if (isinstance(key, int) and r.number == key) or (isinstance(key, str) and r.name.lower() == key.lower()):
                return r
        raise KeyError(f"structure set {self.label or self.ref.sop_instance_uid} has no ROI {key!r}")


@dataclass(frozen=True)
class LimitingDevicePosition:
    """Jaw or MLC positions of one beam limiting device at a control point (mm at the isocentre)."""

    device_type: str  # X, Y, ASYMX, ASYMY, MLCX, MLCY
    positions_mm: tuple[float, ...]


@dataclass(frozen=True)
class ControlPoint:
    """One control point of a beam; ``None`` where the point leaves a value unchanged from the one before.

    Angles in degrees, positions in mm, ``cumulative_meterset_weight`` as stored
    (reaching the beam's Final Cumulative Meterset Weight at the last point).
    """

    index: int
    cumulative_meterset_weight: Optional[float] = None
    nominal_energy_mev: Optional[float] = None
    gantry_angle_deg: Optional[float] = None
    gantry_rotation: str = ""
    collimator_angle_deg: Optional[float] = None
    couch_angle_deg: Optional[float] = None
    isocenter_mm: Optional[Vector3] = None
    limiting_devices: tuple[LimitingDevicePosition, ...] = ()


@dataclass(frozen=True)
class Beam:
    """One treatment beam of a plan; angles in degrees, distances in mm, meterset in MU.

    Gantry, collimator and couch angles and the isocentre are those of the first control
    point (where a static beam keeps them; an arc starts there).
    """

    number: int
    name: str = ""
    description: str = ""
    beam_type: str = ""  # STATIC, DYNAMIC
    radiation_type: str = ""  # PHOTON, ELECTRON, PROTON, ION, NEUTRON
    treatment_delivery_type: str = ""  # TREATMENT, OPEN_PORTFILM, TRMT_PORTFILM...
    treatment_machine: str = ""
    control_points: int = 0
    nominal_energy_mev: Optional[float] = None
    gantry_angle_deg: Optional[float] = None
    gantry_rotation: str = ""  # CW, CC, NONE
    collimator_angle_deg: Optional[float] = None
    couch_angle_deg: Optional[float] = None
    isocenter_mm: Optional[Vector3] = None
    source_axis_distance_mm: Optional[float] = None
    final_cumulative_meterset_weight: Optional[float] = None
    control_point_list: tuple[ControlPoint, ...] = ()

    def gantry_angles_deg(self) -> tuple[float, ...]:
        """The gantry angle at every control point (a value carried forward where a point omits it)."""
        out: list[float] = []
        last = self.gantry_angle_deg
        for cp in self.control_point_list:
            last = cp.gantry_angle_deg if cp.gantry_angle_deg is not None else last
            if last is not None:
                out.append(last)
        return tuple(out)


@dataclass(frozen=True)
class FractionGroup:
    """Fractions planned and, per beam number, meterset (MU) and dose at the beam's dose point (Gy)."""

    number: int
    fractions_planned: Optional[int] = None
    number_of_beams: Optional[int] = None
    beam_meterset_mu: Mapping[int, Optional[float]] = field(default_factory=dict)
    beam_dose_gy: Mapping[int, Optional[float]] = field(default_factory=dict)

    @property
    def beam_numbers(self) -> tuple[int, ...]:
        return tuple(self.beam_meterset_mu)


@dataclass(frozen=True)
class DoseReference:
    """A prescription or constraint of the plan (Dose Reference Sequence), doses in Gy."""

    number: int
    structure_type: str = ""  # POINT, VOLUME, COORDINATES, SITE
    reference_type: str = ""  # TARGET, ORGAN_AT_RISK
    description: str = ""
    referenced_roi_number: Optional[int] = None
    target_prescription_dose_gy: Optional[float] = None
    target_minimum_dose_gy: Optional[float] = None
    target_maximum_dose_gy: Optional[float] = None
    delivery_maximum_dose_gy: Optional[float] = None
    organ_at_risk_maximum_dose_gy: Optional[float] = None


@dataclass(frozen=True)
class RtPlan:
    """An RT (Ion) Plan: its beams, fractionation, prescription and the objects it names."""

    ref: ObjectRef
    label: str = ""
    name: str = ""
    plan_date: Optional[date] = None
    geometry: str = ""  # PATIENT or TREATMENT_DEVICE
    intent: str = ""  # CURATIVE, PALLIATIVE...
    approval_status: str = ""
    beams: tuple[Beam, ...] = ()
    fraction_groups: tuple[FractionGroup, ...] = ()
    dose_references: tuple[DoseReference, ...] = ()
    referenced_structure_set_uid: str = ""

    def summary(self) -> str:
        """One line for lists: label, beams, fractions, prescription."""
        rx = self.prescription_dose_gy
        parts = [f"{len(self.beams)} beams", f"{self.fractions_planned} fx" if self.fractions_planned else "",
                 f"{rx:g} Gy" if rx is not None else ""]
        return f"RT Plan {self.label or self.name} (" + ", ".join(p for p in parts if p) + ")"

    @property
    def fractions_planned(self) -> Optional[int]:
        """Fractions of the first fraction group."""
        return self.fraction_groups[0].fractions_planned if self.fraction_groups else None

    @property
    def prescription_dose_gy(self) -> Optional[float]:
        """The highest target prescription dose of the plan's target dose references (Gy)."""
        doses = [d.target_prescription_dose_gy for d in self.dose_references
                 if d.target_prescription_dose_gy is not None and d.reference_type in ("TARGET", "")]
        return max(doses) if doses else None


@dataclass(frozen=True)
class DoseGridGeometry:
    """Where the dose voxels lie: an image plane repeated at the frame offsets."""

    rows: int
    columns: int
    frames: int
    pixel_spacing_mm: tuple[float, float]  # (between rows, between columns)
    origin_mm: Vector3  # ImagePositionPatient of the first frame
    orientation: tuple[float, float, float, float, float, float]  # ImageOrientationPatient
    frame_offsets_mm: tuple[float, ...]  # GridFrameOffsetVector as stored

    @property
    def offsets_absolute(self) -> bool:
        """True for the absolute form (first offset non-zero: frame z coordinates)."""
        return bool(self.frame_offsets_mm) and abs(self.frame_offsets_mm[0]) > 1e-6

    def relative_offsets_mm(self) -> NDArray[np.float64]:
        """Offsets of each frame along the slice normal from ``origin_mm`` (relative form)."""
        offsets = np.asarray(self.frame_offsets_mm or (0.0,) * self.frames, dtype=np.float64)
        return offsets - offsets[0] if self.offsets_absolute else offsets

    @property
    def normal(self) -> NDArray[np.float64]:
        row, col = np.asarray(self.orientation[:3]), np.asarray(self.orientation[3:])
        return np.cross(row, col)

    def frame_positions_mm(self) -> NDArray[np.float64]:
        """``(frames, 3)`` patient positions of each frame's first voxel."""
        return np.asarray(self.origin_mm) + self.relative_offsets_mm()[:, None] * self.normal[None, :]


@dataclass(frozen=True, eq=False)
class DoseVolumeHistogram:
    """One DVH a planning system stored in the dose object (DVH Sequence).

    ``dose_bins`` are the bin widths as stored (in ``dose_units`` after scaling by
    ``dose_scaling``); ``volumes`` the volume of each bin (``volume_units``: CM3,
    PERCENT or PER_U).  :meth:`cumulative` gives the usual cumulative curve.
    """

    referenced_roi_number: int
    dvh_type: str  # CUMULATIVE, DIFFERENTIAL, NATURAL
    dose_units: str  # GY or RELATIVE
    dose_type: str
    volume_units: str
    dose_scaling: float
    dose_bins: NDArray[np.float64]
    volumes: NDArray[np.float64]
    minimum_dose: Optional[float] = None
    maximum_dose: Optional[float] = None
    mean_dose: Optional[float] = None

    def cumulative(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(dose, volume receiving at least that dose)`` at the bins' upper edges, plus dose 0."""
        edges = np.concatenate([[0.0], np.cumsum(self.dose_bins * self.dose_scaling)])
        if self.dvh_type == "CUMULATIVE":
            return edges[:-1], np.asarray(self.volumes, dtype=np.float64)
        received = np.concatenate([np.cumsum(self.volumes[::-1])[::-1], [0.0]])
        return edges, received


@dataclass(frozen=True)
class RtDose:
    """An RT Dose object: the grid's geometry and scaling, what it sums, its embedded DVHs.

    ``series_uid`` of ``ref`` is the image series the viewer loads for display; the dose
    itself comes from ``workstation.io.rt.load_dose``.
    """

    ref: ObjectRef
    units: str = ""  # GY, RELATIVE
    dose_type: str = ""  # PHYSICAL, EFFECTIVE, ERROR
    summation_type: str = ""  # PLAN, MULTI_PLAN, FRACTION, BEAM, BRACHY, CONTROL_POINT...
    grid_scaling: float = 1.0
    geometry: Optional[DoseGridGeometry] = None
    bits_allocated: int = 32
    referenced_plan_uid: str = ""
    referenced_fraction_group: Optional[int] = None
    referenced_beam_number: Optional[int] = None
    normalization_point_mm: Optional[Vector3] = None
    dvh_normalization_dose_gy: Optional[float] = None
    dvhs: tuple[DoseVolumeHistogram, ...] = ()

    def summary(self) -> str:
        """One line for lists: what the grid sums, its units and size."""
        size = f", {self.geometry.columns}x{self.geometry.rows}x{self.geometry.frames}" if self.geometry else ""
        return f"RT Dose {self.summation_type or ''} {self.units or ''}{size}".replace("  ", " ")
