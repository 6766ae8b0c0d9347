"""Every file pydicom and pydicom-data ship, scanned (and loaded) without an uncaught exception.

The files are others' work: valid samples in many syntaxes, and deliberately broken
ones (truncated, bad VRs, missing meta).  The pydicom-data files are listed from the
installed package's own folder, never globbed through pydicom (that would try the
network for the files this version of the package lacks).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pydicom
import pytest

from workstation.io.dicom import DicomReadError, load_series, scan
from workstation.io.dicom_scan import UNEXPECTED

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix not in (".py", ".pyc")]


def _data_store() -> Path:
    spec = importlib.util.find_spec("data_store")
    if spec is None or spec.origin is None:
        pytest.skip("pydicom-data is not installed")
    return Path(spec.origin).parent / "data"


def _check(files: list[Path], *, load: bool) -> None:
    result = scan(files)
    accounted = {p.path for p in result.problems} | {o.path for o in result.other}
    accounted |= {f.path for s in result.series for f in s.frames}
    assert {p for p in files if not p.name.startswith("DICOMDIR")} <= accounted  # a DICOMDIR leads to files
    unexpected = [str(p) for p in result.problems if p.reason.startswith(UNEXPECTED)]
    assert not unexpected
    if load:
        for series in result.series:
            try:
                volume = load_series(series, workers=1)
            except DicomReadError as exc:
                assert exc.path in {f.path for f in series.frames}
            else:
                assert volume.array.shape[0] >= 1


def test_pydicom_test_files_scan_and_load() -> None:
    files = _files(PYDICOM_FILES)
    assert len(files) > 150
    _check(files, load=True)


def test_pydicom_data_files_scan() -> None:
    files = _files(_data_store())
    assert len(files) > 60
    _check(files, load=False)


@pytest.mark.slow
def test_pydicom_data_files_load() -> None:
    _check(_files(_data_store()), load=True)


def test_known_good_samples_are_not_problems() -> None:
    """The checks that reject hostile headers accept these valid files (and their pixels)."""
    names = ["CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
             "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm", "rtdose.dcm", "JPEG2000.dcm",
             "SC_ybr_full_422_uncompressed.dcm", "liver_1frame.dcm"]
    for name in names:
        result = scan(PYDICOM_FILES / name)
        assert result.problems == [], (name, result.problems)
        for series in result.series:
            load_series(series, workers=1)
