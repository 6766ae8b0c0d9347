"""Every version of every study report, kept in the user's data folder (SQLite).

``<data>/workstation/reports/reports.sqlite`` holds one row per saved version, keyed by
StudyInstanceUID and version number, and the rendered pixels of each key image by the
record's key.  Rows are only ever added: triggers refuse ``UPDATE`` and ``DELETE`` of
a version, and :meth:`ReportStore.save` refuses a version that would change a final
report other than by adding addenda.  Nothing identifies the patient but the study UID
(and what the reader typed into the text).
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.paths import data_dir
from workstation.report.document import FinalReportError, StudyReport, utc_now
from workstation.report.document_json import from_json, to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    study_uid TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
    saved_utc TEXT NOT NULL, saved_by TEXT NOT NULL, document TEXT NOT NULL,
    PRIMARY KEY (study_uid, version));
CREATE TABLE IF NOT EXISTS key_images (key TEXT PRIMARY KEY, png BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS versions_kept BEFORE UPDATE ON versions
    BEGIN SELECT RAISE(ABORT, 'report versions are never changed'); END;
CREATE TRIGGER IF NOT EXISTS versions_not_deleted BEFORE DELETE ON versions
    BEGIN SELECT RAISE(ABORT, 'report versions are never deleted'); END;
"""


def default_store_path() -> Path:
    return data_dir() / "reports" / "reports.sqlite"


@dataclass(frozen=True)
class VersionInfo:
    version: int
    state: str
    saved_utc: str
    saved_by: str


def _final_prefix_kept(old: StudyReport, new: StudyReport) -> bool:
    """``new`` is ``old`` with addenda appended, nothing else changed."""
    n = len(old.addenda)
    return (new.state == "final" and new.sections == old.sections and new.key_images == old.key_images
            and new.addenda[:n] == old.addenda and new.events[:len(old.events)] == old.events
            and len(new.addenda) > n)


class ReportStore:
    """The versions of study reports in one SQLite file (created on first use)."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0)
        db.executescript(_SCHEMA)
        return db

    def _rows(self, sql: str, *args: object) -> Iterator[tuple[object, ...]]:
        db = self._connect()
        try:
            yield from db.execute(sql, args).fetchall()
        finally:
            db.close()

    def save(self, report: StudyReport, who: str) -> StudyReport:
        """Store ``report`` as the study's next version and return it with that version number.

        Raises
        ------
        FinalReportError
            When the study's latest version is final and ``report`` changes it other than
            by adding an addendum.
        """
        db = self._connect()
        try:
            with db:
                row = db.execute("SELECT version, document FROM versions WHERE study_uid = ? "
                                 "ORDER BY version DESC LIMIT 1", (report.study_uid,)).fetchone()
                latest = from_json(json.loads(row[1])) if row else None
                if latest is not None and latest.is_final and not _final_prefix_kept(latest, report):
                    raise FinalReportError(
                        f"report version {latest.version} of study {report.study_uid} is final: "
                        "only an addendum may follow it")
                saved = replace(report, version=(int(row[0]) if row else 0) + 1)
                db.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                           (saved.study_uid, saved.version, saved.state, utc_now(), who,
                            json.dumps(to_json(saved), sort_keys=True)))
        finally:
            db.close()
        return saved

    def latest(self, study_uid: str) -> Optional[StudyReport]:
        """The newest version of the study's report, ``None`` when there is none."""
        for (document,) in self._rows("SELECT document FROM versions WHERE study_uid = ? "
                                      "ORDER BY version DESC LIMIT 1", study_uid):
            return from_json(json.loads(str(document)))
        return None

    def version(self, study_uid: str, version: int) -> StudyReport:
        for (document,) in self._rows("SELECT document FROM versions WHERE study_uid = ? AND version = ?",
                                      study_uid, version):
            return from_json(json.loads(str(document)))
        raise KeyError(f"study {study_uid} has no report version {version}")

    def versions(self, study_uid: str) -> list[VersionInfo]:
        """Every saved version of the study's report, oldest first."""
        return [VersionInfo(int(str(v)), str(s), str(t), str(w)) for v, s, t, w in self._rows(
            "SELECT version, state, saved_utc, saved_by FROM versions WHERE study_uid = ? ORDER BY version",
            study_uid)]

    # -- key image pixels ----------------------------------------------------------------
    def put_image(self, key: str, rgb: NDArray[np.uint8]) -> None:
        """Keep the rendered pixels of key image ``key`` (PNG); a key's pixels never change."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG")
        db = self._connect()
        try:
            with db:
                db.execute("INSERT OR IGNORE INTO key_images VALUES (?, ?)", (key, buf.getvalue()))
        finally:
            db.close()

    def image(self, key: str) -> Optional[NDArray[np.uint8]]:
        from PIL import Image

        for (png,) in self._rows("SELECT png FROM key_images WHERE key = ?", key):
            assert isinstance(png, bytes)
            return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        return None
