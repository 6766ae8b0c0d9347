"""A study report as JSON and back: how the store keeps every version."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping

from workstation.core.key_images import KeyImageRecord
from workstation.report.document import Addendum, Event, Insertion, Section, StudyReport
from workstation.report.findings import Code, Item

FORMAT_VERSION = 1


def _item(data: Mapping[str, Any]) -> Item:
    code = data.get("code")
    return Item(str(data["label"]), data.get("value"), str(data.get("unit", "")), int(data.get("decimals", 1)),
                str(data.get("key", "")), None if not code else Code(**code), str(data.get("ucum", "")),
                str(data.get("missing", "n/a")), str(data.get("group", "")))


def _insertion(data: Mapping[str, Any]) -> Insertion:
    return Insertion(str(data["analysis"]), str(data["title"]), tuple(_item(i) for i in data.get("items", ())),
                     str(data.get("sentence", "")), str(data.get("notice", "")), str(data.get("result_sha256", "")),
                     str(data.get("result_created_utc", "")), str(data.get("software", "")))


def to_json(report: StudyReport) -> dict[str, Any]:
    """Everything of ``report`` as JSON-ready data (key images as records, no pixels)."""
    return {
        "format_version": FORMAT_VERSION,
        "study_uid": report.study_uid, "template": report.template, "title": report.title,
        "state": report.state, "version": report.version,
        "sections": [{"key": s.key, "title": s.title, "text": s.text, "hint": s.hint,
                      "insertions": [asdict(i) for i in s.insertions]} for s in report.sections],
        "key_images": [k.to_json() for k in report.key_images],
        "events": [asdict(e) for e in report.events],
        "addenda": [asdict(a) for a in report.addenda],
    }


def from_json(data: Mapping[str, Any]) -> StudyReport:
    """The report :func:`to_json` wrote (``ValueError`` names what is wrong)."""
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"report format {data.get('format_version')!r} is not {FORMAT_VERSION}")
    try:
        sections = tuple(Section(str(s["key"]), str(s["title"]), str(s.get("text", "")),
                                 tuple(_insertion(i) for i in s.get("insertions", ())), str(s.get("hint", "")))
                         for s in data["sections"])
        return StudyReport(
            str(data["study_uid"]), str(data["template"]), str(data["title"]), sections,
            tuple(KeyImageRecord.from_json(k) for k in data.get("key_images", ())), str(data.get("state", "draft")),
            tuple(Event(**e) for e in data.get("events", ())), tuple(Addendum(**a) for a in data.get("addenda", ())),
            int(data.get("version", 0)))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a study report: {type(exc).__name__} {exc}") from exc
