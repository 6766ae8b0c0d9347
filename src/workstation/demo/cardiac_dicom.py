"""The cine phantom as real MR DICOM: single-frame MR images, or one Enhanced MR multi-frame object.

Single-frame (MR Image Storage), one file per slice and phase, as a scanner writes a
short-axis SSFP cine: ``TriggerTime`` (ms after the R wave), ``CardiacNumberOfImages``,
``TemporalPositionIdentifier`` / ``NumberOfTemporalPositions``, ``HeartRate``,
``NominalInterval``, the same ``AcquisitionTime`` for every phase of a slice (one
breath-hold per slice), gating in ``ScanOptions`` (``CG``), and the patient's height
and weight (``PatientSize`` m, ``PatientWeight`` kg).

Enhanced (Enhanced MR Image Storage), every plane a frame: geometry, timing
(``NominalCardiacTriggerDelayTime``, ``TemporalPositionIndex``) and heart rate in the
per-frame and shared functional groups, dimensions stack position x temporal position.
Both pass dciodvfy without errors.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from workstation.demo.cardiac_phantom import CineCase, generate_cine
from workstation.io.dicom_write import TYPE2_DEFAULTS, base_dataset, ds_text, patient_tags

MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
DEMO_SEED = 7
START_S = 9 * 3600.0 + 15 * 60.0  # first breath-hold at 09:15
BREATH_HOLD_S = 18.0
IMAGE_TYPE = ["ORIGINAL", "PRIMARY", "CARDIAC_GATED", "NONE"]
#: Image-level description of the enhanced object (the same in its frame type).
DESCRIPTION = {"PixelPresentation": "MONOCHROME", "VolumetricProperties": "VOLUME",
               "VolumeBasedCalculationTechnique": "NONE", "ComplexImageComponent": "MAGNITUDE",
               "AcquisitionContrast": "UNKNOWN"}
SEQUENCE = {"RepetitionTime": "3.1", "EchoTime": "1.4", "FlipAngle": "55", "EchoTrainLength": 1,
            "MagneticFieldStrength": "1.5", "ImagingFrequency": "63.68", "ImagedNucleus": "1H"}


def demo_tags() -> dict[str, Any]:
    """Patient and study of the demo cine (synthetic: a 54-year-old man, 1.78 m, 80 kg)."""
    tags = patient_tags("Demo^Cardiac", "DEMO-CINE", sex="M", age_years=54, birth_date="19720301",
                        study_date="20260315", study_description="Cardiac MR function (synthetic)",
                        accession="DEMOCMR1")
    tags.update({"PatientSize": "1.78", "PatientWeight": "80", "StudyTime": "091000", "StudyID": "1",
                 "Manufacturer": "Workstation demo", "PatientPosition": "HFS", "BodyPartExamined": "HEART"})
    return tags


def _time(seconds: float) -> str:
    seconds %= 86400.0
    h, rem = divmod(seconds, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h):02d}{int(m):02d}{s:09.6f}"


def _stored(case: CineCase) -> np.ndarray:
    return np.clip(np.rint(case.images), 0, 4095).astype(np.uint16)


def _positions(case: CineCase) -> np.ndarray:
    """ImagePositionPatient of every slice (LPS mm)."""
    n_slices = case.images.shape[1]
    return np.asarray(case.origin) + np.outer(np.arange(n_slices) * case.spacing_mm, case.direction[:, 2])


def _common(ds: Dataset, case: CineCase, tags: Mapping[str, Any], uids: Mapping[str, str], series_number: int,
            description: str) -> None:
    """Patient, study, series, frame of reference and equipment attributes."""
    for keyword, default in TYPE2_DEFAULTS.items():
        setattr(ds, keyword, default)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = "20260315"
    ds.StudyTime = "091000"
    ds.SeriesTime = _time(START_S)
    ds.Modality = "MR"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.ProtocolName = "SA cine bSSFP"
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.PatientName = tags.get("PatientName", "ANONYMOUS^")


def _pixel_module(ds: Dataset, rows: int, cols: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = "900", "1800"


def write_cine(case: CineCase, folder: str | Path, *, tags: Optional[Mapping[str, Any]] = None,
               series_number: int = 5, description: str = "SA cine bSSFP", with_trigger: bool = True,
               study_uid: Optional[str] = None) -> list[Path]:
    """Write ``case`` as single-frame MR images (one per slice and phase) into ``folder``.

    ``with_trigger=False`` leaves out every cardiac timing attribute (TriggerTime,
    heart rate, R-R interval): a cine whose phases can only be ordered by instance.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tags = dict(demo_tags() if tags is None else tags)
    uids = {"study": study_uid or generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    n_phases, n_slices, rows, cols = case.images.shape
    stored, positions = _stored(case), _positions(case)
    iop = [ds_text(v) for v in (*case.direction[:, 0], *case.direction[:, 1])]
    paths: list[Path] = []
    for k in range(n_slices):
        acquired = _time(START_S + k * BREATH_HOLD_S)
        for t in range(n_phases):
            ds = base_dataset(MR_IMAGE, generate_uid())
            _common(ds, case, tags, uids, series_number, description)
            ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
            ds.InstanceNumber = 1 + k * n_phases + t
            ds.AcquisitionNumber = k + 1
            ds.AcquisitionTime = ds.ContentTime = acquired
            ds.ImagePositionPatient = [ds_text(v) for v in positions[k]]
            ds.ImageOrientationPatient = iop
            ds.PixelSpacing = [ds_text(case.pixel_mm)] * 2
            ds.SliceThickness = ds_text(case.thickness_mm)
            ds.SpacingBetweenSlices = ds_text(case.spacing_mm)
            ds.SliceLocation = ds_text(float(positions[k] @ case.direction[:, 2]))
            ds.ScanningSequence, ds.SequenceVariant = "GR", ["SK", "SS"]
            ds.ScanOptions = "CG" if with_trigger else ""
            ds.MRAcquisitionType = "2D"
            ds.SequenceName = "bSSFP cine"
            for keyword, value in SEQUENCE.items():
                setattr(ds, keyword, value)
            ds.TemporalPositionIdentifier = t + 1
            ds.NumberOfTemporalPositions = n_phases
            if with_trigger:
                ds.TriggerTime = ds_text(case.trigger_ms[t])
                ds.NominalInterval = int(round(case.rr_ms))
                ds.HeartRate = int(round(case.heart_rate_bpm))
                ds.CardiacNumberOfImages = n_phases
                ds.BeatRejectionFlag = "N"
            _pixel_module(ds, rows, cols)
            ds.PixelData = np.ascontiguousarray(stored[t, k]).tobytes()
            path = folder / f"CINE{k + 1:02d}_{t + 1:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def _item(**attributes: Any) -> Dataset:
    """A dataset of ``attributes``; text given for a binary float attribute (FD/FL) becomes a number."""
    ds = Dataset()
    for keyword, value in attributes.items():
        _set(ds, keyword, value)
    return ds


def _set(ds: Dataset, keyword: str, value: Any) -> None:
    if dictionary_VR(keyword) in ("FD", "FL") and isinstance(value, str):
        value = float(value)
    setattr(ds, keyword, value)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def _shared_groups(case: CineCase) -> Dataset:
    """Functional groups every frame shares: pixel measures, orientation, MR acquisition, gating."""
    iop = [ds_text(v) for v in (*case.direction[:, 0], *case.direction[:, 1])]
    rows, cols = case.images.shape[2:]
    return _item(
        PixelMeasuresSequence=Sequence([_item(PixelSpacing=[ds_text(case.pixel_mm)] * 2,
                                              SliceThickness=ds_text(case.thickness_mm),
                                              SpacingBetweenSlices=ds_text(case.spacing_mm))]),
        PlaneOrientationSequence=Sequence([_item(ImageOrientationPatient=iop)]),
        MRImageFrameTypeSequence=Sequence([_item(FrameType=IMAGE_TYPE, **DESCRIPTION)]),
        PixelValueTransformationSequence=Sequence([_item(RescaleIntercept="0", RescaleSlope="1", RescaleType="US")]),
        MRTimingAndRelatedParametersSequence=Sequence([_item(
            RepetitionTime=SEQUENCE["RepetitionTime"], FlipAngle=SEQUENCE["FlipAngle"], EchoTrainLength=1,
            RFEchoTrainLength=1, GradientEchoTrainLength=1, GradientOutputType="DB_DT",
            OperatingModeSequence=Sequence([_item(OperatingModeType="GRADIENT", OperatingMode="IEC_NORMAL")]),
            SpecificAbsorptionRateSequence=Sequence([_item(SpecificAbsorptionRateDefinition="IEC_WHOLE_BODY",
                                                           SpecificAbsorptionRateValue="0.8")]),
            GradientOutput="20")]),
        MRFOVGeometrySequence=Sequence([_item(
            InPlanePhaseEncodingDirection="ROW", MRAcquisitionFrequencyEncodingSteps=int(cols),
            MRAcquisitionPhaseEncodingStepsInPlane=int(rows), PercentSampling="100", PercentPhaseFieldOfView="100")]),
        MREchoSequence=Sequence([_item(EffectiveEchoTime=SEQUENCE["EchoTime"])]),
        MRModifierSequence=Sequence([_item(
            InversionRecovery="NO", FlowCompensation="NONE", Spoiling="NONE", T2Preparation="NO",
            SpectrallySelectedExcitation="NONE", SpatialPresaturation="NONE", PartialFourier="NO",
            ParallelAcquisition="NO")]),
        MRImagingModifierSequence=Sequence([_item(
            MagnetizationTransfer="NONE", BloodSignalNulling="NO", Tagging="NONE",
            TransmitterFrequency=SEQUENCE["ImagingFrequency"], PixelBandwidth="930")]),
        MRReceiveCoilSequence=Sequence([_item(ReceiveCoilName="Body array", ReceiveCoilManufacturerName="Demo",
                                              ReceiveCoilType="MULTICOIL", QuadratureReceiveCoil="NO",
                                              MultiCoilDefinitionSequence=Sequence([_item(
                                                  MultiCoilElementName="A1", MultiCoilElementUsed="YES")]))]),
        MRTransmitCoilSequence=Sequence([_item(TransmitCoilName="Body", TransmitCoilManufacturerName="Demo",
                                               TransmitCoilType="BODY")]),
        MRAveragesSequence=Sequence([_item(NumberOfAverages="1")]),
        FrameAnatomySequence=Sequence([_item(
            AnatomicRegionSequence=Sequence([_code("80891009", "SCT", "Heart")]), FrameLaterality="U")]),
        FrameVOILUTSequence=Sequence([_item(WindowCenter="900", WindowWidth="1800")]),
    )


def _frame_groups(case: CineCase, k: int, t: int, position: np.ndarray) -> Dataset:
    when = dt.datetime(2026, 3, 15) + dt.timedelta(seconds=START_S + k * BREATH_HOLD_S + case.trigger_ms[t] / 1000.0)
    stamp = when.strftime("%Y%m%d%H%M%S.%f")
    n_phases = case.images.shape[0]
    return _item(
        FrameContentSequence=Sequence([_item(
            FrameAcquisitionNumber=k + 1, FrameReferenceDateTime=stamp, FrameAcquisitionDateTime=stamp,
            FrameAcquisitionDuration=str(round(case.rr_ms / n_phases, 1)), StackID="1",
            InStackPositionNumber=k + 1, TemporalPositionIndex=t + 1, DimensionIndexValues=[k + 1, t + 1])]),
        PlanePositionSequence=Sequence([_item(ImagePositionPatient=[ds_text(v) for v in position])]),
        CardiacSynchronizationSequence=Sequence([_item(
            NominalPercentageOfCardiacPhase=ds_text(100.0 * t / n_phases),
            NominalCardiacTriggerDelayTime=ds_text(case.trigger_ms[t]),
            ActualCardiacTriggerDelayTime=ds_text(case.trigger_ms[t]),
            IntervalsAcquired=1, IntervalsRejected=0, HeartRate=int(round(case.heart_rate_bpm)),
            RRIntervalTimeNominal=ds_text(case.rr_ms))]),
    )


def write_enhanced_cine(case: CineCase, folder: str | Path, *, tags: Optional[Mapping[str, Any]] = None,
                        series_number: int = 6, description: str = "SA cine bSSFP (enhanced)") -> Path:
    """Write ``case`` as one Enhanced MR Image object (a frame per slice and phase, slice-major)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tags = dict(demo_tags() if tags is None else tags)
    uids = {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    n_phases, n_slices, rows, cols = case.images.shape
    ds = base_dataset(ENHANCED_MR, generate_uid())
    _common(ds, case, tags, uids, series_number, description)
    ds.ImageType = IMAGE_TYPE
    for keyword, value in DESCRIPTION.items():
        setattr(ds, keyword, value)
    del ds.AcquisitionDate  # the enhanced object dates its acquisition in AcquisitionDateTime
    ds.InstanceNumber = 1
    ds.ContentTime = _time(START_S)
    ds.AcquisitionDateTime = f"20260315{_time(START_S)}"
    ds.AcquisitionDuration = float(n_slices * BREATH_HOLD_S)
    ds.ContentQualification = "RESEARCH"
    ds.ResonantNucleus = SEQUENCE["ImagedNucleus"]
    ds.KSpaceFiltering = "NONE"
    ds.MagneticFieldStrength = SEQUENCE["MagneticFieldStrength"]
    ds.ApplicableSafetyStandardAgency = "IEC"
    ds.ImageComments = "synthetic phantom, not for clinical use"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PulseSequenceName = "bSSFP"
    ds.MRAcquisitionType = "2D"
    ds.EchoPulseSequence = "GRADIENT"
    ds.MultiPlanarExcitation = "NO"
    ds.PhaseContrast = "NO"
    ds.TimeOfFlightContrast = "NO"
    ds.SteadyStatePulseSequence = "FREE_PRECESSION"
    ds.EchoPlanarPulseSequence = "NO"
    ds.SaturationRecovery = "NO"
    ds.SpectrallySelectedSuppression = "NONE"
    ds.OversamplingPhase = "NONE"
    ds.GeometryOfKSpaceTraversal = "RECTILINEAR"
    ds.SegmentedKSpaceTraversal = "PARTIAL"
    ds.RectilinearPhaseEncodeReordering = "LINEAR"
    ds.NumberOfKSpaceTrajectories = 1
    ds.ManufacturerModelName = "Synthetic cine"
    ds.DeviceSerialNumber = "0"
    ds.SoftwareVersions = "workstation demo"
    ds.AcquisitionContextSequence = Sequence([])
    ds.CardiacSynchronizationTechnique = "RETROSPECTIVE"
    ds.CardiacSignalSource = "ECG"
    ds.CardiacRRIntervalSpecified = float(case.rr_ms)
    ds.CardiacBeatRejectionTechnique = "NONE"
    ds.LowRRValue, ds.HighRRValue = int(case.rr_ms * 0.9), int(case.rr_ms * 1.1)
    ds.IntervalsAcquired, ds.IntervalsRejected = n_slices, 0
    ds.CardiacFramingType = "FORW"
    ds.RespiratoryMotionCompensationTechnique = "BREATH_HOLD"
    ds.RespiratorySignalSource = "NONE"
    ds.ApplicableSafetyStandardDescription = "IEC 60601-2-33"
    organisation = generate_uid()
    ds.DimensionOrganizationSequence = Sequence([_item(DimensionOrganizationUID=organisation)])
    ds.DimensionIndexSequence = Sequence([
        _item(DimensionOrganizationUID=organisation, DimensionIndexPointer=0x00209057,
              FunctionalGroupPointer=0x00209111, DimensionDescriptionLabel="In-stack position"),
        _item(DimensionOrganizationUID=organisation, DimensionIndexPointer=0x00209128,
              FunctionalGroupPointer=0x00209111, DimensionDescriptionLabel="Temporal position"),
    ])
    positions = _positions(case)
    ds.SharedFunctionalGroupsSequence = Sequence([_shared_groups(case)])
    ds.PerFrameFunctionalGroupsSequence = Sequence(
        [_frame_groups(case, k, t, positions[k]) for k in range(n_slices) for t in range(n_phases)])
    ds.NumberOfFrames = n_slices * n_phases
    _pixel_module(ds, rows, cols)
    del ds.WindowCenter, ds.WindowWidth  # per frame (Frame VOI LUT) in an enhanced object
    ds.PixelData = np.ascontiguousarray(_stored(case).transpose(1, 0, 2, 3)).tobytes()
    path = folder / "CINE_ENHANCED.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def write_demo_cine(folder: str | Path) -> CineCase:
    """The demo cine (seed :data:`DEMO_SEED`, 12 slices x 25 phases, 256 x 256) as single-frame MR."""
    case = generate_cine(DEMO_SEED, n_slices=12, n_phases=25, rows=256, cols=256, pixel_mm=1.4,
                         thickness_mm=8.0, gap_mm=2.0, heart_rate_bpm=68.0, snr=28.0)
    write_cine(case, folder)
    return case


def ensure_demo_cine(folder: Optional[str | Path] = None) -> Path:
    """Write the demo cine once and return its folder (see :mod:`.cache`)."""
    from workstation.demo.cache import ensure_written

    return ensure_written("cardiac-cine", write_demo_cine, folder)
