"""Write RT Structure Set, RT Plan and RT Dose objects with pydicom (dciodvfy-clean).

Each object belongs to the patient and study of its CT (the Patient and General Study
attributes are copied from a CT header, :func:`workstation.io.writers.patient_study_tags`)
and to its Frame of Reference; every type 1 and 2 attribute of the IOD's modules is
written, type 2 ones empty when unknown.  The structure set references each CT image its
contours lie on; plan and dose reference the structure set and plan they belong to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from workstation.core.volume import Volume
from workstation.io.dicom_write import base_dataset, ds_text
from workstation.io.writers import patient_study_tags

STRUCTURE_SET_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
PLAN_CLASS = "1.2.840.10008.5.1.4.1.1.481.5"
DOSE_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"
STUDY_COMPONENT_CLASS = "1.2.840.10008.3.1.2.3.1"  # what RT Referenced Study Sequence names
MANUFACTURER = "Workstation"


@dataclass(frozen=True, eq=False)
class RoiSpec:
    """One ROI to write: number, name, colour, interpreted type and closed planar contours (patient mm)."""

    number: int
    name: str
    colour: tuple[int, int, int]
    roi_type: str  # EXTERNAL, PTV, CTV, GTV, ORGAN, AVOIDANCE...
    contours: Sequence[NDArray[np.float64]]  # each (n, 3), one plane


@dataclass(frozen=True)
class BeamSpec:
    """A static photon beam: gantry angle (deg), isocentre (mm), jaws (mm at the isocentre), meterset (MU)."""

    number: int
    name: str
    gantry_deg: float
    isocenter_mm: tuple[float, float, float]
    jaws_x_mm: tuple[float, float]
    jaws_y_mm: tuple[float, float]
    meterset_mu: float = 100.0
    energy_mv: float = 6.0
    sad_mm: float = 1000.0


@dataclass(frozen=True)
class PlanSpec:
    """A plan: label, beams, fractions and the target prescription (Gy over all fractions)."""

    label: str
    beams: tuple[BeamSpec, ...]
    fractions: int
    prescription_gy: float
    target_roi_number: int
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _now() -> tuple[str, str]:
    now = dt.datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


def _common(sop_class: str, modality: str, source: Any, series_number: int, description: str,
            software: str) -> Dataset:
    """SOP Common, Patient, General Study, RT Series and General Equipment of a new RT object."""
    ds = base_dataset(sop_class, generate_uid())
    for keyword, value in patient_study_tags(source).items():
        setattr(ds, keyword, value)
    if not ds.get("StudyInstanceUID"):
        ds.StudyInstanceUID = generate_uid()
    ds.Modality = modality
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description[:64]
    ds.OperatorsName = ""
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = software[:64] or "workstation"
    ds.InstanceNumber = 1
    date, time = _now()
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.SeriesDate, ds.SeriesTime = date, time
    frame_uid = str(getattr(source, "FrameOfReferenceUID", "") or "")
    ds.FrameOfReferenceUID = frame_uid or generate_uid()
    ds.PositionReferenceIndicator = ""
    return ds


def _item(**values: Any) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _save(ds: Dataset, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_structure_set(path: str | Path, rois: Sequence[RoiSpec], ct_headers: Sequence[Any], *,
                        label: str = "Structures", software: str = "workstation", series_number: int = 800) -> Path:
    """Write an RTSTRUCT for the CT whose headers (one per slice, no pixels) are ``ct_headers``."""
    if not ct_headers:
        raise ValueError("an RT Structure Set needs the CT images it is drawn on")
    source = ct_headers[0]
    ds = _common(STRUCTURE_SET_CLASS, "RTSTRUCT", source, series_number, label, software)
    date, time = _now()
    ds.StructureSetLabel = label[:16]
    ds.StructureSetName = label[:64]
    ds.StructureSetDate, ds.StructureSetTime = date, time
    images = [(float(h.ImagePositionPatient[2]), h) for h in ct_headers]
    contour_images = DicomSequence([_item(ReferencedSOPClassUID=h.SOPClassUID,
                                          ReferencedSOPInstanceUID=h.SOPInstanceUID) for _z, h in images])
    series = _item(SeriesInstanceUID=source.SeriesInstanceUID, ContourImageSequence=contour_images)
    study = _item(ReferencedSOPClassUID=STUDY_COMPONENT_CLASS, ReferencedSOPInstanceUID=ds.StudyInstanceUID,
                  RTReferencedSeriesSequence=DicomSequence([series]))
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([
        _item(FrameOfReferenceUID=ds.FrameOfReferenceUID, RTReferencedStudySequence=DicomSequence([study]))])
    z_of = np.asarray([z for z, _h in images])
    ds.StructureSetROISequence = DicomSequence([
        _item(ROINumber=r.number, ReferencedFrameOfReferenceUID=ds.FrameOfReferenceUID, ROIName=r.name[:64],
              ROIGenerationAlgorithm="AUTOMATIC") for r in rois])
    roi_contours = []
    for r in rois:
        contours = []
        for k, points in enumerate(r.contours, start=1):
            pts = np.asarray(points, dtype=np.float64)
            image = images[int(np.argmin(np.abs(z_of - float(pts[0, 2]))))][1]
            contours.append(_item(
                ContourImageSequence=DicomSequence([_item(ReferencedSOPClassUID=image.SOPClassUID,
                                                          ReferencedSOPInstanceUID=image.SOPInstanceUID)]),
                ContourGeometricType="CLOSED_PLANAR", NumberOfContourPoints=len(pts), ContourNumber=k,
                ContourData=[ds_text(round(float(v), 3)) for v in pts.reshape(-1)]))
        roi_contours.append(_item(ROIDisplayColor=list(r.colour), ReferencedROINumber=r.number,
                                  ContourSequence=DicomSequence(contours)))
    ds.ROIContourSequence = DicomSequence(roi_contours)
    ds.RTROIObservationsSequence = DicomSequence([
        _item(ObservationNumber=r.number, ReferencedROINumber=r.number, RTROIInterpretedType=r.roi_type,
              ROIInterpreter="") for r in rois])
    ds.ApprovalStatus = "UNAPPROVED"
    return _save(ds, path)


def _beam(spec: BeamSpec) -> Dataset:
    jaws = DicomSequence([_item(RTBeamLimitingDeviceType="ASYMX", NumberOfLeafJawPairs=1),
                          _item(RTBeamLimitingDeviceType="ASYMY", NumberOfLeafJawPairs=1)])
    positions = DicomSequence([
        _item(RTBeamLimitingDeviceType="ASYMX", LeafJawPositions=[ds_text(v) for v in spec.jaws_x_mm]),
        _item(RTBeamLimitingDeviceType="ASYMY", LeafJawPositions=[ds_text(v) for v in spec.jaws_y_mm])])
    first = _item(ControlPointIndex=0, NominalBeamEnergy=ds_text(spec.energy_mv), DoseRateSet=ds_text(600),
                  BeamLimitingDevicePositionSequence=positions, GantryAngle=ds_text(spec.gantry_deg % 360.0),
                  GantryRotationDirection="NONE", BeamLimitingDeviceAngle=ds_text(0),
                  BeamLimitingDeviceRotationDirection="NONE", PatientSupportAngle=ds_text(0),
                  PatientSupportRotationDirection="NONE", TableTopEccentricAngle=ds_text(0),
                  TableTopEccentricRotationDirection="NONE", TableTopVerticalPosition="",
                  TableTopLongitudinalPosition="", TableTopLateralPosition="",
                  IsocenterPosition=[ds_text(v) for v in spec.isocenter_mm], CumulativeMetersetWeight=ds_text(0))
    last = _item(ControlPointIndex=1, CumulativeMetersetWeight=ds_text(1))
    return _item(BeamNumber=spec.number, BeamName=spec.name[:16], BeamType="STATIC", RadiationType="PHOTON",
                 TreatmentMachineName="DEMO", PrimaryDosimeterUnit="MU", SourceAxisDistance=ds_text(spec.sad_mm),
                 BeamLimitingDeviceSequence=jaws, TreatmentDeliveryType="TREATMENT", NumberOfWedges=0,
                 NumberOfCompensators=0, NumberOfBoli=0, NumberOfBlocks=0,
                 FinalCumulativeMetersetWeight=ds_text(1), NumberOfControlPoints=2,
                 ControlPointSequence=DicomSequence([first, last]), ReferencedPatientSetupNumber=1)


def write_plan(path: str | Path, plan: PlanSpec, structure_set: Any, *, software: str = "workstation",
               series_number: int = 801) -> Path:
    """Write an RTPLAN of static beams referencing ``structure_set`` (its header)."""
    ds = _common(PLAN_CLASS, "RTPLAN", structure_set, series_number, plan.description or plan.label, software)
    date, time = _now()
    ds.RTPlanLabel = plan.label[:16]
    ds.RTPlanName = plan.label[:64]
    ds.RTPlanDate, ds.RTPlanTime = date, time
    ds.RTPlanGeometry = "PATIENT"
    ds.PlanIntent = "RESEARCH"
    ds.ReferencedStructureSetSequence = DicomSequence([
        _item(ReferencedSOPClassUID=STRUCTURE_SET_CLASS, ReferencedSOPInstanceUID=structure_set.SOPInstanceUID)])
    ds.DoseReferenceSequence = DicomSequence([_item(
        DoseReferenceNumber=1, DoseReferenceUID=generate_uid(), DoseReferenceStructureType="VOLUME",
        DoseReferenceDescription="Target prescription", ReferencedROINumber=plan.target_roi_number,
        DoseReferenceType="TARGET", TargetPrescriptionDose=ds_text(plan.prescription_gy))])
    ds.FractionGroupSequence = DicomSequence([_item(
        FractionGroupNumber=1, NumberOfFractionsPlanned=plan.fractions, NumberOfBeams=len(plan.beams),
        NumberOfBrachyApplicationSetups=0,
        ReferencedBeamSequence=DicomSequence([_item(ReferencedBeamNumber=b.number,
                                                    BeamMeterset=ds_text(b.meterset_mu)) for b in plan.beams]))])
    ds.BeamSequence = DicomSequence([_beam(b) for b in plan.beams])
    ds.PatientSetupSequence = DicomSequence([_item(PatientSetupNumber=1, PatientPosition="HFS")])
    ds.ApprovalStatus = "UNAPPROVED"
    for keyword, value in plan.extra.items():
        setattr(ds, keyword, value)
    return _save(ds, path)


def write_dose(path: str | Path, dose: Volume, source: Any, *, plan: Any = None, summation: str = "PLAN",
               comment: str = "", software: str = "workstation", series_number: int = 802,
               description: str = "Dose") -> Path:
    """Write ``dose`` (Gy, ``(z, y, x)`` on an axial grid) as a multi-frame RTDOSE.

    ``source`` is a header of the patient's CT or structure set (patient, study, Frame of
    Reference); ``plan`` the RT Plan header the dose belongs to (referenced when given).
    Voxels are stored as 32-bit unsigned integers with DoseGridScaling chosen so that the
    maximum uses the full range; GridFrameOffsetVector is in the relative form.
    """
    values = np.asarray(dose.array, dtype=np.float64)
    if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
        raise ValueError("dose values must be finite and non-negative to be written as RTDOSE")
    ds = _common(DOSE_CLASS, "RTDOSE", source, series_number, description, software)
    peak = float(values.max()) if values.size else 0.0
    scaling = float(ds_text(peak / 4.0e9)) if peak > 0 else 1.0
    stored = np.rint(values / scaling).clip(0, 2**32 - 1).astype(np.uint32)
    nz, ny, nx = dose.shape
    direction = np.asarray(dose.direction, dtype=np.float64)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ContentDate, ds.ContentTime = ds.SeriesDate, ds.SeriesTime
    ds.PatientOrientation = ""
    ds.ImagePositionPatient = [ds_text(v) for v in dose.origin]
    ds.ImageOrientationPatient = [ds_text(v) for v in (*direction[:, 0], *direction[:, 1])]
    ds.PixelSpacing = [ds_text(dose.spacing[1]), ds_text(dose.spacing[2])]
    ds.SliceThickness = ds_text(dose.spacing[0])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns, ds.NumberOfFrames = ny, nx, nz
    ds.FrameIncrementPointer = 0x3004000C
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", "PHYSICAL", summation
    ds.GridFrameOffsetVector = [ds_text(k * dose.spacing[0]) for k in range(nz)]
    ds.DoseGridScaling = ds_text(scaling)
    if comment:
        ds.ImageComments = comment[:10240]
    if plan is not None:
        ds.ReferencedRTPlanSequence = DicomSequence([
            _item(ReferencedSOPClassUID=plan.SOPClassUID, ReferencedSOPInstanceUID=plan.SOPInstanceUID)])
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    return _save(ds, path)


def read_headers(paths: Sequence[str | Path]) -> list[Any]:
    """Headers (no pixels) of files this module references, in the given order."""
    import pydicom

    return [pydicom.dcmread(str(p), stop_before_pixels=True) for p in paths]


def first_header(path: Optional[str | Path]) -> Any:
    """The header of one file, or ``None`` without a path."""
    return None if path is None else read_headers([path])[0]
