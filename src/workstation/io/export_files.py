"""Write exported files: encoded images, DICOM datasets and JSON, atomically.

A reader (a PACS import, a slide program watching a folder) never sees half a file:
each file is written under a temporary name in its folder, then renamed.  Existing
files are never overwritten; a clash gets ``-2``, ``-3`` ... before the suffix.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset


def free_path(path: Path) -> Path:
    """``path``, or the first ``stem-N.suffix`` beside it that does not exist yet."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def write_bytes(path: Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` (or a free name beside it); returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path if overwrite else free_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_dataset(path: Path, dataset: Dataset) -> Path:
    """Write a DICOM dataset with its file meta (Part 10 file); returns the path written."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return write_bytes(path, buffer.getvalue())


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON, replacing an earlier file of that name."""
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    return write_bytes(path, text.encode("utf-8"), overwrite=True)


@contextmanager
def staged_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (a video
    encoder); renamed to ``path`` on success, removed on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    staged = Path(tmp)
    try:
        yield staged
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
