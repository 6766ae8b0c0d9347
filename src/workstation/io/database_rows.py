"""The SQLite schema of the study database and the conversions between its rows and objects.

A frame row holds everything :class:`~workstation.core.study.FrameRef` holds plus the
decoder's per-plane facts (:class:`~workstation.io.dicom_layout.FrameExtra`, as JSON),
so a study rebuilt from the index loads exactly as a scanned one, without reading a
header again.  An extra that no longer fits the current classes is dropped; the loader
then reads that file's header itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from workstation.core.study import FrameRef
from workstation.io.dicom_layout import FrameExtra, PixelLayout

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    name_key TEXT NOT NULL DEFAULT '',
    birth_date TEXT,
    sex TEXT NOT NULL DEFAULT '',
    age_years REAL,
    study_date TEXT,
    description TEXT NOT NULL DEFAULT '',
    accession TEXT NOT NULL DEFAULT '',
    indexed_at REAL NOT NULL,
    last_opened REAL
);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL REFERENCES studies(study_uid) ON DELETE CASCADE,
    modality TEXT NOT NULL DEFAULT '',
    number INTEGER,
    description TEXT NOT NULL DEFAULT '',
    body_part TEXT NOT NULL DEFAULT '',
    is_image INTEGER NOT NULL DEFAULT 1,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY,
    series_uid TEXT NOT NULL REFERENCES series(series_uid) ON DELETE CASCADE,
    study_uid TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    in_cache INTEGER NOT NULL DEFAULT 0,
    sop_class TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS frames (
    sop_uid TEXT NOT NULL REFERENCES instances(sop_uid) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    series_uid TEXT NOT NULL,
    ref TEXT NOT NULL,
    extra TEXT,
    PRIMARY KEY (sop_uid, frame)
);
CREATE INDEX IF NOT EXISTS series_by_study ON series(study_uid);
CREATE INDEX IF NOT EXISTS instances_by_series ON instances(series_uid);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances(study_uid);
CREATE INDEX IF NOT EXISTS instances_by_path ON instances(path);
CREATE INDEX IF NOT EXISTS frames_by_series ON frames(series_uid);
CREATE INDEX IF NOT EXISTS studies_by_date ON studies(study_date);
"""

_REF_FIELDS = [f.name for f in fields(FrameRef) if f.name != "path"]


def name_key(name: str) -> str:
    """A person name folded for search: ``Doe^John`` -> ``doe john``."""
    return " ".join(name.replace("^", " ").split()).casefold()


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def from_iso(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def ref_to_json(ref: FrameRef) -> str:
    """Every field of a frame but its path (the instance row holds that)."""
    return json.dumps({name: getattr(ref, name) for name in _REF_FIELDS})


def ref_from_json(text: str, path: Path) -> FrameRef:
    data = json.loads(text)
    for key in ("position", "orientation", "pixel_spacing"):
        if data.get(key) is not None:
            data[key] = tuple(float(v) for v in data[key])
    known = {k: v for k, v in data.items() if k in _REF_FIELDS}
    return FrameRef(path=path, **known)


def extra_to_json(extra: FrameExtra) -> str:
    return json.dumps(asdict(extra))


def extra_from_json(text: str | None) -> FrameExtra | None:
    """The decode facts of a plane, or ``None`` when they cannot be rebuilt."""
    if not text:
        return None
    try:
        data = json.loads(text)
        layout = PixelLayout(**data.pop("layout"))
        window = data.get("window")
        data["window"] = tuple(window) if window is not None else None
        return FrameExtra(layout=layout, **data)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def meta_to_json(meta: dict[str, Any]) -> str:
    """Series metadata without private keys (per-frame tables live in the frames table)."""
    return json.dumps({k: v for k, v in meta.items() if not k.startswith("_")}, default=str)


@dataclass(frozen=True)
class SeriesRecord:
    """One indexed series: identity, what it is, how many instances and frames."""

    series_uid: str
    modality: str = ""
    number: int | None = None
    description: str = ""
    body_part: str = ""
    is_image: bool = True
    n_instances: int = 0


@dataclass(frozen=True)
class StudyRecord:
    """One indexed study, with its series and the bytes of it held in the cache."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    birth_date: date | None = None
    sex: str = ""
    study_date: date | None = None
    description: str = ""
    accession: str = ""
    series: tuple[SeriesRecord, ...] = ()
    cached_bytes: int = 0
    last_opened: float | None = None

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.modality for s in self.series if s.modality))

    @property
    def n_instances(self) -> int:
        return sum(s.n_instances for s in self.series)
