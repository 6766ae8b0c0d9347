"""The study report: one per study, five sections, analysis findings, key images, sign-off.

A :class:`StudyReport` is immutable: every change returns a new report, so each saved
state is a version (:mod:`.store` keeps them all).  Its life::

    draft --(preliminary)--> preliminary --(sign)--> final --(addendum)--> final + addenda

Draft and preliminary reports may be edited; a final report refuses every edit
(:class:`FinalReportError`) and only takes addenda, each signed by who wrote it.
Sections hold free text and :class:`Insertion` s: the items and sentence one analysis
contributed, with the digest of the result they came from, so a newer result of the
same analysis can offer to replace them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from workstation.core.key_images import KeyImageRecord
from workstation.report.findings import Findings, Item

SECTIONS: dict[str, str] = {
    "clinical_information": "Clinical information",
    "technique": "Technique",
    "comparison": "Comparison",
    "findings": "Findings",
    "impression": "Impression",
}
STATES = ("draft", "preliminary", "final")


class FinalReportError(ValueError):
    """A final report was to be changed in place (only an addendum may follow it)."""


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def result_digest(result_json: Mapping[str, Any]) -> str:
    """SHA-256 of a result's canonical JSON: which result an insertion came from."""
    text = json.dumps(result_json, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Insertion:
    """What one analysis result put into a section: items, sentence, notice, and its source."""

    analysis: str
    title: str
    items: tuple[Item, ...]
    sentence: str
    notice: str
    result_sha256: str
    result_created_utc: str = ""
    software: str = ""

    @classmethod
    def of(cls, analysis: str, title: str, findings: Findings, result_json: Mapping[str, Any]) -> "Insertion":
        prov = result_json.get("provenance") or {}
        return cls(analysis, title, tuple(findings.items), findings.sentence, findings.notice,
                   result_digest(result_json), str(prov.get("created_utc", "")), str(prov.get("software", "")))


@dataclass(frozen=True)
class Section:
    """One heading of the report: free text and the analysis insertions under it."""

    key: str
    title: str
    text: str = ""
    insertions: tuple[Insertion, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Event:
    """Who did what to the report and when (``created``, ``preliminary``, ``signed``, ``addendum``)."""

    action: str
    who: str
    when: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class Addendum:
    text: str
    who: str
    when: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class StudyReport:
    """A study's report at one moment; ``version`` is given by the store when saved (0: not saved)."""

    study_uid: str
    template: str
    title: str
    sections: tuple[Section, ...]
    key_images: tuple[KeyImageRecord, ...] = ()
    state: str = "draft"
    events: tuple[Event, ...] = ()
    addenda: tuple[Addendum, ...] = ()
    version: int = 0

    # -- reading ----------------------------------------------------------------------
    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; sections: {', '.join(s.key for s in self.sections)}")

    @property
    def is_final(self) -> bool:
        return self.state == "final"

    @property
    def signed(self) -> Optional[Event]:
        """The sign-off event of a final report (``None`` before)."""
        return next((e for e in self.events if e.action == "signed"), None)

    def insertions(self) -> list[Insertion]:
        return [i for s in self.sections for i in s.insertions]

    def insertion(self, analysis: str) -> Optional[Insertion]:
        return next((i for i in self.insertions() if i.analysis == analysis), None)

    # -- editing (draft and preliminary only) ------------------------------------------
    def _editable(self) -> None:
        if self.is_final:
            raise FinalReportError("a final report is never changed in place: add an addendum")

    def _with_section(self, key: str, **changes: Any) -> "StudyReport":
        self._editable()
        self.section(key)
        return replace(self, sections=tuple(replace(s, **changes) if s.key == key else s for s in self.sections),
                       version=0)

    def with_text(self, key: str, text: str) -> "StudyReport":
        """The report with section ``key``'s text replaced."""
        return self._with_section(key, text=text)

    def with_insertion(self, key: str, insertion: Insertion) -> "StudyReport":
        """Insert an analysis's findings into section ``key``: its items under the section and its
        sentence at the end of the text.  An earlier insertion of the same analysis is replaced
        (:meth:`with_updated`)."""
        if self.insertion(insertion.analysis) is not None:
            return self.with_updated(insertion)
        section = self.section(key)
        text = f"{section.text.rstrip()}\n{insertion.sentence}".strip() if section.text.strip() else insertion.sentence
        return self._with_section(key, text=text, insertions=section.insertions + (insertion,))

    def with_updated(self, insertion: Insertion) -> "StudyReport":
        """Replace the insertion of ``insertion.analysis`` by a newer result's: its items, and its
        sentence where the text still holds the old one word for word (else the new one is added)."""
        self._editable()
        sections = []
        for s in self.sections:
            old = next((i for i in s.insertions if i.analysis == insertion.analysis), None)
            if old is None:
                sections.append(s)
                continue
            text = s.text.replace(old.sentence, insertion.sentence) if old.sentence in s.text \
                else f"{s.text.rstrip()}\n{insertion.sentence}".strip()
            kept = tuple(insertion if i.analysis == insertion.analysis else i for i in s.insertions)
            sections.append(replace(s, text=text, insertions=kept))
        return replace(self, sections=tuple(sections), version=0)

    def outdated(self, analysis: str, result_json: Mapping[str, Any]) -> bool:
        """True when the report holds an insertion of ``analysis`` from another result."""
        old = self.insertion(analysis)
        return old is not None and old.result_sha256 != result_digest(result_json)

    def without_insertion(self, analysis: str) -> "StudyReport":
        """The report without the items of ``analysis`` (the text is left as the reader wrote it)."""
        self._editable()
        return replace(self, version=0, sections=tuple(
            replace(s, insertions=tuple(i for i in s.insertions if i.analysis != analysis)) for s in self.sections))

    def with_key_images(self, records: tuple[KeyImageRecord, ...]) -> "StudyReport":
        self._editable()
        return replace(self, key_images=tuple(records), version=0)

    # -- states -----------------------------------------------------------------------
    def preliminary(self, who: str) -> "StudyReport":
        """Mark the draft preliminary (a read others may see, not yet signed)."""
        self._editable()
        return replace(self, state="preliminary", events=self.events + (Event("preliminary", who),), version=0)

    def sign(self, who: str) -> "StudyReport":
        """Sign: the report becomes final and is never edited again."""
        self._editable()
        return replace(self, state="final", events=self.events + (Event("signed", who),), version=0)

    def with_addendum(self, text: str, who: str) -> "StudyReport":
        """A final report with one more addendum (the signed text is untouched)."""
        if not self.is_final:
            raise ValueError("an addendum follows a signed report; edit the draft instead")
        if not text.strip():
            raise ValueError("an addendum needs text")
        note = Addendum(text.strip(), who)
        return replace(self, addenda=self.addenda + (note,), events=self.events + (Event("addendum", who, note.when),),
                       version=0)
