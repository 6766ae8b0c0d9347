"""The study report's life: edits, sign-off, addenda, every version kept, append-only audit, templates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from workstation.report.audit import AuditLog
from workstation.report.document import FinalReportError, Insertion
from workstation.report.document_json import from_json, to_json
from workstation.report.findings import Findings, Item, lookup
from workstation.report.store import ReportStore
from workstation.report.templates import TemplateError, catalogue, parse

UID = "1.2.3.4"


def _draft():
    return catalogue(Path("/nonexistent")).get("ct-calcium-score").new_report(UID)


def _insertion(score: float) -> Insertion:
    result = {"agatston_total": score, "provenance": {"created_utc": "2026-01-01T00:00:00Z", "software": "ws"}}
    findings = Findings((Item("Agatston score", score, key="agatston_total"),), f"Agatston score {score:.1f}.")
    return Insertion.of("calcium", "Coronary calcium", findings, result)


def test_every_builtin_template_reads_and_covers_the_five_sections() -> None:
    templates = catalogue(Path("/nonexistent")).templates
    assert set(templates) == {"ct-calcium-score", "ct-head-perfusion", "screening-mammogram", "chest-ct",
                              "rt-plan-review"}
    for t in templates.values():
        assert [s.key for s in t.new_report(UID).sections] == ["clinical_information", "technique", "comparison",
                                                               "findings", "impression"]


def test_user_template_replaces_builtin_and_a_bad_one_is_named(tmp_path: Path) -> None:
    good = {"format_version": 1, "name": "chest-ct", "title": "My chest CT", "sections": {"technique": {"text": "t"}}}
    (tmp_path / "mine.json").write_text(json.dumps(good))
    (tmp_path / "broken.json").write_text("{not json")
    found = catalogue(tmp_path)
    assert found.get("chest-ct").title == "My chest CT"
    assert len(found.problems) == 1 and "broken.json" in found.problems[0]
    with pytest.raises(TemplateError, match="unknown sections"):
        parse({"format_version": 1, "name": "x", "title": "x", "sections": {"history": {}}}, "t.json")


def test_insertion_goes_into_text_and_a_newer_result_replaces_it() -> None:
    report = _draft().with_insertion("findings", _insertion(10.0))
    assert "Agatston score 10.0." in report.section("findings").text
    assert report.outdated("calcium", {"agatston_total": 12.0}) is True
    updated = report.with_updated(_insertion(12.0))
    assert "Agatston score 12.0." in updated.section("findings").text
    assert "10.0" not in updated.section("findings").text
    assert updated.insertion("calcium").items[0].value == 12.0


def test_final_refuses_edits_and_an_addendum_keeps_both_versions(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "r.sqlite")
    draft = store.save(_draft().with_text("impression", "Moderate plaque."), "reader")
    final = store.save(draft.sign("Dr A Reader"), "reader")
    assert final.is_final and final.signed.who == "Dr A Reader"
    for edit in (lambda r: r.with_text("impression", "changed"), lambda r: r.with_insertion("findings", _insertion(1)),
                 lambda r: r.preliminary("x"), lambda r: r.sign("x")):
        with pytest.raises(FinalReportError):
            edit(final)
    sneaky = final.__class__(**{**final.__dict__, "sections": draft.with_text("impression", "x").sections})
    with pytest.raises(FinalReportError):
        store.save(sneaky, "reader")
    amended = store.save(final.with_addendum("Also a small nodule.", "Dr A Reader"), "reader")
    assert [v.version for v in store.versions(UID)] == [1, 2, 3]
    assert store.version(UID, 2).addenda == () and store.version(UID, 2).section("impression").text == "Moderate plaque."
    assert store.version(UID, 3).addenda[0].text == "Also a small nodule."
    assert amended.section("impression").text == "Moderate plaque."


def test_versions_cannot_be_changed_or_deleted_in_the_database(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "r.sqlite")
    store.save(_draft(), "reader")
    db = sqlite3.connect(tmp_path / "r.sqlite")
    for sql in ("UPDATE versions SET state = 'final'", "DELETE FROM versions"):
        with pytest.raises(sqlite3.DatabaseError, match="never"):
            db.execute(sql)
    db.close()


def test_report_json_round_trip() -> None:
    report = _draft().with_insertion("findings", _insertion(3.5)).sign("R")
    assert from_json(json.loads(json.dumps(to_json(report)))) == report


def test_audit_log_is_a_chain_without_patient_identity(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for action in ("view", "edit", "sign", "export", "send", "addendum"):
        log.record(action, UID, "version 1", "Dr A Reader")
    assert [e["action"] for e in log.events(UID)] == ["view", "edit", "sign", "export", "send", "addendum"]
    assert set(log.events()[0]) == {"time_utc", "user", "reader", "action", "study_uid", "detail", "previous_sha256"}
    assert log.verify() == []
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace("sign", "view")
    (tmp_path / "audit.jsonl").write_text("\n".join(lines) + "\n")
    assert log.verify() == ["line 4: does not follow line 3"]
    with pytest.raises(ValueError):
        log.record("delete", UID)


def test_lookup_walks_result_json() -> None:
    assert lookup({"a": {"b": [1, {"c": 5}]}}, "a.b.1.c") == 5
