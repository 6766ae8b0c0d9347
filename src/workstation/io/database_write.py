"""Turning a scan into database rows, and database rows back into a Study.

The rebuilt :class:`~workstation.core.study.Study` is what :func:`~workstation.io.
dicom_scan.scan` would give for the same files: series with their planes sorted the
same way, geometry issues from the same planner, the decoder's per-plane facts under
the same key, so :func:`~workstation.io.dicom.load_series` takes it as it is.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom

from workstation.core.study import FrameRef, Series, Study
from workstation.io.database_rows import (
    extra_from_json,
    extra_to_json,
    from_iso,
    iso,
    meta_to_json,
    name_key,
    ref_from_json,
    ref_to_json,
)
from workstation.io.dicom_geometry import plan_series
from workstation.io.dicom_layout import frame_key
from workstation.io.dicom_scan import EXTRAS_KEY, ScanResult

log = logging.getLogger(__name__)
OTHER_TAGS = ["SOPInstanceUID", "PatientID", "PatientName", "StudyDate", "StudyDescription", "AccessionNumber",
              "SeriesNumber", "SeriesDescription", "Modality"]


def _text(ds: Any, keyword: str) -> str:
    return str(ds.get(keyword, "") or "").strip()


def _read(path: Path, tags: list[str]) -> Any:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)
    except Exception:  # noqa: BLE001 - the scan already read this file; a second read may still fail
        return pydicom.Dataset()


def _file_facts(path: Path) -> tuple[int, float]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime


@dataclass
class IndexRows:
    """The rows one scan adds or updates."""

    studies: list[tuple[Any, ...]] = field(default_factory=list)
    bare_studies: list[tuple[Any, ...]] = field(default_factory=list)
    series: list[tuple[Any, ...]] = field(default_factory=list)
    instances: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    frames: list[tuple[Any, ...]] = field(default_factory=list)

    def write(self, conn: sqlite3.Connection) -> int:
        conn.executemany(
            "INSERT INTO studies (study_uid, patient_id, patient_name, name_key, birth_date, sex, age_years, "
            "study_date, description, accession, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(study_uid) DO UPDATE SET patient_id = excluded.patient_id, "
            "patient_name = excluded.patient_name, name_key = excluded.name_key, birth_date = excluded.birth_date, "
            "sex = excluded.sex, age_years = excluded.age_years, study_date = excluded.study_date, "
            "description = excluded.description, accession = excluded.accession, indexed_at = excluded.indexed_at",
            self.studies)
        conn.executemany(
            "INSERT OR IGNORE INTO studies (study_uid, patient_id, patient_name, name_key, study_date, description, "
            "accession, indexed_at) VALUES (?,?,?,?,?,?,?,?)", self.bare_studies)
        conn.executemany(
            "INSERT INTO series (series_uid, study_uid, modality, number, description, body_part, is_image, meta) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(series_uid) DO UPDATE SET study_uid = excluded.study_uid, "
            "modality = excluded.modality, number = excluded.number, description = excluded.description, "
            "body_part = excluded.body_part, is_image = excluded.is_image, meta = excluded.meta", self.series)
        rows = list(self.instances.values())
        conn.executemany("DELETE FROM instances WHERE path = ? AND sop_uid != ?", [(r[3], r[0]) for r in rows])
        conn.executemany("DELETE FROM frames WHERE sop_uid = ?", [(r[0],) for r in rows])
        conn.executemany(
            "INSERT INTO instances (sop_uid, series_uid, study_uid, path, size, mtime, in_cache, sop_class) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(sop_uid) DO UPDATE SET series_uid = excluded.series_uid, "
            "study_uid = excluded.study_uid, path = excluded.path, size = excluded.size, mtime = excluded.mtime, "
            "in_cache = excluded.in_cache, sop_class = excluded.sop_class", rows)
        conn.executemany("INSERT OR REPLACE INTO frames (sop_uid, frame, series_uid, ref, extra) VALUES (?,?,?,?,?)",
                         self.frames)
        return len(rows)


def index_rows(result: ScanResult, in_cache: Callable[[Path], bool]) -> IndexRows:
    """The rows recording ``result``; ``in_cache(path)`` says whether a file is the cache's."""
    rows = IndexRows()
    now = time.time()
    for study in result.studies:
        rows.studies.append((study.uid, study.patient_id, study.patient_name, name_key(study.patient_name),
                             iso(study.patient_birth_date), study.patient_sex, study.patient_age_years,
                             iso(study.study_date), study.description, study.accession_number, now))
        for series in study.series:
            _add_series(rows, series, in_cache)
    for other in result.other:
        _add_other(rows, other, in_cache, now)
    return rows


def _add_series(rows: IndexRows, series: Series, in_cache: Callable[[Path], bool]) -> None:
    if not series.frames:
        return
    body_part = _text(_read(series.frames[0].path, ["BodyPartExamined"]), "BodyPartExamined").upper()
    class_uid = str(series.meta.get("sop_class_uid", ""))
    rows.series.append((series.uid, series.study_uid, series.modality, series.number, series.description,
                        body_part, 1, meta_to_json(series.meta)))
    extras = series.meta.get(EXTRAS_KEY, {})
    for ref in series.frames:
        sop = ref.sop_instance_uid or f"path:{ref.path}"
        if sop not in rows.instances:
            try:
                size, mtime = _file_facts(ref.path)
            except OSError:
                continue
            rows.instances[sop] = (sop, series.uid, series.study_uid, str(ref.path), size, mtime,
                                   int(in_cache(ref.path)), class_uid)
        extra = extras.get(frame_key(ref))
        rows.frames.append((sop, -1 if ref.frame is None else ref.frame, series.uid, ref_to_json(ref),
                            extra_to_json(extra) if extra is not None else None))


def _add_other(rows: IndexRows, other: Any, in_cache: Callable[[Path], bool], now: float) -> None:
    if not other.study_uid or not other.series_uid:
        return
    ds = _read(other.path, OTHER_TAGS)
    try:
        size, mtime = _file_facts(other.path)
    except OSError:
        return
    sop = _text(ds, "SOPInstanceUID") or f"path:{other.path}"
    name = _text(ds, "PatientName")
    rows.bare_studies.append((other.study_uid, _text(ds, "PatientID"), name, name_key(name),
                              iso(_dicom_date(_text(ds, "StudyDate"))), _text(ds, "StudyDescription"),
                              _text(ds, "AccessionNumber"), now))
    number = _text(ds, "SeriesNumber")
    rows.series.append((other.series_uid, other.study_uid, other.modality,
                        int(float(number)) if number.replace(".", "", 1).isdigit() else None,
                        _text(ds, "SeriesDescription"), "", 0, "{}"))
    rows.instances[sop] = (sop, other.series_uid, other.study_uid, str(other.path), size, mtime,
                           int(in_cache(other.path)), other.sop_class_uid)


def _dicom_date(text: str) -> Any:
    return from_iso(f"{text[:4]}-{text[4:6]}-{text[6:8]}") if len(text) == 8 and text.isdigit() else None


def study_from_rows(conn: sqlite3.Connection, study_uid: str) -> Study | None:
    """The image study as a scan would have found it, from the index alone."""
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
    if row is None:
        return None
    study = Study(uid=study_uid, patient_id=row["patient_id"], patient_name=row["patient_name"],
                  patient_birth_date=from_iso(row["birth_date"]), patient_sex=row["sex"],
                  patient_age_years=row["age_years"], study_date=from_iso(row["study_date"]),
                  description=row["description"], accession_number=row["accession"])
    for s in conn.execute("SELECT * FROM series WHERE study_uid = ? AND is_image = 1 "
                          "ORDER BY number IS NULL, number, series_uid", (study_uid,)).fetchall():
        series = Series(uid=s["series_uid"], study_uid=study_uid, modality=s["modality"], number=s["number"],
                        description=s["description"], meta=json.loads(s["meta"] or "{}"))
        extras: dict[Any, Any] = {}
        for f in conn.execute("SELECT f.ref, f.extra, i.path FROM frames f JOIN instances i ON i.sop_uid = f.sop_uid "
                              "WHERE f.series_uid = ?", (series.uid,)).fetchall():
            ref: FrameRef = ref_from_json(f["ref"], Path(f["path"]))
            series.frames.append(ref)
            extra = extra_from_json(f["extra"])
            if extra is not None:
                extras[frame_key(ref)] = extra
        if not series.frames:
            continue
        series.meta[EXTRAS_KEY] = extras
        hint = series.meta.get("spacing_between_slices") or series.meta.get("slice_thickness")
        series.issues = list(plan_series(series.frames, slice_spacing_hint=hint).issues)
        series.frames.sort(key=lambda f: (f.instance_number is None, f.instance_number or 0, str(f.path), f.frame or 0))
        study.series.append(series)
    return study
