"""The cache of retrieved and received studies: a folder, a size limit, clear-cache.

Instances land in ``<cache>/pacs/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm`` and
are indexed in the :class:`~workstation.io.database.StudyDatabase` as they are
committed.  Over the limit, whole studies go, least recently used first, never one in
use (``keep``); files indexed from a user's own folders are never touched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from workstation.core.paths import cache_dir
from workstation.io.database import StudyDatabase
from workstation.io.pacs.transfer import safe_uid

log = logging.getLogger(__name__)
DEFAULT_LIMIT_BYTES = 20 * 1024**3


def default_root() -> Path:
    return cache_dir() / "pacs"


class StudyCache:
    """A retrieve destination that indexes what lands and keeps the folder under ``limit_bytes``."""

    def __init__(self, database: StudyDatabase, root: str | Path | None = None,
                 limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.database = database
        if database.cache_root is None:
            database.cache_root = self.root.resolve()
        self.limit_bytes = int(limit_bytes)

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return self.root / safe_uid(study_uid) / safe_uid(series_uid) / f"{safe_uid(sop_uid)}.dcm"

    def present(self, sop_uids: Iterable[str]) -> set[str]:
        """Instances already indexed (here or in a user's folder) and still on disk."""
        return self.database.present(sop_uids)

    def held(self, study_uid: str, series_uid: str) -> int:
        """Instances of the series the database knows (their files are checked when listed)."""
        return self.database.count_instances(series_uid)

    def commit(self, paths: list[Path]) -> None:
        """Index what arrived (even after a failure or cancel), then apply the size limit."""
        if not paths:
            return
        result = self.database.index_files(paths)
        for problem in result.problems:
            log.warning("a received file could not be indexed: %s", problem.reason)
        self.enforce_limit(keep={s.uid for s in result.studies} | {o.study_uid for o in result.other})

    def usage_bytes(self) -> int:
        return sum(size for _, _, size, _ in self.database.cached_files())

    def enforce_limit(self, keep: Iterable[str] = ()) -> list[str]:
        """Evict least recently used studies until under the limit; returns their UIDs."""
        keep = set(keep)
        files = self.database.cached_files()
        total = sum(size for _, _, size, _ in files)
        evicted: list[str] = []
        by_study: dict[str, list[tuple[str, int]]] = {}
        for study, path, size, _ in files:  # already least recently used first
            by_study.setdefault(study, []).append((path, size))
        for study, entries in by_study.items():
            if total <= self.limit_bytes:
                break
            if study in keep:
                continue
            self._delete([p for p, _ in entries])
            total -= sum(s for _, s in entries)
            evicted.append(study)
        if evicted:
            log.info("cache over its limit: %d studies evicted", len(evicted))
        return evicted

    def clear(self, keep: Iterable[str] = ()) -> int:
        """Delete every cached study but ``keep``; returns the bytes freed."""
        keep = set(keep)
        files = [(p, s) for study, p, s, _ in self.database.cached_files() if study not in keep]
        self._delete([p for p, _ in files])
        for folder in sorted(self.root.glob("*/*"), reverse=True) + sorted(self.root.glob("*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return sum(s for _, s in files)

    def _delete(self, paths: list[str]) -> None:
        root = str(self.root.resolve()) + os.sep
        for path in paths:
            if not os.path.realpath(path).startswith(root):
                continue  # never outside the cache folder
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot delete a cached file (%s)", exc.strerror or exc)
        self.database.forget_files(paths)
