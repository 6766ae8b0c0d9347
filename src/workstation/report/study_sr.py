"""A study report as a DICOM Comprehensive SR in the shape of a basic diagnostic imaging report.

Content tree (TID 2000, highdicom content items)::

    CONTAINER (18748-4, LN, "Diagnostic Imaging Report")
      HAS CONCEPT MOD  language (TID 1204)
      HAS OBS CONTEXT  the reader as person observer (TID 1002)
      CONTAINS CONTAINER (55752-0, LN, "Clinical Information")   > TEXT (121060, DCM, "History")
      CONTAINS CONTAINER (121064, DCM, "Current Procedure Descriptions") > TEXT "Procedure Description"
      CONTAINS CONTAINER (18834-2, LN, "Previous Findings")       > TEXT (121069, DCM, "Previous Finding")
      CONTAINS CONTAINER (121070, DCM, "Findings")                > TEXT "Finding",
               per analysis one TID 1501 measurement group (NUM items) and TEXT items
      CONTAINS CONTAINER (121072, DCM, "Impressions")             > TEXT "Impression"
      CONTAINS CONTAINER (121180, DCM, "Key Images")              > IMAGE "Best illustration of finding"
      CONTAINS CONTAINER (121078, DCM, "Addendum")                > TEXT per addendum

Values without a standard concept use local codes of the scheme ``99WSRPT``.  The
state maps to the SR flags: draft PARTIAL/UNVERIFIED, preliminary COMPLETE/UNVERIFIED,
final COMPLETE/VERIFIED with the signer as verifying observer.  UIDs derive from the
study UID and version, so an addendum's SR names the SR of the version it follows as
its predecessor without having to keep that file.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from workstation.report.document import StudyReport
from workstation.report.findings import Code, Item
from workstation.report.sr import MANUFACTURER

SCHEME = "99WSRPT"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
#: section key -> (container concept, text concept)
SECTION_CODES: dict[str, tuple[Code, Code]] = {
    "clinical_information": (Code("55752-0", "LN", "Clinical Information"), Code("121060", "DCM", "History")),
    "technique": (Code("121064", "DCM", "Current Procedure Descriptions"),
                  Code("121065", "DCM", "Procedure Description")),
    "comparison": (Code("18834-2", "LN", "Previous Findings"), Code("121069", "DCM", "Previous Finding")),
    "findings": (Code("121070", "DCM", "Findings"), Code("121071", "DCM", "Finding")),
    "impression": (Code("121072", "DCM", "Impressions"), Code("121073", "DCM", "Impression")),
}
_UNITS = {"mm3": "cubic millimeter", "mL": "milliliter", "mg": "milligram", "%": "percent", "1": "no units",
          "[hnsf'U]": "Hounsfield unit", "mm": "millimeter", "s": "second", "Gy": "gray"}


def uid_for(study_uid: str, *parts: str) -> str:
    """A UID derived from the study UID and ``parts`` (the same inputs always give the same UID)."""
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=[study_uid, *parts]))


def series_uid(study_uid: str) -> str:
    """The series holding every report SR (and KOS) of a study."""
    return uid_for(study_uid, "workstation-report-series")


def sr_uid(study_uid: str, version: int) -> str:
    """The SR of a saved version (always the same UID); a fresh UID for an unsaved report (version 0)."""
    if version <= 0:
        from pydicom.uid import generate_uid

        return str(generate_uid())
    return uid_for(study_uid, "workstation-report-sr", str(version))


def coded(code: Code) -> Any:
    from highdicom.sr import CodedConcept

    return CodedConcept(code.value, code.scheme, code.meaning[:64])


def local_code(analysis: str, item: Item) -> Code:
    """The local concept of an item without a standard one (value: analysis and JSON key)."""
    value = re.sub(r"[^A-Za-z0-9_.-]", "", f"{analysis}.{item.key or item.label}")[:16]
    return Code(value.upper(), SCHEME, item.label[:64])


def unit_code(item: Item) -> Code:
    ucum = item.ucum or {"ml": "mL", "HU": "[hnsf'U]", "": "1"}.get(item.unit, item.unit)
    return Code(ucum, "UCUM", _UNITS.get(ucum, ucum))


def _text(name: Code, value: str) -> Any:
    from highdicom.sr import RelationshipTypeValues, TextContentItem

    return TextContentItem(name=coded(name), value=value[:1024] if value else "-",
                           relationship_type=RelationshipTypeValues.CONTAINS)


def _container(code: Code, children: Sequence[Any]) -> Any:
    from highdicom.sr import ContainerContentItem, ContentSequence, RelationshipTypeValues

    item = ContainerContentItem(name=coded(code), relationship_type=RelationshipTypeValues.CONTAINS)
    item.ContentSequence = ContentSequence(list(children))
    return item


def _paragraphs(text: str) -> list[str]:
    """Text in pieces of at most 1024 characters (the TEXT value limit), split at lines."""
    pieces: list[str] = []
    for line in (p.strip() for p in text.split("\n")):
        while line:
            pieces.append(line[:1024])
            line = line[1024:]
    return pieces or ["-"]


def _measurement_groups(study_uid: str, version: int, analysis: str, title: str, items: Sequence[Item]) -> list[Any]:
    """One TID 1501 group per item group (NUM items), then the text items."""
    import highdicom as hd
    from highdicom.sr import Measurement, MeasurementsAndQualitativeEvaluations, TrackingIdentifier

    out: list[Any] = []
    groups = list(dict.fromkeys(i.group for i in items if i.is_number))
    for group in groups:
        numbers = [Measurement(name=coded(i.code or local_code(analysis, i)), value=float(i.value),  # type: ignore[arg-type]
                               unit=coded(unit_code(i))) for i in items if i.is_number and i.group == group]
        tracking = TrackingIdentifier(uid=hd.UID(uid_for(study_uid, "tracking", analysis, group, str(version))),
                                      identifier=f"{title} {group}".strip()[:64])
        out += list(MeasurementsAndQualitativeEvaluations(tracking_identifier=tracking, measurements=numbers))
    out += [_text(i.code or local_code(analysis, i), i.text) for i in items
            if not i.is_number and isinstance(i.value, str)]  # a missing value is left out, not written "n/a"
    return out


def person_name(text: str) -> str:
    """A reader's name as a DICOM person name: ``Family^Given`` from ``Given Family`` (``^`` kept as typed)."""
    text = " ".join(text.split())[:64]
    if "^" in text or not text:
        return text or "unknown^"
    given, _, family = text.rpartition(" ")
    return f"{family}^{given}" if given else f"{family}^"


def content(report: StudyReport, reader: str, key_image_refs: Sequence[tuple[str, str, Optional[int]]] = ()) -> Any:
    """The root container of the report's content tree.

    ``key_image_refs``: (SOP Class UID, SOP Instance UID, frame) of the key images that
    are DICOM instances.
    """
    from highdicom.sr import (
        CodedConcept, ContainerContentItem, ContentSequence, ImageContentItem, LanguageOfContentItemAndDescendants,
        ObservationContext, ObserverContext, PersonObserverIdentifyingAttributes, RelationshipTypeValues,
    )
    from pydicom.sr.codedict import codes

    root = ContainerContentItem(name=CodedConcept("18748-4", "LN", "Diagnostic Imaging Report"), template_id="2000")
    children: list[Any] = list(LanguageOfContentItemAndDescendants(
        CodedConcept("en-US", "RFC5646", "English (United States)")))
    observer = ObserverContext(observer_type=codes.DCM.Person,
                               observer_identifying_attributes=PersonObserverIdentifyingAttributes(name=person_name(reader)))
    children += list(ObservationContext(observer_person_context=observer))
    for s in report.sections:
        container_code, text_code = SECTION_CODES[s.key]
        items = [_text(text_code, p) for p in _paragraphs(s.text)]
        for ins in s.insertions:
            items += _measurement_groups(report.study_uid, report.version, ins.analysis, ins.title, ins.items)
            if ins.notice:
                items.append(_text(text_code, ins.notice))
        children.append(_container(container_code, items))
    if key_image_refs:
        images = [ImageContentItem(name=CodedConcept("121080", "DCM", "Best illustration of finding"),
                                   referenced_sop_class_uid=cls, referenced_sop_instance_uid=uid,
                                   referenced_frame_numbers=frame, relationship_type=RelationshipTypeValues.CONTAINS)
                  for cls, uid, frame in key_image_refs]
        children.append(_container(Code("121180", "DCM", "Key Images"), images))
    if report.addenda:
        children.append(_container(Code("121078", "DCM", "Addendum"),
                                   [_text(Code("121071", "DCM", "Finding"), f"{a.when} {a.who}: {a.text}")
                                    for a in report.addenda]))
    root.ContentSequence = ContentSequence(children)
    return root


def build_sr(report: StudyReport, evidence: Sequence[Any], reader: str, institution: str = "",
             key_image_refs: Sequence[tuple[str, str, Optional[int]]] = ()) -> Any:
    """The Comprehensive SR dataset of ``report`` (patient and study copied from ``evidence[0]``)."""
    from pydicom.dataset import Dataset
    from highdicom.sr import ComprehensiveSR

    if not evidence:
        raise ValueError("a report SR needs at least one image of the study (patient and study identity)")
    final = report.is_final
    previous = []
    if report.addenda and report.version > 1:  # the version before this addendum
        prior = Dataset()
        prior.StudyInstanceUID, prior.SeriesInstanceUID = report.study_uid, series_uid(report.study_uid)
        prior.SOPInstanceUID, prior.SOPClassUID = sr_uid(report.study_uid, report.version - 1), COMPREHENSIVE_SR
        previous.append(prior)
    signed = report.signed
    ds = ComprehensiveSR(
        evidence=list(evidence), content=content(report, reader, key_image_refs),
        series_instance_uid=series_uid(report.study_uid), series_number=900,
        sop_instance_uid=sr_uid(report.study_uid, report.version), instance_number=max(report.version, 1),
        manufacturer=MANUFACTURER, is_complete=report.state != "draft", is_final=final, is_verified=final,
        institution_name=institution or None,
        verifying_observer_name=(person_name(signed.who) if signed else None),
        verifying_organization=((institution or "unknown")[:64] if final else None),
        previous_versions=previous or None)
    ds.SeriesDescription = "Study report"
    if signed is not None:
        ds.VerifyingObserverSequence[0].VerificationDateTime = signed.when.replace("-", "").replace(":", "") \
            .replace("T", "").rstrip("Z")
    return ds
