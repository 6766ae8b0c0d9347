"""Send DICOM files to a node (C-STORE or STOW-RS), as they are on disk.

:func:`collect` walks files and folders and keeps the DICOM Part 10 files (their SOP
class and transfer syntax read from the header); anything else is listed with the
reason.  :func:`send` stores them with progress and cancellation; a file the node
refuses is reported with its reason and the others still go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.core.progress import ProgressFn, report

SendFile = tuple[Path, str, str]  # path, SOP class UID, transfer syntax UID


@dataclass
class SendReport:
    """Files stored, files the node refused (with why) and files that are not DICOM."""

    sent: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.refused


def _files(paths: Iterable[str | Path]) -> Iterable[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from (Path(root) / n for n in sorted(names) if not n.startswith("."))
        else:
            yield path


def collect(paths: Iterable[str | Path]) -> tuple[list[SendFile], list[tuple[Path, str]]]:
    """The DICOM files under ``paths`` and the (path, reason) of everything else."""
    import pydicom

    found: list[SendFile] = []
    skipped: list[tuple[Path, str]] = []
    for path in _files(paths):
        if not path.is_file():
            skipped.append((path, "no such file"))
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])
            sop_class = str(getattr(ds.file_meta, "MediaStorageSOPClassUID", "") or ds.get("SOPClassUID", ""))
            syntax = str(getattr(ds.file_meta, "TransferSyntaxUID", "") or "")
        except Exception as exc:  # noqa: BLE001 - not DICOM, or damaged: listed, not sent
            skipped.append((path, f"not a DICOM file ({type(exc).__name__})"))
            continue
        if not sop_class or not syntax:
            skipped.append((path, "DICOM without file meta (SOP class / transfer syntax)"))
            continue
        found.append((path, sop_class, syntax))
    return found, skipped


def send(client: Any, files: Sequence[SendFile], progress: ProgressFn | None = None) -> SendReport:
    """Store ``files`` through ``client`` (a DIMSE or DICOMweb client)."""
    start = time.perf_counter()
    result = SendReport()

    def tick(path: Path, error: str | None) -> None:
        if error is None:
            result.sent.append(path)
        else:
            result.refused.append((path, error))
        done = len(result.sent) + len(result.refused)
        report(progress, done / max(len(files), 1), f"{done} of {len(files)} files sent")

    report(progress, 0.0, f"sending {len(files)} files")
    try:
        if files:
            client.store(files, tick)
    finally:
        result.seconds = time.perf_counter() - start
    return result
