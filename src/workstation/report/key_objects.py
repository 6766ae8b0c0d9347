"""The key images of a report as a DICOM Key Object Selection document (highdicom).

Title (113000, DCM, "Of Interest"), the reader as person observer, the captions as the
key object description, and a reference to each key image that is a DICOM instance
(a reformatted plane has none: it is shown in the PDF only).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from workstation.report.document import StudyReport
from workstation.report.sr import MANUFACTURER
from workstation.report.study_sr import person_name, uid_for


def kos_uid(study_uid: str, version: int) -> str:
    """As :func:`~workstation.report.study_sr.sr_uid`, for the KOS."""
    if version <= 0:
        from pydicom.uid import generate_uid

        return str(generate_uid())
    return uid_for(study_uid, "workstation-report-kos", str(version))


def build_kos(report: StudyReport, sources: Mapping[str, Any], reader: str, institution: str = "") -> Optional[Any]:
    """The KOS dataset of ``report``'s key images, or ``None`` when none is a DICOM instance.

    ``sources`` maps SOP Instance UIDs to their headers (pydicom datasets, no pixels).
    """
    from highdicom.ko import KeyObjectSelection, KeyObjectSelectionDocument
    from highdicom.sr import ObserverContext, PersonObserverIdentifyingAttributes
    from pydicom.sr.codedict import codes

    referenced = []
    seen = set()
    for record in report.key_images:
        ds = sources.get(record.sop_instance_uid)
        if ds is not None and record.sop_instance_uid not in seen:
            seen.add(record.sop_instance_uid)
            referenced.append(ds)
    if not referenced:
        return None
    captions = "; ".join(f"{n}. {k.caption}" for n, k in enumerate(report.key_images, start=1) if k.caption)
    observer = ObserverContext(observer_type=codes.DCM.Person,
                               observer_identifying_attributes=PersonObserverIdentifyingAttributes(name=person_name(reader)))
    selection = KeyObjectSelection(document_title=codes.DCM.OfInterest, referenced_objects=referenced,
                                   observer_person_context=observer, description=captions[:1024] or None)
    doc = KeyObjectSelectionDocument(
        evidence=referenced, content=selection, series_instance_uid=kos_series_uid(report),
        series_number=901, sop_instance_uid=kos_uid(report.study_uid, report.version),
        instance_number=max(report.version, 1), manufacturer=MANUFACTURER, institution_name=institution or None)
    doc.SeriesDescription = "Key images"
    return doc


def kos_series_uid(report: StudyReport) -> str:
    """KO documents have a modality of their own (KO), so their own series."""
    return uid_for(report.study_uid, "workstation-report-kos-series")
