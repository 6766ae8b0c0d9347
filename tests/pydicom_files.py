"""The DICOM files pydicom and pydicom-data ship (others' work), found without touching the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pydicom
import pytest

#: pydicom's own test files (inside its wheel).
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def data_file(name: str) -> str:
    """A pydicom test file by exact name; skips when it lives in the absent pydicom-data.

    Never globbed and never fetched: asking pydicom for a file it cannot find locally
    would try the network.
    """
    from pydicom.data import get_testdata_file

    local = PYDICOM_FILES / name
    if local.exists():
        return str(local)
    if importlib.util.find_spec("data_store") is None:
        pytest.skip(f"{name} needs the pydicom-data package")
    return str(get_testdata_file(name))
