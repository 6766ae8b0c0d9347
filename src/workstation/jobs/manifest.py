"""The manifest that makes a study's batch result checkable, so a batch can resume.

Every study's result folder gets ``<analysis>.manifest.json``, moved in last (after the
JSON record, :class:`~workstation.jobs.staging.StudyWrite`): the analysis, the
software version, the parameters, a fingerprint of the inputs and every file written
with its size and SHA-256.  :func:`check` says whether a folder holds a complete,
valid result for the same inputs and parameters: ``workstation-batch run`` over the
same ``--out`` skips those studies and redoes the rest.

The inputs' fingerprint is the SHA-256 of the sorted SHA-256 digests of every file of
the study (so a copied or moved study is still recognised), plus a cheap key of paths,
sizes and modification times: when that key matches, the files are not read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from workstation.core.paths import version_string
from workstation.core.study import Study

FORMAT = 1


def manifest_name(analysis: str) -> str:
    return f"{analysis}.manifest.json"


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _study_files(study: Study) -> list[Path]:
    files = {Path(f.path) for s in study.series for f in s.frames} | {Path(o.ref.path) for o in study.objects}
    return sorted(files)


def stat_key(study: Study) -> str:
    """SHA-256 of the study's files' paths, sizes and modification times (no file is read)."""
    h = hashlib.sha256()
    for path in _study_files(study):
        st = os.stat(path)
        h.update(f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def content_digest(study: Study) -> str:
    """SHA-256 over the sorted SHA-256 digests of the study's files (paths do not count)."""
    digests = sorted(_file_sha256(p) for p in _study_files(study))
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def fingerprint(study: Study) -> dict[str, Any]:
    """The inputs part of a manifest."""
    return {"files": len(_study_files(study)), "stat_key": stat_key(study), "sha256": content_digest(study)}


def build(analysis: str, params: Mapping[str, Any], inputs: Mapping[str, Any], files: Sequence[Path]) -> dict[str, Any]:
    """The manifest of ``files`` (each present, inside the folder being written)."""
    return {
        "format": FORMAT,
        "analysis": analysis,
        "software": version_string(),
        "params": dict(params),
        "inputs": dict(inputs),
        "files": [{"name": p.name, "bytes": p.stat().st_size, "sha256": _file_sha256(p)} for p in files],
    }


def _same_inputs(recorded: Mapping[str, Any], study: Study) -> bool:
    if recorded.get("stat_key") == stat_key(study):
        return True
    return bool(recorded.get("files") == len(_study_files(study)) and recorded.get("sha256") == content_digest(study))


def check(folder: Path, analysis: str, params: Mapping[str, Any], study: Study) -> Optional[str]:
    """``None`` when ``folder`` holds a complete, valid result of ``analysis`` with
    ``params`` on ``study`` by this software version; else why not."""
    path = folder / manifest_name(analysis)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no result"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({type(exc).__name__})"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("analysis") != analysis:
        return "manifest of another format or analysis"
    if manifest.get("software") != version_string():
        return f"written by {manifest.get('software')}"
    if manifest.get("params") != json.loads(json.dumps(dict(params))):
        return "other parameters"
    try:
        if not _same_inputs(manifest.get("inputs") or {}, study):
            return "other inputs"
        for entry in manifest.get("files") or []:
            file = folder / str(entry["name"])
            if not file.is_file() or file.stat().st_size != entry["bytes"] or _file_sha256(file) != entry["sha256"]:
                return f"{entry['name']} is missing or changed"
    except (OSError, KeyError, TypeError) as exc:
        return f"cannot be checked ({type(exc).__name__})"
    return None
