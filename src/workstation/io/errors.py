"""Errors raised by the DICOM readers: each names the file and the fault."""

from __future__ import annotations

from pathlib import Path
from typing import Union


class DicomReadError(Exception):
    """A file (or folder) could not be read as the caller asked.

    The message is ``"<file name>: <reason>"``; ``reason`` never holds patient data.

    Parameters
    ----------
    path
        The file or folder at fault.
    reason
        What is wrong with it, e.g. ``"truncated pixel data (expected 524288 bytes,
        found 1200)"``.
    """

    def __init__(self, path: Union[str, Path], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name or self.path}: {reason}")
