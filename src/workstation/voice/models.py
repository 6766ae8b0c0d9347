"""Speech models the user provides: a folder with a manifest, checked by SHA-256 before use.

Nothing is downloaded.  A Vosk model (a folder) or a whisper.cpp model (one ``ggml``
file) placed by the user in their speech models folder is listed in its
``manifest.json``::

    {"format_version": 1,
     "models": [{"name": "vosk-en-small", "engine": "vosk", "path": "vosk-model-small-en-us-0.15",
                 "version": "0.15", "sha256": "...", "language": "en-US",
                 "licence": "Apache-2.0", "source": "alphacephei.com"}]}

``sha256`` of a file is the file's; of a folder it is :func:`tree_sha256` (the SHA-256 of
the sorted lines ``<relative path> <file sha256>``), which ``python -m
workstation.voice.models PATH`` prints.  A fault (missing file, changed digest, unknown
engine) is reported with the manifest and the model named, and costs only that model.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ENGINES = ("vosk", "whisper.cpp")
MANIFEST = "manifest.json"


class SpeechModelError(ValueError):
    """A speech model cannot be used; the message names the manifest, the model and the fault."""


@dataclass(frozen=True)
class SpeechModel:
    name: str
    engine: str
    path: Path
    version: str
    sha256: str
    language: str = "en-US"
    licence: str = ""
    source: str = ""

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.engine}, {self.language})"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (sorted relative paths and their digests)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    lines = [f"{p.relative_to(path).as_posix()} {file_sha256(p)}\n" for p in sorted(path.rglob("*")) if p.is_file()]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _entry(raw: Any, folder: Path, manifest: Path) -> SpeechModel:
    where = f"{manifest}: model {raw.get('name', '?') if isinstance(raw, dict) else '?'!r}"
    if not isinstance(raw, dict):
        raise SpeechModelError(f"{where}: an entry is an object")
    for key in ("name", "engine", "path", "version", "sha256"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise SpeechModelError(f"{where}: missing {key!r}")
    if raw["engine"] not in ENGINES:
        raise SpeechModelError(f"{where}: engine must be one of {', '.join(ENGINES)}, got {raw['engine']!r}")
    sha = raw["sha256"].lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise SpeechModelError(f"{where}: sha256 must be 64 hexadecimal digits")
    return SpeechModel(raw["name"], raw["engine"], (folder / raw["path"]).resolve(), raw["version"], sha,
                       str(raw.get("language", "en-US")), str(raw.get("licence", "")), str(raw.get("source", "")))


def read_models(folder: Optional[Path]) -> tuple[list[SpeechModel], list[str]]:
    """The usable models of the user's speech folder (digest checked) and the faults found."""
    if folder is None or not (Path(folder) / MANIFEST).is_file():
        return [], []
    manifest = Path(folder) / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries = data["models"]
        if not isinstance(entries, list):
            raise TypeError("'models' is not a list")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        return [], [f"{manifest}: not a readable speech model manifest ({exc})"]
    models, problems = [], []
    for raw in entries:
        try:
            model = _entry(raw, Path(folder), manifest)
            if not model.path.exists():
                raise SpeechModelError(f"{manifest}: model {model.name!r}: {model.path} does not exist")
            if tree_sha256(model.path) != model.sha256:
                raise SpeechModelError(f"{manifest}: model {model.name!r}: {model.path} does not match its sha256 "
                                       "(changed or incomplete)")
            models.append(model)
        except SpeechModelError as exc:
            problems.append(str(exc))
    return models, problems


if __name__ == "__main__":  # print the digest a manifest entry needs
    for arg in sys.argv[1:]:
        print(tree_sha256(Path(arg)), arg)
