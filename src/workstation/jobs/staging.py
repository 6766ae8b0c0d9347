"""Write a study's results all or nothing, and clean up after writers that were killed.

A study's files are written into a staging folder inside its output folder, then
moved in by :class:`StudyWrite` (the JSON record last).  A failure (a full disk, an
unwritable folder) or an interrupt before the moves undoes everything: files moved
are removed, files they replaced are put back, and a study folder the write created
is removed again, so no half-written or empty study folder is left.  The moves
themselves finish even when Ctrl-C arrives during them (it is handled after).

Staging folders carry the host and process ID of their writer: :func:`clean_stale`
removes those whose writer no longer runs (killed with SIGKILL, or the machine lost
power), and leftovers of older versions once they are an hour old.  Before the first
move the writer records the moves it is about to make (:data:`JOURNAL`, written
atomically); a writer killed during the moves thus leaves a complete staged result
and its journal, and :func:`clean_stale` finishes those moves instead of undoing
them.  Either way, a killed writer leaves the study's previous files or all of its
new ones, never a mixture.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

from workstation.core.crash import process_alive

log = logging.getLogger(__name__)

STAGING = ".staging-"
#: The moves a commit is making, inside its staging folder (JSON list of file names, in order).
JOURNAL = ".commit.json"
#: Leftovers from writers of older versions (no host or PID in the name) are removed
#: once this old.
ORPHAN_AGE_S = 3600.0
_OWNER = re.compile(r"^\.staging-[^@]*@(?P<host>[^@]+)@(?P<pid>\d+)@")
_OLD_TEMP = re.compile(r"^\..+\.json\..+\.tmp$")  # a record's temporary file, older versions
_STUDY = re.compile(r"^[0-9.]+$")  # study folders are named by StudyInstanceUID


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def staging_prefix(analysis: str) -> str:
    """``.staging-<analysis>@<host>@<pid>@``: the name says who writes the folder."""
    return f"{STAGING}{analysis}@{_host()}@{os.getpid()}@"


def _stale(entry: Path) -> bool:
    match = _OWNER.match(entry.name)
    if match is not None and match["host"] == _host():
        return not process_alive(int(match["pid"]))
    old_style = (entry.is_dir() and entry.name.startswith(STAGING)) or (
        entry.is_file() and _OLD_TEMP.match(entry.name) is not None)
    if match is None and old_style:
        try:
            return time.time() - entry.stat().st_mtime > ORPHAN_AGE_S
        except OSError:
            return False
    return False


def clean_stale(out_dir: Path) -> list[Path]:
    """Remove staging folders and temporary files of dead writers in ``out_dir``'s study folders.

    Only folders named like a StudyInstanceUID are looked into, and only names this
    module (or an older version) writes are removed; study folders left empty by them
    are removed too.  Returns what was removed.
    """
    removed: list[Path] = []
    if not out_dir.is_dir():
        return removed
    for study in sorted(p for p in out_dir.iterdir() if p.is_dir() and _STUDY.match(p.name)):
        try:
            entries = [e for e in study.iterdir() if e.name.startswith(".") and _stale(e)]
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and (entry / JOURNAL).is_file():
                _roll_forward(entry, study)
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry)
        if entries and not any(study.iterdir()):
            study.rmdir()
            removed.append(study)
    return removed


def _roll_forward(staging: Path, target: Path) -> None:
    """Finish the moves of a commit whose writer was killed during them."""
    try:
        names = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # a journal that cannot be read was never complete: the staging folder is undone
    for name in names:
        staged = staging / name
        if isinstance(name, str) and "/" not in name and staged.is_file():
            os.replace(staged, target / name)
    log.info("completed a write into %s left unfinished by a killed writer", target)


class WriteInterrupted(KeyboardInterrupt):
    """Ctrl-C arrived while a study's files were moved in; all of them were (the write is complete)."""


class HeldInterrupts:
    """Holds Ctrl-C (SIGINT) between :meth:`hold` and :meth:`release`, which says whether it came.

    Only the main thread receives signals; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self._caught: list[int] = []
        self._previous: Any = None
        self._held = False

    def hold(self) -> None:
        if not self._held and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, lambda signum, frame: self._caught.append(signum))
            self._held = True

    def release(self) -> bool:
        if self._held:
            signal.signal(signal.SIGINT, self._previous)
            self._held = False
        return bool(self._caught)


class StudyWrite:
    """One study's output: files staged, then moved in together; undone on failure.

    Use as a context manager; :attr:`staging` is where files are written first,
    :meth:`commit` moves them in (in the order given).
    """

    def __init__(self, target: Path, analysis: str) -> None:
        self.target = target
        self.analysis = analysis
        self.created = False
        self.staging: Optional[Path] = None
        self._moved: list[Path] = []
        self._saved: list[tuple[Path, Path]] = []
        self._interrupts = HeldInterrupts()
        self._committed = False

    def __enter__(self) -> "StudyWrite":
        self.created = not self.target.exists()
        self.target.mkdir(parents=True, exist_ok=True)
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=staging_prefix(self.analysis), dir=self.target))
        except BaseException:
            self._remove_if_created()
            raise
        return self

    def commit(self, files: list[Path]) -> list[Path]:
        """Move ``files`` (inside :attr:`staging`) into the study folder; returns the new paths."""
        assert self.staging is not None
        finals = []
        journal = self.staging / JOURNAL
        self._interrupts.hold()  # until the end of the block: the moves and the clean-up finish
        scratch = self.staging / f"{JOURNAL}.tmp"
        scratch.write_text(json.dumps([p.name for p in files]), encoding="utf-8")
        os.replace(scratch, journal)  # from here on, a killed writer's result is completed, not undone
        for path in files:
            final = self.target / path.name
            if final.exists():
                saved = self.staging / f".previous-{path.name}"
                os.replace(final, saved)
                self._saved.append((saved, final))
            os.replace(path, final)
            self._moved.append(final)
            finals.append(final)
        journal.unlink()
        self._committed = True
        return finals

    def _undo(self) -> None:
        for final in reversed(self._moved):
            final.unlink(missing_ok=True)
        for saved, final in reversed(self._saved):
            os.replace(saved, final)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and not self._committed:
            try:
                self._undo()
            except OSError:
                log.warning("could not undo a failed write in %s", self.target, exc_info=True)
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        if exc_type is not None and not self._committed:
            self._remove_if_created()
        if self._interrupts.release() and exc_type is None:
            raise WriteInterrupted  # Ctrl-C came during the moves: they finished, now stop

    def _remove_if_created(self) -> None:
        if self.created:
            try:
                self.target.rmdir()  # only if empty: another writer's files stay
            except OSError:
                pass
