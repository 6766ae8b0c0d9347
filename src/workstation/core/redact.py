"""Keep patient data out of logs and crash reports.

:func:`redact` replaces, in free text:

* values registered with :func:`register_sensitive` (the names and IDs of the patients
  loaded in this process) by ``<redacted>``;
* DICOM person names (``Family^Given``) by ``<name>``;
* absolute file paths outside the application's own folders by ``<path#hash>`` (a
  folder or file name may carry a patient's name; the short hash still lets support
  tell two paths apart).
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from pathlib import Path
from typing import Iterable, Optional

_PERSON_NAME = re.compile(r"[^\W\d_][\w'.-]*\^[\w'^.-]*(?: [\w'^.-]+\^[\w'^.-]*)*")
_PATH = re.compile(r"(?<![\w.:/<])(?:~|/)[^\s'\"<>,;()\[\]{}]*")
_lock = threading.Lock()
_sensitive: set[str] = set()
_safe_roots: list[str] = []
MIN_PART = 3


def register_sensitive(values: Iterable[Optional[str]]) -> None:
    """Redact these strings (and their ``^``- or space-separated parts) from now on."""
    found: set[str] = set()
    for value in values:
        text = str(value or "").strip()
        if len(text) < MIN_PART:
            continue
        found.add(text)
        found.add(text.replace("^", " ").strip())
        found.update(p for p in re.split(r"[\^\s,]+", text) if len(p) >= MIN_PART)
    with _lock:
        _sensitive.update(found)


def clear_sensitive() -> None:
    """Forget the registered values (tests, a new session)."""
    with _lock:
        _sensitive.clear()


def add_safe_root(path: str | Path) -> None:
    """Paths under ``path`` are kept as they are (the application's own folders)."""
    root = str(Path(path)).rstrip("/") + "/"
    with _lock:
        if root not in _safe_roots:
            _safe_roots.append(root)


def _default_safe_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[2])}
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.add(str(bundle))
        roots.add(str(Path(sys.executable).resolve().parent))
    return [r.rstrip("/") + "/" for r in roots if r and r != "/"]


def _path_token(match: re.Match[str]) -> str:
    path = match.group(0)
    if path in ("/", "~"):
        return path
    with _lock:
        roots = _safe_roots + _default_safe_roots()
    if any(path.startswith(root) for root in roots):
        return path
    digest = hashlib.sha256(path.encode("utf-8", "replace")).hexdigest()[:8]
    return f"<path#{digest}>"


def redact(text: str) -> str:
    """``text`` without registered values, DICOM person names or foreign paths."""
    with _lock:
        values = sorted(_sensitive, key=len, reverse=True)
    for value in values:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "<redacted>", text, flags=re.IGNORECASE)
    text = _PERSON_NAME.sub("<name>", text)
    return _PATH.sub(_path_token, text)
