"""Keep patient data out of logs, crash reports and console output.

:func:`redact` replaces, in free text:

* absolute file paths outside the application's own folders by ``<path#hash>`` (a
  folder or file name may carry a patient's name; the short hash still lets support
  tell two paths apart);
* values registered with :func:`register_sensitive` (the names and IDs of every
  patient whose file was opened in this process) by ``<redacted>``;
* DICOM person names (``Family^Given``) by ``<name>``.

The rule for registered values: they are matched case-insensitively as whole tokens,
where a token is a run of letters and digits, so ``_``, ``-``, ``.`` and ``^`` all
separate (``DOE_JOHN_001.dcm`` loses both names, ``Doeman`` keeps ``Doe``).  The
program's own identifiers (analysis, model and command names, registered with
:func:`add_vocabulary`) are matched first, as whole compounds, and never redacted:
a patient called "Mammo" leaves ``mammo-cad`` alone, one called DEMO^CHEST leaves the
model ``chest-organs`` alone.  Such a word tells nothing about a patient, since the
program writes it for every patient.
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
_MARKER = re.compile(r"(<path#[0-9a-f]{8}>|<redacted>|<name>)")
_TOKEN = re.compile(r"[^\W_]+")  # a run of letters and digits
_lock = threading.Lock()
_safe_roots: list[str] = []
MIN_PART = 3


class _Words:
    """Case-insensitive whole-token phrases, looked up by their first token.

    A phrase of one token is a set look-up; a longer one (``PID-778899``,
    ``mammo-cad``) is compared where its first token starts.  Cost per text: one pass
    over its tokens, whatever the number of phrases.
    """

    def __init__(self) -> None:
        self.single: set[str] = set()
        self.phrases: dict[str, list[str]] = {}

    def add(self, phrase: str) -> bool:
        """Add ``phrase``; False when it was known."""
        low = phrase.lower()
        tokens = _TOKEN.findall(low)
        if not tokens:
            return False
        if _TOKEN.fullmatch(low):
            if low in self.single:
                return False
            self.single.add(low)
            return True
        bucket = self.phrases.setdefault(tokens[0], [])
        if low in bucket:
            return False
        bucket.append(low)
        bucket.sort(key=len, reverse=True)
        return True

    def match(self, text: str, start: int, token_end: int) -> int:
        """Length of the longest phrase starting at ``start`` (0 if none)."""
        token = text[start:token_end].lower()
        for phrase in self.phrases.get(token, ()):
            end = start + len(phrase)
            if text[start:end].lower() == phrase and not _TOKEN.match(text, end):
                return len(phrase)
        return token_end - start if token in self.single else 0

    def clear(self) -> None:
        self.single.clear()
        self.phrases.clear()


_sensitive = _Words()
_vocabulary = _Words()
for _word in ("workstation", "workstation-batch"):
    _vocabulary.add(_word)


def register_sensitive(values: Iterable[Optional[str]]) -> None:
    """Redact these strings (and their ``^``-, space- or comma-separated parts) from now on."""
    found: set[str] = set()
    for value in values:
        text = str(value or "").strip(" \x00")
        if len(text) < MIN_PART:
            continue
        found.add(text)
        found.add(re.sub(r"\^+", " ", text).strip())
        found.update(p for p in re.split(r"[\^\s,]+", text) if len(p) >= MIN_PART)
    with _lock:
        for phrase in found:
            _sensitive.add(phrase)


def add_vocabulary(words: Iterable[str]) -> None:
    """The program's own identifiers (analysis, model, command names): never redacted."""
    with _lock:
        for word in words:
            if str(word).strip():
                _vocabulary.add(str(word).strip())


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


def _identity(text: str) -> str:
    """``text`` with registered values replaced, the program's vocabulary kept."""
    parts: list[str] = []
    copied = 0  # text[:copied] is in parts
    skip_to = 0  # inside a phrase already kept or replaced
    with _lock:
        for token in _TOKEN.finditer(text):
            start = token.start()
            if start < skip_to:
                continue
            kept = _vocabulary.match(text, start, token.end())
            if kept:
                skip_to = start + kept
                continue
            hit = _sensitive.match(text, start, token.end())
            if hit:
                parts += [text[copied:start], "<redacted>"]
                copied = skip_to = start + hit
    return "".join(parts) + text[copied:]


def redact(text: str) -> str:
    """``text`` without foreign paths, registered values or DICOM person names."""
    pieces = _MARKER.split(_PATH.sub(_path_token, str(text)))
    for i in range(0, len(pieces), 2):  # odd pieces are markers this function wrote
        pieces[i] = _PERSON_NAME.sub("<name>", _identity(pieces[i]))
    return "".join(pieces)
