"""Run David Clunie's ``dciodvfy`` (Debian ``dicom3tools``) on files the project writes.

Tests call :func:`assert_valid_dicom`; it skips, naming the missing tool, where
``dciodvfy`` is not installed (``scripts/setup.sh`` installs it as root).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

import pytest

DCIODVFY = shutil.which("dciodvfy")


@dataclass(frozen=True)
class Verdict:
    """What dciodvfy said of one file: its ``Error`` and ``Warning`` lines."""

    path: Path
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


def dciodvfy(path: Union[str, Path]) -> Verdict:
    """Validate one file against its IOD (skips the test when dciodvfy is absent)."""
    if DCIODVFY is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    proc = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=120)
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = tuple(line for line in lines if line.startswith("Error"))
    warnings = tuple(line for line in lines if line.startswith("Warning"))
    return Verdict(Path(path), errors, warnings)


def assert_valid_dicom(paths: Iterable[Union[str, Path]]) -> list[Verdict]:
    """Fail with every error line when any file has a dciodvfy error; return the verdicts."""
    verdicts = [dciodvfy(p) for p in paths]
    bad = [v for v in verdicts if v.errors]
    assert not bad, "dciodvfy errors:\n" + "\n".join(f"{v.path.name}: {e}" for v in bad for e in v.errors)
    return verdicts
