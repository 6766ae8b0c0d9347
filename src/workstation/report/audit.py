"""The audit log of reporting: who did what to which study's report, and when.

One JSON line per event in ``<data>/workstation/audit/audit.jsonl``: UTC time, the
operating-system user, the reader's name as set for signing, the action (``view``,
``create``, ``edit``, ``preliminary``, ``sign``, ``addendum``, ``export``, ``send``,
``copy``), the StudyInstanceUID and a short detail (a version number, the kinds of file
exported, a PACS node's name).  No patient name, ID, birth date or file path is ever
written.  The file is only appended to (under a lock, so the desktop application and
batch runs can share it), and each line carries the SHA-256 of the line before it:
:func:`verify` finds a changed, removed or inserted line.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from workstation.core.paths import data_dir
from workstation.report.document import utc_now

ACTIONS = ("view", "create", "edit", "preliminary", "sign", "addendum", "export", "send", "copy")
GENESIS = "0" * 64


def default_audit_path() -> Path:
    return data_dir() / "audit" / "audit.jsonl"


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers): still log the event
        return "unknown"


@contextmanager
def _locked(path: Path) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX: one writer at a time is the user's affair
            pass
        yield handle


@dataclass(frozen=True)
class AuditLog:
    """An append-only audit file (default: in the user's data folder)."""

    path: Path

    @classmethod
    def default(cls) -> "AuditLog":
        return cls(default_audit_path())

    def record(self, action: str, study_uid: str, detail: str = "", reader: str = "") -> dict[str, Any]:
        """Append one event and return it as written."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
        with _locked(self.path) as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            previous = GENESIS
            if size:
                handle.seek(max(0, size - 4096))
                tail = handle.read().splitlines()
                previous = hashlib.sha256(tail[-1]).hexdigest() if tail else GENESIS
            event = {"time_utc": utc_now(), "user": os_user(), "reader": reader, "action": action,
                     "study_uid": study_uid, "detail": detail, "previous_sha256": previous}
            handle.write((json.dumps(event, sort_keys=True) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        return event

    def events(self, study_uid: Optional[str] = None) -> list[dict[str, Any]]:
        """Every event (of one study when given), oldest first."""
        if not self.path.is_file():
            return []
        out = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [e for e in out if study_uid is None or e.get("study_uid") == study_uid]

    def verify(self) -> list[str]:
        """Lines whose chain is broken (changed, removed or inserted before them); empty when intact."""
        if not self.path.is_file():
            return []
        problems = []
        previous = GENESIS
        for number, line in enumerate(self.path.read_bytes().splitlines(), start=1):
            try:
                claimed = json.loads(line).get("previous_sha256")
            except ValueError:
                problems.append(f"line {number}: not JSON")
                claimed = None
            if claimed != previous:
                problems.append(f"line {number}: does not follow line {number - 1}")
            previous = hashlib.sha256(line).hexdigest()
        return problems
