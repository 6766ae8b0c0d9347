"""The local study database: every study opened, retrieved or received, indexed in SQLite.

It records patients, studies, series and instances (UIDs, file paths, dates, modality,
description, body part) and every image plane with what the loader needs, so
:meth:`StudyDatabase.open_study` rebuilds a :class:`~workstation.core.study.Study`
without walking or scanning a folder.  Files opened from a user's folder are indexed
where they are (never copied or modified); retrieved and received files live in the
cache folder and are marked so (``in_cache``) for the size limit.  The database file is
in the user's data folder (``<data>/workstation/studies.sqlite``).  It is safe to use
from several threads (one connection per call, WAL journal).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from workstation.core.paths import data_dir
from workstation.core.progress import ProgressFn
from workstation.core.study import LoadProblem, Study
from workstation.io.database_rows import (
    SCHEMA,
    SCHEMA_VERSION,
    SeriesRecord,
    StudyRecord,
    from_iso,
    name_key,
)
from workstation.io.database_write import index_rows, study_from_rows
from workstation.io.dicom_scan import ScanResult, scan

log = logging.getLogger(__name__)
DB_NAME = "studies.sqlite"
MAX_RESULTS = 1000


def default_path() -> Path:
    return data_dir() / DB_NAME


@dataclass(frozen=True)
class StudySearch:
    """Search keys; empty means any.  Name and ID take ``*``/``?`` wildcards and, without
    wildcards, match anywhere (names ignore case and the ``^`` separators)."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    modality: str = ""
    accession: str = ""
    limit: int = MAX_RESULTS


def _like(pattern: str, *, fold: bool) -> str:
    text = name_key(pattern) if fold else pattern.strip()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if "*" not in escaped and "?" not in escaped:
        return f"%{escaped}%"
    return escaped.replace("*", "%").replace("?", "_")


class StudyDatabase:
    """The study index at ``path`` (default :func:`default_path`).

    ``cache_root`` is the folder of retrieved files: instances under it count as cached.
    """

    def __init__(self, path: str | Path | None = None, cache_root: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.cache_root = Path(cache_root).resolve() if cache_root is not None else None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connect() as conn:
            conn.executescript(SCHEMA)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as conn:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with conn:
                yield conn

    def in_cache(self, path: Path) -> bool:
        if self.cache_root is None:
            return False
        try:
            return Path(os.path.realpath(path)).is_relative_to(self.cache_root)
        except OSError:
            return False

    # -- indexing ---------------------------------------------------------------------
    def index_scan(self, result: ScanResult) -> int:
        """Record what a scan found (its studies, series, planes and other objects).

        Returns the number of instances recorded.  Nothing on disk is touched.
        """
        rows = index_rows(result, self.in_cache)
        with self._connect() as conn:
            return rows.write(conn)

    def index_files(self, paths: Iterable[str | Path], progress: ProgressFn | None = None) -> ScanResult:
        """Scan ``paths`` (headers only) and record them; returns the scan result."""
        targets = list(paths)
        if not targets:
            return ScanResult()
        result = scan(targets, progress=progress)
        self.index_scan(result)
        return result

    # -- queries ----------------------------------------------------------------------
    def search(self, criteria: StudySearch | None = None) -> list[StudyRecord]:
        """Studies matching ``criteria``, newest study date first."""
        c = criteria or StudySearch()
        where, args = ["1 = 1"], []
        if c.patient_name.strip():
            where.append("s.name_key LIKE ? ESCAPE '\\'")
            args.append(_like(c.patient_name, fold=True))
        if c.patient_id.strip():
            where.append("s.patient_id LIKE ? ESCAPE '\\'")
            args.append(_like(c.patient_id, fold=False))
        if c.accession.strip():
            where.append("s.accession LIKE ? ESCAPE '\\'")
            args.append(_like(c.accession, fold=False))
        if c.date_from is not None:
            where.append("s.study_date >= ?")
            args.append(c.date_from.isoformat())
        if c.date_to is not None:
            where.append("s.study_date <= ?")
            args.append(c.date_to.isoformat())
        if c.modality.strip():
            where.append("EXISTS (SELECT 1 FROM series m WHERE m.study_uid = s.study_uid AND upper(m.modality) = ?)")
            args.append(c.modality.strip().upper())
        sql = (f"SELECT * FROM studies s WHERE {' AND '.join(where)} "
               "ORDER BY s.study_date IS NULL, s.study_date DESC, s.indexed_at DESC LIMIT ?")
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            studies = conn.execute(sql, [*args, max(1, int(c.limit))]).fetchall()
            return [self._record(conn, row) for row in studies]

    def study(self, study_uid: str) -> StudyRecord | None:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
            return self._record(conn, row) if row is not None else None

    def _record(self, conn: sqlite3.Connection, row: sqlite3.Row) -> StudyRecord:
        series = conn.execute(
            "SELECT r.series_uid, r.modality, r.number, r.description, r.body_part, r.is_image, "
            "(SELECT count(*) FROM instances i WHERE i.series_uid = r.series_uid) "
            "FROM series r WHERE r.study_uid = ? ORDER BY r.number IS NULL, r.number, r.series_uid",
            (row["study_uid"],)).fetchall()
        cached = conn.execute("SELECT coalesce(sum(size), 0) FROM instances WHERE study_uid = ? AND in_cache = 1",
                              (row["study_uid"],)).fetchone()[0]
        return StudyRecord(
            study_uid=row["study_uid"], patient_id=row["patient_id"], patient_name=row["patient_name"],
            birth_date=from_iso(row["birth_date"]), sex=row["sex"], study_date=from_iso(row["study_date"]),
            description=row["description"], accession=row["accession"],
            series=tuple(SeriesRecord(s[0], s[1], s[2], s[3], s[4], bool(s[5]), s[6]) for s in series),
            cached_bytes=int(cached), last_opened=row["last_opened"],
        )

    def present(self, sop_uids: Iterable[str]) -> set[str]:
        """Which of these instances are indexed and still on disk (unchanged in size)."""
        wanted = list(dict.fromkeys(sop_uids))
        found: set[str] = set()
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for sop, path, size in conn.execute(
                        f"SELECT sop_uid, path, size FROM instances WHERE sop_uid IN ({marks})", chunk):
                    try:
                        if os.path.getsize(path) == size:
                            found.add(sop)
                    except OSError:
                        pass
        return found

    def count_instances(self, series_uid: str) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM instances WHERE series_uid = ?", (series_uid,)).fetchone()[0])

    # -- reopening --------------------------------------------------------------------
    def open_study(self, study_uid: str) -> tuple[Study, list[LoadProblem]]:
        """The study rebuilt from the index, after checking its files are still there.

        Files that changed since they were indexed are indexed again (headers only);
        files that are gone are dropped from the index and listed as problems.

        Raises
        ------
        KeyError
            When the study is not in the database.
        """
        problems = self._refresh(study_uid)
        with self._connect() as conn:
            study = study_from_rows(conn, study_uid)
            conn.execute("UPDATE studies SET last_opened = ? WHERE study_uid = ?", (time.time(), study_uid))
        if study is None:
            raise KeyError(f"study {study_uid} is not in the local database")
        return study, problems

    def _refresh(self, study_uid: str) -> list[LoadProblem]:
        with self._connect() as conn:
            files = conn.execute("SELECT path, size, mtime FROM instances WHERE study_uid = ?",
                                 (study_uid,)).fetchall()
        gone: list[str] = []
        changed: list[str] = []
        for path, size, mtime in files:
            try:
                stat = os.stat(path)
            except OSError:
                gone.append(path)
                continue
            if stat.st_size != size or abs(stat.st_mtime - mtime) > 1e-3:
                changed.append(path)
        if gone:
            self.forget_files(gone)
        if changed:
            self.forget_files(changed)
            self.index_files(changed)
        return [LoadProblem(Path(p), "indexed file is no longer on disk") for p in gone]

    # -- forgetting -------------------------------------------------------------------
    def forget_files(self, paths: Iterable[str | Path]) -> None:
        """Drop these files' instances from the index (and series/studies left empty)."""
        names = [str(p) for p in paths]
        with self._connect() as conn:
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                conn.execute(f"DELETE FROM instances WHERE path IN ({','.join('?' * len(chunk))})", chunk)
            _drop_empty(conn)

    def forget_study(self, study_uid: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM studies WHERE study_uid = ?", (study_uid,))

    def cached_files(self) -> list[tuple[str, str, int, float]]:
        """(study UID, path, bytes, last use) of every cached file, least recently used study first."""
        with self._connect() as conn:
            return conn.execute(
                "SELECT i.study_uid, i.path, i.size, coalesce(s.last_opened, s.indexed_at) AS used "
                "FROM instances i JOIN studies s ON s.study_uid = i.study_uid WHERE i.in_cache = 1 "
                "ORDER BY used, i.study_uid").fetchall()


def _drop_empty(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_uid = series.series_uid)")
    conn.execute("DELETE FROM studies WHERE NOT EXISTS (SELECT 1 FROM series r WHERE r.study_uid = studies.study_uid)")
