"""Read RT Structure Sets, RT (Ion) Plans and RT Dose objects into :mod:`workstation.core.rt` records.

Headers are read with large values left on disk (a scan never parses contour points
or decodes dose voxels); :func:`load_contours` reads the contour points of a structure
set and :func:`load_dose` the dose grid, both on demand.  Files without a preamble or
file meta (older RT exports) are read too.  Every fault becomes a
:class:`~workstation.io.errors.DicomReadError` naming the file and what is wrong.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import NDArray
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from workstation.core.rt import (
    Beam, Contour, ControlPoint, DoseGridGeometry, DoseReference, DoseVolumeHistogram, FractionGroup,
    LimitingDevicePosition, RtDose, RtPlan, StructureRoi, StructureSet,
)
from workstation.core.volume import Volume
from workstation.io.dicom_values import as_float, as_floats, as_int, da_date, first_text, value
from workstation.io.errors import DicomReadError
from workstation.io.objects import RT_CLASSES, items, object_ref, uids_in

RtObject = Union[StructureSet, RtPlan, RtDose]
CONTOUR_DATA = 0x30060050


def _open(path: Path, *, defer: bool = True) -> Dataset:
    from workstation.io.dicom_header import open_dataset

    return open_dataset(path, defer=defer)


def _colour(item: Any) -> Optional[tuple[int, int, int]]:
    rgb = as_floats(value(item, "ROIDisplayColor"), 3)
    if rgb is None:
        return None
    r, g, b = (int(min(max(round(c), 0), 255)) for c in rgb)
    return (r, g, b)


def _check_class(path: Path, ds: Dataset, kind: str) -> None:
    sop_class = first_text(value(ds, "SOPClassUID"))
    if RT_CLASSES.get(sop_class) != kind:
        raise DicomReadError(path, f"not an RT {kind} (SOP Class UID {sop_class or 'missing'})")


# -- structure sets --------------------------------------------------------------------

def structure_set_from(path: Path, ds: Dataset, *, contours: bool = False) -> StructureSet:
    """The structure set in ``ds``; contour points are read only with ``contours=True``."""
    _check_class(path, ds, "structure set")
    frames = items(ds, "ReferencedFrameOfReferenceSequence")
    series_path = ("ReferencedFrameOfReferenceSequence", "RTReferencedStudySequence", "RTReferencedSeriesSequence")
    series = uids_in(ds, series_path, "SeriesInstanceUID")
    images = uids_in(ds, (*series_path, "ContourImageSequence"), "ReferencedSOPInstanceUID")
    observations = {as_int(value(o, "ReferencedROINumber")): o for o in items(ds, "RTROIObservationsSequence")}
    contour_items = {as_int(value(c, "ReferencedROINumber")): c for c in items(ds, "ROIContourSequence")}
    rois = []
    for item in items(ds, "StructureSetROISequence"):
        number = as_int(value(item, "ROINumber"))
        if number is None:
            raise DicomReadError(path, "structure set ROI without ROI Number")
        obs = observations.get(number)
        cont = contour_items.get(number)
        contour_seq = items(cont, "ContourSequence") if cont is not None else []
        rois.append(StructureRoi(
            number=number,
            name=first_text(value(item, "ROIName")),
            colour=_colour(cont) if cont is not None else None,
            roi_type=first_text(value(obs, "RTROIInterpretedType")) if obs is not None else "",
            frame_of_reference_uid=first_text(value(item, "ReferencedFrameOfReferenceUID")),
            generation_algorithm=first_text(value(item, "ROIGenerationAlgorithm")),
            description=first_text(value(item, "ROIDescription")),
            contour_count=len(contour_seq),
            contours=tuple(_contour(path, number, k, c) for k, c in enumerate(contour_seq)) if contours else None,
        ))
    frame_uid = first_text(value(frames[0], "FrameOfReferenceUID")) if frames else ""
    return StructureSet(
        ref=object_ref(path, ds, frame_of_reference=frame_uid, referenced_series=series, referenced_instances=images),
        label=first_text(value(ds, "StructureSetLabel")),
        name=first_text(value(ds, "StructureSetName")),
        structure_set_date=da_date(value(ds, "StructureSetDate")),
        rois=tuple(rois),
    )


def _contour_points(item: Dataset) -> NDArray[np.float64]:
    elem = item.get_item(CONTOUR_DATA)
    if elem is None:
        return np.zeros((0,), dtype=np.float64)
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes) and elem.VR in (None, "DS"):
        text = elem.value.replace(b"\x00", b"").strip()
        return np.array(text.split(b"\\") if text else [], dtype=np.bytes_).astype(np.float64)
    return np.atleast_1d(np.asarray(item["ContourData"].value, dtype=np.float64)).reshape(-1)


def _contour(path: Path, roi: int, index: int, item: Dataset) -> Contour:
    try:
        flat = _contour_points(item)
    except (ValueError, TypeError) as exc:
        raise DicomReadError(path, f"ROI {roi}, contour {index + 1}: Contour Data is not a list of numbers") from exc
    if flat.size % 3 or not np.all(np.isfinite(flat)):
        raise DicomReadError(path, f"ROI {roi}, contour {index + 1}: Contour Data is not a list of finite (x, y, z)")
    points = flat.reshape(-1, 3)
    declared = as_int(value(item, "NumberOfContourPoints"))
    if declared is not None and declared != len(points):
        raise DicomReadError(path, f"ROI {roi}, contour {index + 1}: {len(points)} points, "
                                   f"Number of Contour Points says {declared}")
    refs = tuple(uids_in(item, ("ContourImageSequence",), "ReferencedSOPInstanceUID"))
    return Contour(points_mm=points, geometric_type=first_text(value(item, "ContourGeometricType")) or "CLOSED_PLANAR",
                   referenced_instance_uids=refs)


def load_contours(structure_set: StructureSet) -> StructureSet:
    """The same structure set with every ROI's contours read from its file."""
    path = structure_set.ref.path
    full = _guarded(path, lambda ds: structure_set_from(path, ds, contours=True), defer=False)
    assert isinstance(full, StructureSet)
    return full


# -- plans -----------------------------------------------------------------------------

def _control_point(item: Any, index: int) -> ControlPoint:
    iso = as_floats(value(item, "IsocenterPosition"), 3)
    devices = []
    for d in items(item, "BeamLimitingDevicePositionSequence"):
        positions = value(d, "LeafJawPositions")
        numbers = tuple(float(v) for v in positions) if positions is not None and not isinstance(positions, str) \
            else tuple(v for v in (as_float(positions),) if v is not None)
        devices.append(LimitingDevicePosition(first_text(value(d, "RTBeamLimitingDeviceType")), numbers))
    number = as_int(value(item, "ControlPointIndex"))
    return ControlPoint(
        index=number if number is not None else index,
        cumulative_meterset_weight=as_float(value(item, "CumulativeMetersetWeight")),
        nominal_energy_mev=as_float(value(item, "NominalBeamEnergy")),
        gantry_angle_deg=as_float(value(item, "GantryAngle")),
        gantry_rotation=first_text(value(item, "GantryRotationDirection")),
        collimator_angle_deg=as_float(value(item, "BeamLimitingDeviceAngle")),
        couch_angle_deg=as_float(value(item, "PatientSupportAngle")),
        isocenter_mm=(iso[0], iso[1], iso[2]) if iso is not None else None,
        limiting_devices=tuple(devices),
    )


def _beam(item: Any) -> Beam:
    cps = items(item, "ControlPointSequence") or items(item, "IonControlPointSequence")
    first = cps[0] if cps else Dataset()
    iso = as_floats(value(first, "IsocenterPosition"), 3)
    return Beam(
        number=as_int(value(item, "BeamNumber")) or 0,
        name=first_text(value(item, "BeamName")),
        description=first_text(value(item, "BeamDescription")),
        beam_type=first_text(value(item, "BeamType")),
        radiation_type=first_text(value(item, "RadiationType")),
        treatment_delivery_type=first_text(value(item, "TreatmentDeliveryType")),
        treatment_machine=first_text(value(item, "TreatmentMachineName")),
        control_points=as_int(value(item, "NumberOfControlPoints")) or len(cps),
        nominal_energy_mev=as_float(value(first, "NominalBeamEnergy")),
        gantry_angle_deg=as_float(value(first, "GantryAngle")),
        gantry_rotation=first_text(value(first, "GantryRotationDirection")),
        collimator_angle_deg=as_float(value(first, "BeamLimitingDeviceAngle")),
        couch_angle_deg=as_float(value(first, "PatientSupportAngle")),
        isocenter_mm=(iso[0], iso[1], iso[2]) if iso is not None else None,
        source_axis_distance_mm=as_float(value(item, "SourceAxisDistance")) or as_float(value(item, "VirtualSourceAxisDistances")),
        final_cumulative_meterset_weight=as_float(value(item, "FinalCumulativeMetersetWeight")),
        control_point_list=tuple(_control_point(cp, k) for k, cp in enumerate(cps)),
    )


def _fraction_group(item: Any) -> FractionGroup:
    meterset: dict[int, Optional[float]] = {}
    dose: dict[int, Optional[float]] = {}
    for ref in items(item, "ReferencedBeamSequence"):
        number = as_int(value(ref, "ReferencedBeamNumber"))
        if number is not None:
            meterset[number] = as_float(value(ref, "BeamMeterset"))
            dose[number] = as_float(value(ref, "BeamDose"))
    return FractionGroup(number=as_int(value(item, "FractionGroupNumber")) or 0,
                         fractions_planned=as_int(value(item, "NumberOfFractionsPlanned")),
                         number_of_beams=as_int(value(item, "NumberOfBeams")),
                         beam_meterset_mu=meterset, beam_dose_gy=dose)


def _dose_reference(item: Any) -> DoseReference:
    return DoseReference(
        number=as_int(value(item, "DoseReferenceNumber")) or 0,
        structure_type=first_text(value(item, "DoseReferenceStructureType")),
        reference_type=first_text(value(item, "DoseReferenceType")),
        description=first_text(value(item, "DoseReferenceDescription")),
        referenced_roi_number=as_int(value(item, "ReferencedROINumber")),
        target_prescription_dose_gy=as_float(value(item, "TargetPrescriptionDose")),
        target_minimum_dose_gy=as_float(value(item, "TargetMinimumDose")),
        target_maximum_dose_gy=as_float(value(item, "TargetMaximumDose")),
        delivery_maximum_dose_gy=as_float(value(item, "DeliveryMaximumDose")),
        organ_at_risk_maximum_dose_gy=as_float(value(item, "OrganAtRiskMaximumDose")),
    )


def plan_from(path: Path, ds: Dataset) -> RtPlan:
    """The RT (Ion) Plan in ``ds``."""
    _check_class(path, ds, "plan")
    structure_sets = uids_in(ds, ("ReferencedStructureSetSequence",), "ReferencedSOPInstanceUID")
    doses = uids_in(ds, ("ReferencedDoseSequence",), "ReferencedSOPInstanceUID")
    beams = tuple(_beam(b) for b in items(ds, "BeamSequence") or items(ds, "IonBeamSequence"))
    groups = tuple(_fraction_group(f) for f in items(ds, "FractionGroupSequence"))
    missing = sorted({n for g in groups for n in g.beam_numbers} - {b.number for b in beams})
    declared = max((g.number_of_beams or 0 for g in groups), default=0)
    if missing or declared > len(beams):  # a damaged or truncated file: its fractions name beams it lacks
        raise DicomReadError(path, f"RT Plan fraction group names {declared or len(missing)} beam(s), its Beam "
                                   f"Sequence holds {len(beams)} (damaged or truncated file)")
    return RtPlan(
        ref=object_ref(path, ds, referenced_instances=structure_sets + doses),
        label=first_text(value(ds, "RTPlanLabel")),
        name=first_text(value(ds, "RTPlanName")),
        plan_date=da_date(value(ds, "RTPlanDate")),
        geometry=first_text(value(ds, "RTPlanGeometry")),
        intent=first_text(value(ds, "PlanIntent")),
        approval_status=first_text(value(ds, "ApprovalStatus")),
        beams=beams,
        fraction_groups=groups,
        dose_references=tuple(_dose_reference(d) for d in items(ds, "DoseReferenceSequence")),
        referenced_structure_set_uid=structure_sets[0] if structure_sets else "",
    )


# -- dose ------------------------------------------------------------------------------

def _geometry(path: Path, ds: Dataset) -> DoseGridGeometry:
    rows, columns = as_int(value(ds, "Rows")), as_int(value(ds, "Columns"))
    frames = max(as_int(value(ds, "NumberOfFrames")) or 1, 1)
    spacing = as_floats(value(ds, "PixelSpacing"), 2)
    origin = as_floats(value(ds, "ImagePositionPatient"), 3)
    orientation = as_floats(value(ds, "ImageOrientationPatient"), 6)
    offsets = as_floats(value(ds, "GridFrameOffsetVector"), frames) if frames > 1 else (0.0,)
    if not rows or not columns or spacing is None or origin is None or orientation is None:
        raise DicomReadError(path, "RT Dose without Rows/Columns, Pixel Spacing or patient position/orientation")
    if offsets is None:
        raise DicomReadError(path, f"RT Dose of {frames} frames without a Grid Frame Offset Vector of {frames} values")
    return DoseGridGeometry(rows, columns, frames, (spacing[0], spacing[1]), (origin[0], origin[1], origin[2]),
                            orientation, offsets)  # type: ignore[arg-type]


def _dvh(item: Any) -> Optional[DoseVolumeHistogram]:
    rois = items(item, "DVHReferencedROISequence")
    roi = as_int(value(rois[0], "ReferencedROINumber")) if rois else None
    data = value(item, "DVHData")
    if roi is None or data is None:
        return None
    pairs = np.asarray([float(v) for v in data], dtype=np.float64)
    n = as_int(value(item, "DVHNumberOfBins")) or pairs.size // 2
    if pairs.size < 2 * n or n == 0 or not np.all(np.isfinite(pairs)):
        return None
    pairs = pairs[: 2 * n].reshape(n, 2)
    return DoseVolumeHistogram(
        referenced_roi_number=roi,
        dvh_type=first_text(value(item, "DVHType")),
        dose_units=first_text(value(item, "DoseUnits")),
        dose_type=first_text(value(item, "DoseType")),
        volume_units=first_text(value(item, "DVHVolumeUnits")),
        dose_scaling=as_float(value(item, "DVHDoseScaling")) or 1.0,
        dose_bins=pairs[:, 0].copy(),
        volumes=pairs[:, 1].copy(),
        minimum_dose=as_float(value(item, "DVHMinimumDose")),
        maximum_dose=as_float(value(item, "DVHMaximumDose")),
        mean_dose=as_float(value(item, "DVHMeanDose")),
    )


def dose_from(path: Path, ds: Dataset) -> RtDose:
    """The RT Dose header in ``ds`` (its voxels stay on disk)."""
    _check_class(path, ds, "dose")
    plans = uids_in(ds, ("ReferencedRTPlanSequence",), "ReferencedSOPInstanceUID")
    structure_sets = uids_in(ds, ("ReferencedStructureSetSequence",), "ReferencedSOPInstanceUID")
    plan_items = items(ds, "ReferencedRTPlanSequence")
    groups = items(plan_items[0], "ReferencedFractionGroupSequence") if plan_items else []
    beams = items(groups[0], "ReferencedBeamSequence") if groups else []
    point = as_floats(value(ds, "NormalizationPoint"), 3)
    scaling = as_float(value(ds, "DoseGridScaling"))
    geometry = _geometry(path, ds) if "PixelData" in ds else None
    return RtDose(
        ref=object_ref(path, ds, referenced_instances=plans + structure_sets),
        units=first_text(value(ds, "DoseUnits")).upper(),
        dose_type=first_text(value(ds, "DoseType")),
        summation_type=first_text(value(ds, "DoseSummationType")),
        grid_scaling=scaling if scaling is not None else 1.0,
        geometry=geometry,
        bits_allocated=as_int(value(ds, "BitsAllocated")) or 32,
        referenced_plan_uid=plans[0] if plans else "",
        referenced_fraction_group=as_int(value(groups[0], "ReferencedFractionGroupNumber")) if groups else None,
        referenced_beam_number=as_int(value(beams[0], "ReferencedBeamNumber")) if beams else None,
        normalization_point_mm=(point[0], point[1], point[2]) if point is not None else None,
        dvh_normalization_dose_gy=as_float(value(ds, "DVHNormalizationDoseValue")),
        dvhs=tuple(d for d in (_dvh(i) for i in items(ds, "DVHSequence")) if d is not None),
    )


def load_dose(dose: RtDose) -> Volume:
    """The dose grid of ``dose`` as a :class:`Volume` (values times DoseGridScaling, float32).

    The volume's ``meta`` names the ``dose_units`` (``GY`` or ``RELATIVE``) and the
    summation type.  Frames are placed at their Grid Frame Offset Vector positions
    (relative or absolute form); a grid whose frames are unevenly spaced is refused,
    since a :class:`Volume` is a regular grid.
    """
    from workstation.core.study import Series
    from workstation.io.dicom import load_series
    from workstation.io.dicom_header import ImageHeader, read_header

    path = dose.ref.path
    geometry = dose.geometry
    if geometry is None:
        raise DicomReadError(path, "RT Dose without a dose grid (DVHs only)")
    steps = np.diff(geometry.relative_offsets_mm())
    if steps.size and (np.any(steps == 0) or np.ptp(steps) > 1e-3 * max(float(np.abs(steps).max()), 1.0)):
        raise DicomReadError(path, "RT Dose frames are not evenly spaced (Grid Frame Offset Vector); "
                                   "a regular dose grid is needed")
    header = read_header(path)
    if not isinstance(header, ImageHeader):
        raise DicomReadError(path, "RT Dose without pixel data")
    series = Series(uid=dose.ref.series_uid or dose.ref.sop_instance_uid, study_uid=dose.ref.study_uid,
                    modality="RTDOSE", frames=list(header.frames), meta=dict(header.series_meta))
    volume = load_series(series)
    meta = {**volume.meta, "dose_units": dose.units, "dose_summation_type": dose.summation_type,
            "dose_type": dose.dose_type, "sop_instance_uid": dose.ref.sop_instance_uid}
    return replace(volume, array=np.asarray(volume.array, dtype=np.float32), meta=meta)


# -- any RT object ---------------------------------------------------------------------

def record_of(path: Path, ds: Dataset) -> RtObject:
    """The structure set (without contour points), plan or dose header in ``ds``."""
    kind = RT_CLASSES.get(first_text(value(ds, "SOPClassUID")))
    if kind == "structure set":
        return structure_set_from(path, ds)
    if kind == "plan":
        return plan_from(path, ds)
    return dose_from(path, ds)


def _guarded(path: Path, read: Any, *, defer: bool = True) -> RtObject:
    ds = _open(path, defer=defer)
    try:
        return read(ds)
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed sequence or value is a fault of the file
        raise DicomReadError(path, f"unreadable RT object ({type(exc).__name__}: {exc})") from None


def read_rt(path: Union[str, Path], *, contours: bool = True) -> RtObject:
    """Read an RTSTRUCT (with its contour points unless ``contours=False``), RTPLAN or RTDOSE file."""
    path = Path(path)

    def read(ds: Dataset) -> RtObject:
        kind = RT_CLASSES.get(first_text(value(ds, "SOPClassUID")))
        if kind is None:
            raise DicomReadError(path, "not an RT Structure Set, Plan or Dose")
        if kind == "structure set":
            return structure_set_from(path, ds, contours=contours)
        return record_of(path, ds)

    return _guarded(path, read, defer=not contours)
