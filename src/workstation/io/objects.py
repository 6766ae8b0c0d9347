"""Read the header of a non-image DICOM object into its record, and attach records to studies.

:func:`read_object` classifies by SOP class: RT objects go to :mod:`workstation.io.rt`;
SR documents, SEG objects and anything else get their records here.  Every fault of the
file becomes a :class:`~workstation.io.errors.DicomReadError` naming it, so one bad
object never costs the scan.  :func:`attach_objects` adds the records to the studies a
scan found (making a study for objects whose images are elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydicom.dataset import Dataset
from pydicom.uid import UID

from workstation.core.objects import GenericObject, ObjectRef, Segmentation, SegmentInfo, StructuredReport
from workstation.core.study import NonImageObject, Patient, Study
from workstation.io.dicom_values import age_years, as_int, da_date, first_text, value
from workstation.io.errors import DicomReadError

RT_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.481.3": "structure set",
    "1.2.840.10008.5.1.4.1.1.481.5": "plan",
    "1.2.840.10008.5.1.4.1.1.481.8": "plan",  # RT Ion Plan
    "1.2.840.10008.5.1.4.1.1.481.2": "dose",
}
SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


@dataclass(frozen=True)
class FoundObject:
    """A record and the study it names (patient and study facts from its header, no series)."""

    record: NonImageObject
    study: Study


def items(ds: Any, keyword: str) -> list[Dataset]:
    """The items of a sequence attribute (empty when absent or not a sequence)."""
    seq = value(ds, keyword)
    return list(seq) if isinstance(seq, Iterable) and not isinstance(seq, (str, bytes)) else []


def uids_in(ds: Any, path: tuple[str, ...], keyword: str) -> list[str]:
    """Every ``keyword`` value found by following the sequence keywords in ``path``."""
    level = [ds]
    for seq in path:
        level = [item for node in level for item in items(node, seq)]
    return [u for u in (first_text(value(node, keyword)) for node in level) if u]


def object_ref(path: Path, ds: Dataset, *, frame_of_reference: str = "", referenced_series: Iterable[str] = (),
               referenced_instances: Iterable[str] = ()) -> ObjectRef:
    """The identity of the object in ``ds``; raises when it lacks its SOP or study UIDs."""
    sop_class = first_text(value(ds, "SOPClassUID"))
    sop_uid = first_text(value(ds, "SOPInstanceUID"))
    study_uid = first_text(value(ds, "StudyInstanceUID"))
    if not sop_class or not sop_uid or not study_uid:
        raise DicomReadError(path, "non-image object without SOP Class, SOP Instance or Study Instance UID")
    name = UID(sop_class).name
    return ObjectRef(
        path=path,
        modality=first_text(value(ds, "Modality")),
        sop_class_uid=sop_class,
        sop_instance_uid=sop_uid,
        study_uid=study_uid,
        series_uid=first_text(value(ds, "SeriesInstanceUID")),
        sop_class_name="" if name == sop_class else name,
        series_number=as_int(value(ds, "SeriesNumber")),
        series_description=first_text(value(ds, "SeriesDescription")),
        content_date=da_date(value(ds, "ContentDate")) or da_date(value(ds, "SeriesDate")),
        frame_of_reference_uid=frame_of_reference or first_text(value(ds, "FrameOfReferenceUID")),
        referenced_series_uids=tuple(dict.fromkeys(referenced_series)),
        referenced_instance_uids=tuple(dict.fromkeys(referenced_instances)),
    )


def _code_meaning(ds: Any, keyword: str) -> str:
    found = items(ds, keyword)
    return first_text(value(found[0], "CodeMeaning")) if found else ""


def _sr(path: Path, ds: Dataset) -> StructuredReport:
    evidence = ("CurrentRequestedProcedureEvidenceSequence", "ReferencedSeriesSequence")
    other = ("PertinentOtherEvidenceSequence", "ReferencedSeriesSequence")
    series = uids_in(ds, evidence, "SeriesInstanceUID") + uids_in(ds, other, "SeriesInstanceUID")
    instances = (uids_in(ds, (*evidence, "ReferencedSOPSequence"), "ReferencedSOPInstanceUID")
                 + uids_in(ds, (*other, "ReferencedSOPSequence"), "ReferencedSOPInstanceUID"))
    templates = items(ds, "ContentTemplateSequence")
    return StructuredReport(
        ref=object_ref(path, ds, referenced_series=series, referenced_instances=instances),
        title=_code_meaning(ds, "ConceptNameCodeSequence"),
        template_id=first_text(value(templates[0], "TemplateIdentifier")) if templates else "",
        completion_flag=first_text(value(ds, "CompletionFlag")),
        verification_flag=first_text(value(ds, "VerificationFlag")),
    )


def _seg(path: Path, ds: Dataset) -> Segmentation:
    series = uids_in(ds, ("ReferencedSeriesSequence",), "SeriesInstanceUID")
    instances = uids_in(ds, ("ReferencedSeriesSequence", "ReferencedInstanceSequence"), "ReferencedSOPInstanceUID")
    segments = []
    for item in items(ds, "SegmentSequence"):
        algorithms = items(item, "SegmentationAlgorithmIdentificationSequence")
        segments.append(SegmentInfo(
            number=as_int(value(item, "SegmentNumber")) or 0,
            label=first_text(value(item, "SegmentLabel")),
            category=_code_meaning(item, "SegmentedPropertyCategoryCodeSequence"),
            property_type=_code_meaning(item, "SegmentedPropertyTypeCodeSequence"),
            algorithm_type=first_text(value(item, "SegmentAlgorithmType")),
            algorithm_name=first_text(value(item, "SegmentAlgorithmName"))
            or (first_text(value(algorithms[0], "AlgorithmName")) if algorithms else ""),
        ))
    return Segmentation(
        ref=object_ref(path, ds, referenced_series=series, referenced_instances=instances),
        segmentation_type=first_text(value(ds, "SegmentationType")),
        segments=tuple(segments),
        rows=as_int(value(ds, "Rows")) or 0,
        columns=as_int(value(ds, "Columns")) or 0,
        frames=as_int(value(ds, "NumberOfFrames")) or 0,
    )


def _generic(path: Path, ds: Dataset) -> GenericObject:
    series = uids_in(ds, ("ReferencedSeriesSequence",), "SeriesInstanceUID")
    instances = uids_in(ds, ("ReferencedSeriesSequence", "ReferencedImageSequence"), "ReferencedSOPInstanceUID")
    return GenericObject(object_ref(path, ds, referenced_series=series, referenced_instances=instances))


def record_of(path: Path, ds: Dataset) -> NonImageObject:
    """The record of the object in ``ds`` (read from ``path``)."""
    sop_class = first_text(value(ds, "SOPClassUID"))
    if sop_class in RT_CLASSES:
        from workstation.io import rt

        return rt.record_of(path, ds)
    if sop_class == SEG_CLASS:
        return _seg(path, ds)
    if first_text(value(ds, "Modality")) == "SR" or "SR Storage" in UID(sop_class).name:
        return _sr(path, ds)
    return _generic(path, ds)


def read_object(path: str | Path) -> FoundObject:
    """Read one non-image object's header (bulk data stays on disk).

    Raises
    ------
    DicomReadError
        When the file is not DICOM or its header cannot be interpreted.
    """
    from workstation.io.dicom_header import open_dataset

    path = Path(path)
    ds = open_dataset(path)
    try:
        record = record_of(path, ds)
        birth = da_date(value(ds, "PatientBirthDate"))
        study_date = da_date(value(ds, "StudyDate"))
        study = Study(
            uid=record.ref.study_uid,
            patient_id=first_text(value(ds, "PatientID")),
            patient_name=first_text(value(ds, "PatientName")),
            patient_birth_date=birth,
            patient_sex=first_text(value(ds, "PatientSex")).upper(),
            patient_age_years=age_years(value(ds, "PatientAge"), birth, study_date),
            study_date=study_date,
            description=first_text(value(ds, "StudyDescription")),
            accession_number=first_text(value(ds, "AccessionNumber")),
        )
        return FoundObject(record, study)
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed sequence or value is a fault of the file
        raise DicomReadError(path, f"unreadable {UID(first_text(value(ds, 'SOPClassUID'))).name or 'object'} "
                                   f"header ({type(exc).__name__})") from None


def attach_objects(found: Iterable[FoundObject], studies: list[Study], patients: list[Patient]) -> None:
    """File each record under its study, making a study (and patient) when none holds images.

    An object whose SOP Instance UID is already filed is kept once.
    """
    by_uid = {s.uid: s for s in studies}
    by_patient = {p.patient_id: p for p in patients}
    for f in found:
        ref = f.record.ref
        study = by_uid.get(ref.study_uid)
        if study is None:
            study = by_uid[ref.study_uid] = f.study
            studies.append(study)
            patient = by_patient.get(study.patient_id)
            if patient is None:
                patient = by_patient[study.patient_id] = Patient(patient_id=study.patient_id, name=study.patient_name)
                patients.append(patient)
            patient.studies.append(study)
        if all(o.ref.sop_instance_uid != ref.sop_instance_uid for o in study.objects):
            study.objects.append(f.record)
