"""Property-based fuzzing of the header reader (Hypothesis; a long run, marked slow).

Hypothesis edits real files (byte overwrites, insertions, deletions, truncation) and
shrinks any failure to a minimal file.  The property: ``read_header`` returns a
header or raises ``DicomReadError``, nothing else, and never traces more than a small
multiple of the file's size.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import dicom_cases as cases
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.io.dicom_header import read_header
from workstation.io.errors import DicomReadError

SEEDS = ("CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "rtdose.dcm", "SC_rgb_jpeg_dcmtk.dcm",
         "MR_small_implicit.dcm", "emri_small.dcm")

edit = st.tuples(st.sampled_from(("set", "insert", "delete")), st.integers(0, 2**20), st.binary(min_size=1, max_size=8))


def _apply(data: bytes, edits: list[tuple[str, int, bytes]], cut: int | None) -> bytes:
    out = bytearray(data)
    for how, where, payload in edits:
        at = 132 + where % max(1, len(out) - 132)
        if how == "set":
            out[at: at + len(payload)] = payload
        elif how == "insert":
            out[at:at] = payload
        else:
            del out[at: at + len(payload)]
    return bytes(out[:cut] if cut is not None else out)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), edits=st.lists(edit, min_size=1, max_size=12),
       cut=st.none() | st.integers(0, 200_000))
def test_header_reader_raises_only_dicom_read_error(tmp_path: Path, seed: str, edits: list, cut: int | None) -> None:
    data = _apply(Path(cases.data_file(seed)).read_bytes(), edits, cut)
    path = tmp_path / "fuzzed.dcm"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        try:
            read_header(path)
        except DicomReadError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 64 * len(data) + 2**22
