"""De-identify DICOM objects with the PS3.15 Basic Application Level Confidentiality Profile.

The attribute list and its actions (D, Z, X, U and the combinations) are the
standard's Table E.1-1 as packaged by ``dicom-anonymizer`` (KitwareMedical; release
2026c of the table), applied by its engine; we supply the actions the profile leaves
to the implementation, so that one :class:`Deidentifier` keeps an export consistent:

* **UIDs** (``U``): each original UID gets one new random UID (``2.25.``) for the whole
  export, so study, series, frame of reference and referenced instances still match;
  DICOM-defined UIDs (``1.2.840.10008.*``) are kept.  ``ReferencedImageSequence`` and
  ``SourceImageSequence`` (``X/Z/U*``) are kept with their UIDs mapped; every kept
  sequence item goes through the same rules.
* **Dates** by option: ``shift`` (Retain Longitudinal Temporal Information with
  Modified Dates: every DA/DT moved back by one random whole number of days per
  patient, so intervals hold; times of day are kept, a weaker reading of the option,
  which asks for times to be modified too), ``keep`` (Full Dates option) or
  ``remove`` (the table's actions, with valid dummy dates where it says D); the birth
  date is always emptied.
* **Patient**: name and ID become one pseudonym per original patient (``ANON-0001``);
  private attributes are removed; ``PatientIdentityRemoved`` YES, the method and its
  CID 7050 codes and ``LongitudinalTemporalInformationModified`` are added.

Why this implementation: ``deid`` (pydicom's project) is a recipe engine whose default
recipe is a site's own list, not Table E.1-1 (it removes every attribute whose name
contains ``UID``, breaking the objects); pydicom itself offers the tools
(``remove_private_tags``, ``walk``, ``generate_uid``) but no profile table;
dicognito keeps its own list.  ``dicom-anonymizer`` ships the standard's table by
release and lets each action be replaced, which is what consistency across a study
needs.  Its engine keeps a process-wide UID dictionary; every UID action is ours, so
that dictionary is never used.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

TABLE = "dicomfields_2026c"
DATE_OPTIONS = ("shift", "keep", "remove")
STANDARD_UID_ROOT = "1.2.840.10008."
_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "clean_pixels": ("113101", "Clean Pixel Data Option"),
    "full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "characteristics": ("113108", "Retain Patient Characteristics Option"),
}
#: Kept by the Retain Patient Characteristics option.
CHARACTERISTICS = ((0x0010, 0x0040), (0x0010, 0x1010), (0x0010, 0x1020), (0x0010, 0x1030))
PATIENT_NAME, PATIENT_ID, BIRTH_DATE = (0x0010, 0x0010), (0x0010, 0x0020), (0x0010, 0x0030)
Action = Callable[[Dataset, tuple[int, int]], None]


@dataclass(frozen=True)
class DeidOptions:
    """``dates``: shift, keep or remove; ``keep_characteristics``: keep sex, age, size, weight."""

    dates: str = "shift"
    keep_characteristics: bool = False

    def __post_init__(self) -> None:
        if self.dates not in DATE_OPTIONS:
            raise ValueError(f"dates must be one of {', '.join(DATE_OPTIONS)}, got {self.dates!r}")


def profile_tags() -> dict[str, list[tuple[int, ...]]]:
    """Table E.1-1: action category (``X_TAGS``, ``U_TAGS`` ...) -> tags (4-tuples are masks)."""
    from dicomanonymizer.dicomfields_selector import (
        dicom_anonymization_database_selector,
    )

    table = dicom_anonymization_database_selector(TABLE)
    return {k: list(v) for k, v in table.items() if k != "ALL_TAGS"}


def _vr(tag: tuple[int, ...]) -> str:
    try:
        return str(dictionary_VR((tag[0] << 16) | tag[1]))
    except KeyError:
        return ""


def _shift_da(value: str, days: int) -> str:
    try:
        return (dt.datetime.strptime(value[:8], "%Y%m%d") + dt.timedelta(days=days)).strftime("%Y%m%d")
    except ValueError:
        return ""


def _shift_value(value: str, vr: str, days: int) -> str:
    text = str(value).strip()
    if not text:
        return text
    if vr == "DA":
        return _shift_da(text, days)
    shifted = _shift_da(text, days)  # DT: the date part moves, the time and offset stay
    return shifted + text[8:] if shifted else ""


_DUMMY = {"DA": "19000101", "DT": "19000101000000", "TM": "000000"}


def _empty(ds: Dataset, tag: tuple[int, int]) -> None:
    """Z for dates and times: a zero-length value."""
    element = ds.get(tag)
    if element is not None:
        element.value = ""


def _dummy(ds: Dataset, tag: tuple[int, int]) -> None:
    element = ds.get(tag)
    if element is not None and element.VR in _DUMMY:
        element.value = _DUMMY[element.VR]


def _delete(ds: Dataset, tag: tuple[int, int]) -> None:
    if tag in ds:
        del ds[tag]


class Deidentifier:
    """De-identifies the datasets of one export consistently (UIDs, pseudonyms, date shifts)."""

    def __init__(self, options: DeidOptions = DeidOptions()) -> None:
        self.options = options
        self._lock = threading.Lock()
        self.uids: dict[str, str] = {}
        self.patients: dict[str, str] = {}
        self.day_offsets: dict[str, int] = {}
        self._current_offset = 0
        self._rules = self._build_rules()

    # -- consistent replacements ----------------------------------------------------
    def new_uid(self, uid: str) -> str:
        """The replacement of ``uid`` (the same for every object of this export)."""
        uid = str(uid).strip()
        if not uid or uid.startswith(STANDARD_UID_ROOT):
            return uid
        with self._lock:
            if uid not in self.uids:
                self.uids[uid] = generate_uid(None)
            return self.uids[uid]

    def pseudonym(self, patient_id: str) -> str:
        with self._lock:
            if patient_id not in self.patients:
                self.patients[patient_id] = f"ANON-{len(self.patients) + 1:04d}"
            return self.patients[patient_id]

    def day_offset(self, patient_id: str) -> int:
        """Days every date of this patient moves (back by 1-10 years, whole days)."""
        with self._lock:
            if patient_id not in self.day_offsets:
                self.day_offsets[patient_id] = -(365 + secrets.randbelow(3286))
            return self.day_offsets[patient_id]

    # -- the rules ------------------------------------------------------------------
    def _map_uids(self, ds: Dataset, tag: tuple[int, int]) -> None:
        element = ds.get(tag)
        if element is None or element.VR != "UI" or element.value is None:
            return
        if isinstance(element.value, MultiValue):
            element.value = [self.new_uid(v) for v in element.value]
        elif element.value != "":
            element.value = self.new_uid(element.value)

    def _shift_dates(self, ds: Dataset, tag: tuple[int, int]) -> None:
        element = ds.get(tag)
        if element is None or element.VR not in ("DA", "DT") or element.value in (None, ""):
            return
        days = self._current_offset
        values = element.value if isinstance(element.value, MultiValue) else [element.value]
        shifted = [_shift_value(str(v), element.VR, days) for v in values]
        element.value = shifted if len(shifted) > 1 else shifted[0]

    def _build_rules(self) -> dict[tuple[int, ...], Action]:
        from dicomanonymizer.simpledicomanonymizer import initialize_actions, keep

        rules: dict[tuple[int, ...], Action] = dict(initialize_actions(TABLE))
        tags = profile_tags()
        category = {tag: name for name, listed in tags.items() for tag in listed}
        for tag in list(rules):
            if len(tag) != 2:
                continue
            vr, action = _vr(tag), category.get(tag, "")
            if vr == "UI" and action != "X_TAGS":
                rules[tag] = self._map_uids
            elif vr in ("DA", "DT", "TM"):
                rules[tag] = self._date_rule(vr, action, keep)
        for tag in tags["X_Z_U_STAR_TAGS"]:
            rules[tag] = keep  # items are de-identified by the recursion, their UIDs mapped
        rules[BIRTH_DATE] = _empty
        if self.options.keep_characteristics:
            for tag in CHARACTERISTICS:
                rules[tag] = keep
        return rules

    def _date_rule(self, vr: str, action: str, keep: Action) -> Action:
        """Dates per option; ``remove`` gives valid dummies where the table says D
        (dicom-anonymizer's own dummy, 0001-01-01, is not a valid DICOM date)."""
        if self.options.dates == "keep" or (self.options.dates == "shift" and vr == "TM"):
            return keep
        if self.options.dates == "shift":
            return self._shift_dates
        if action == "X_TAGS":
            return _delete
        return _dummy if action in ("D_TAGS", "Z_D_TAGS", "X_D_TAGS", "X_Z_D_TAGS") else _empty

    def _apply(self, ds: Dataset) -> None:
        from dicomanonymizer.simpledicomanonymizer import anonymize_dataset

        anonymize_dataset(ds, None, True, lambda: self._rules)
        for element in list(ds):
            if element.VR == "SQ" and isinstance(element.value, Sequence):
                for item in element.value:
                    self._apply(item)

    def _methods(self, pixels_cleaned: bool) -> list[str]:
        keys = ["basic"]
        keys += {"shift": ["modified_dates"], "keep": ["full_dates"], "remove": []}[self.options.dates]
        if self.options.keep_characteristics:
            keys.append("characteristics")
        if pixels_cleaned:
            keys.append("clean_pixels")
        return keys

    def deidentify(self, ds: Dataset, *, pixels_cleaned: bool = False) -> Dataset:
        """De-identify ``ds`` in place (pass a copy to keep the source) and return it."""
        patient = str(ds.get("PatientID", "") or "")
        self._current_offset = self.day_offset(patient)
        pseudonym = self.pseudonym(patient)
        self._apply(ds)
        ds.PatientName = pseudonym
        ds.PatientID = pseudonym
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = "PS3.15 Basic Profile (Table E.1-1 2026c)"
        codes = []
        for key in self._methods(pixels_cleaned):
            item = Dataset()
            item.CodeValue, item.CodeMeaning = _CODES[key]
            item.CodingSchemeDesignator = "DCM"
            codes.append(item)
        ds.DeidentificationMethodCodeSequence = Sequence(codes)
        ds.LongitudinalTemporalInformationModified = {"shift": "MODIFIED", "keep": "UNMODIFIED",
                                                      "remove": "REMOVED"}[self.options.dates]
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        return ds

    def mapping(self) -> dict[str, Any]:
        """The re-identification key: original -> new UIDs, patient IDs, date offsets.

        It holds identity: written only when the user asks, and never beside the data.
        """
        with self._lock:
            return {"table": TABLE, "options": {"dates": self.options.dates,
                                                 "keep_characteristics": self.options.keep_characteristics},
                    "uids": dict(self.uids), "patients": dict(self.patients),
                    "day_offsets": dict(self.day_offsets)}


def identifying_values(ds: Dataset) -> dict[str, Any]:
    """Values of ``ds`` under the profile's non-keep actions (top level and nested), by keyword
    path: what a de-identified copy must no longer contain (tests, audits)."""
    from pydicom.datadict import keyword_for_tag

    listed = {t for tags in profile_tags().values() for t in tags if len(t) == 2}
    found: dict[str, Any] = {}

    def visit(d: Dataset, prefix: str) -> None:
        for element in d:
            tag = (element.tag.group, element.tag.element)
            name = prefix + (keyword_for_tag(element.tag) or str(element.tag))
            if element.VR == "SQ":
                for i, item in enumerate(element.value or []):
                    visit(item, f"{name}[{i}].")
            elif tag in listed and element.value not in (None, "", b""):
                found[name] = element.value

    visit(ds, "")
    return found
