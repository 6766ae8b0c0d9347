"""Hostile headers and damaged copies: one regression test per fault found by fuzzing.

Each test builds the fault into a real file (written by the project, or one of
pydicom's samples) and checks that the scan reports it by name while everything good
still loads, exactly.
"""

from __future__ import annotations

import os
import shutil
import struct
import time
import tracemalloc
from pathlib import Path

import dicom_cases as cases
import dicom_mutants as mutants
import numpy as np
import pydicom
import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.uid import RLELossless, generate_uid

from workstation.core.study import FrameRef
from workstation.core.volume import Volume
from workstation.io.dicom import DicomReadError, load, load_series, scan
from workstation.io.dicom_geometry import plan_series
from workstation.io.dicom_scan import UNEXPECTED


def _reasons(result) -> dict[str, str]:
    return {p.path.name: p.reason for p in result.problems}


def _scan_traced(folder: Path) -> tuple[object, int]:
    """scan(folder) and the peak of the memory traced while it ran (bytes)."""
    tracemalloc.start()
    try:
        result = scan(folder)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _element(data: bytes, keyword: str) -> mutants.Element:
    tag = tag_for_keyword(keyword)
    return next(e for e in mutants.elements(data) if e.tag == tag)


def _with_vr(path: Path, keyword: str, vr: bytes, target: Path) -> Path:
    """A copy of ``path`` whose ``keyword`` element claims VR ``vr`` (same bytes, same length)."""
    data = bytearray(path.read_bytes())
    elem = _element(bytes(data), keyword)
    data[elem.header + 4: elem.header + 6] = vr
    target.write_bytes(bytes(data))
    return target


def _age(paths: list[Path], days: float = 30) -> None:
    """Make files look written ``days`` ago (an archive's originals predate their copies)."""
    stamp = time.time() - days * 86400
    for p in paths:
        os.utime(p, (stamp, stamp))


@pytest.fixture()
def series16(tmp_path: Path) -> tuple[Volume, list[Path]]:
    vol = cases.volume(shape=(16, 24, 24))
    paths = cases.write(vol, tmp_path / "z_original")
    _age(paths)
    return vol, paths


def test_a_duplicate_in_another_series_leaves_no_empty_series(tmp_path: Path, series16) -> None:
    """A copy of an instance under another Series Instance UID used to create an empty
    series first, and sorting it then raised out of the scan."""
    vol, paths = series16
    ds = pydicom.dcmread(paths[3])
    ds.SeriesInstanceUID = generate_uid()
    (tmp_path / "a_copy").mkdir()
    ds.save_as(tmp_path / "a_copy" / "copy.dcm", enforce_file_format=True)
    result = scan(tmp_path)
    (series,) = result.series
    assert series.n_frames == 16
    assert _reasons(result) == {"copy.dcm": "differs from another copy of the same instance (IM00004.dcm, kept); "
                                            "left out"}
    np.testing.assert_array_equal(load_series(series).array, vol.array)


WRONG_VRS = (b"FL", b"FD", b"UL", b"AT", b"SS", b"PN", b"ZZ", b"\x00\x00")


@pytest.mark.parametrize("keyword", mutants.VR_TARGETS)
def test_wrong_or_unknown_vr_is_read_by_the_dictionary_or_is_a_problem(tmp_path: Path, keyword: str) -> None:
    """pydicom converts values lazily: a wrong VR (SOPClassUID as FL, an unknown VR) used
    to raise out of scan() later.  Now the dictionary's VR reads the bytes, or the file
    is a problem of the file; scan() never raises."""
    vol = cases.volume(shape=(1, 8, 8))
    (path,) = cases.write(vol, tmp_path / "src", tags={"PatientID": "P1", "PatientName": "A^B", "PatientAge": "061Y",
                                                       "WindowCenter": 40, "WindowWidth": 400, "KVP": 120})
    if keyword not in pydicom.dcmread(path):
        pytest.skip(f"the written file has no {keyword}")
    for vr in WRONG_VRS:
        target = _with_vr(path, keyword, vr, tmp_path / f"bad-{vr.hex()}.dcm")
        result = scan(target)
        if result.problems:
            ((problem),) = result.problems
            assert problem.path == target and not problem.reason.startswith(UNEXPECTED), problem
        else:
            np.testing.assert_array_equal(load_series(result.series[0]).array, vol.array)
        target.unlink()


def test_patient_id_with_vr_fd_is_read_as_its_text(tmp_path: Path) -> None:
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path / "src",
                          tags={"PatientID": "QX7Z4418", "PatientName": "Vrtest^Ulla"})
    _with_vr(path, "PatientID", b"FD", tmp_path / "fd.dcm")
    (study,) = scan(tmp_path / "fd.dcm").studies
    assert study.patient_id == "QX7Z4418"


@pytest.mark.parametrize("bits", [24, 255, 65535, 64, 12])
def test_unsupported_bits_allocated_is_a_clear_problem(tmp_path: Path, bits: int) -> None:
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    ds = pydicom.dcmread(path)
    ds.BitsAllocated = bits
    ds.save_as(path, enforce_file_format=True)
    assert _reasons(scan(tmp_path)) == {path.name: f"BitsAllocated {bits} is not supported (1, 8, 16 or 32)"}


def test_bits_allocated_8_over_16_bit_data_is_rejected(tmp_path: Path) -> None:
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    ds = pydicom.dcmread(path)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.save_as(path, enforce_file_format=True)
    reason = _reasons(scan(tmp_path))[path.name]
    assert reason.startswith("pixel data holds 128 bytes but Rows x Columns x SamplesPerPixel x BitsAllocated "
                             "x frames give 64"), reason


@pytest.mark.parametrize("slope, intercept", [(1e308, -1024.0), (1.0, 1e308), (-1e35, 0.0)])
def test_rescale_beyond_float32_is_rejected(tmp_path: Path, slope: float, intercept: float) -> None:
    """RescaleSlope 1e308 made every voxel infinite, silently."""
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    ds = pydicom.dcmread(path)
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.save_as(path, enforce_file_format=True)
    assert "give values beyond the float32 range" in _reasons(scan(tmp_path))[path.name]


def test_nan_and_zero_rescale_slope_are_rejected(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(2, 8, 8)), tmp_path)
    for path, slope in zip(paths, ("NaN", 0)):
        ds = pydicom.dcmread(path)
        ds.RescaleSlope = slope
        ds.save_as(path, enforce_file_format=True)
    reasons = _reasons(scan(tmp_path))
    assert reasons == {paths[0].name: "RescaleSlope 'NaN' is not a finite number",
                       paths[1].name: "RescaleSlope 0 would make every value equal"}


@pytest.mark.parametrize("frames", [10**6, 2**31])
@pytest.mark.parametrize("sample", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"])
def test_huge_frame_counts_are_rejected_before_any_allocation(tmp_path: Path, sample: str, frames: int) -> None:
    """1e6 declared frames took 20 s and 880 MB before a MemoryError; 2^31 never finished."""
    ds = pydicom.dcmread(cases.data_file(sample))
    ds.NumberOfFrames = frames
    ds.save_as(tmp_path / "huge.dcm", enforce_file_format=True)
    size = (tmp_path / "huge.dcm").stat().st_size
    result, peak = _scan_traced(tmp_path)
    assert _reasons(result) == {"huge.dcm": f"NumberOfFrames is {frames} but the pixel data holds only 1 fragment(s)"}
    assert peak < 100 * size + 2**20


def test_declared_size_larger_than_the_codestream_is_rejected(tmp_path: Path) -> None:
    ds = pydicom.dcmread(cases.data_file("MR_small_jp2klossless.dcm"))
    ds.Rows = ds.Columns = 65535
    ds.save_as(tmp_path / "big.dcm", enforce_file_format=True)
    assert _reasons(scan(tmp_path)) == {"big.dcm": "the compressed frame is 64 x 64 with 1 component(s); "
                                                   "the header says 65535 x 65535 with 1"}


def test_fragment_running_past_the_end_is_rejected(tmp_path: Path) -> None:
    data = bytearray(Path(cases.data_file("MR_small_RLE.dcm")).read_bytes())
    start = _element(bytes(data), "PixelData").value
    first = struct.unpack("<I", data[start + 4: start + 8])[0]
    data[start + 12 + first: start + 16 + first] = struct.pack("<I", 0x7FFFFFF0)
    (tmp_path / "cut.dcm").write_bytes(bytes(data))
    assert _reasons(scan(tmp_path))["cut.dcm"].startswith("truncated compressed pixel data (a fragment of "
                                                          "2147483632 bytes")


def _corrupt_rle(path: Path) -> None:
    """Point an RLE frame's first segment past the end of its fragment: no decoder accepts it."""
    data = bytearray(path.read_bytes())
    start = _element(bytes(data), "PixelData").value
    bot = struct.unpack("<I", data[start + 4: start + 8])[0]
    frag = start + 8 + bot + 8
    data[frag + 4: frag + 8] = struct.pack("<I", 0xFFFFFF)
    path.write_bytes(bytes(data))


def test_one_undecodable_slice_costs_only_that_slice(tmp_path: Path) -> None:
    vol = cases.volume(shape=(6, 16, 16))
    paths = cases.write(vol, tmp_path)
    cases.recode(paths, RLELossless)
    _corrupt_rle(paths[4])
    (series,) = scan(tmp_path).series
    loaded = load_series(series)
    np.testing.assert_array_equal(loaded.array, vol.array[[0, 1, 2, 3, 5]])
    ((skipped, reason),) = loaded.meta["skipped_files"]
    assert skipped == str(paths[4]) and reason.startswith("cannot decode pixel data (RLE Lossless)")
    assert any(i.startswith("missing slices: gap of 5.00 mm after plane 3") for i in loaded.meta["issues"])


def test_damaged_copy_sorting_first_never_replaces_the_original(tmp_path: Path, series16) -> None:
    """Of two files with one SOP Instance UID, the one that decodes is kept."""
    vol, paths = series16
    (tmp_path / "a_copies").mkdir()
    damaged = tmp_path / "a_copies" / "damaged.dcm"
    ds = pydicom.dcmread(paths[5])
    ds.compress(RLELossless, generate_instance_uid=False)
    ds.save_as(damaged, enforce_file_format=True)
    _corrupt_rle(damaged)
    result = scan(tmp_path)
    (series,) = result.series
    assert _reasons(result)["damaged.dcm"].startswith(
        "damaged copy of an instance also in IM00006.dcm (cannot decode pixel data (RLE Lossless)")
    np.testing.assert_array_equal(load_series(series).array, vol.array)


def test_differing_copy_loses_to_the_older_original_and_says_so(tmp_path: Path, series16) -> None:
    vol, paths = series16
    (tmp_path / "a_copies").mkdir()
    flipped = tmp_path / "a_copies" / "flipped.dcm"
    data = bytearray(paths[7].read_bytes())
    data[-100] ^= 0x10  # one bit of one pixel: the copy reads and decodes, and differs
    flipped.write_bytes(bytes(data))
    result = scan(tmp_path)
    (series,) = result.series
    assert _reasons(result) == {"flipped.dcm": "differs from another copy of the same instance (IM00008.dcm, "
                                               "kept); left out"}
    assert "2 differing copies of one instance: kept IM00008.dcm, left out the other(s) (see the load report)" \
        in series.issues
    np.testing.assert_array_equal(load_series(series).array, vol.array)


BAD_ORIENTATIONS = {
    "zero": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "parallel": (1.0, 0.0, 0.0, 1.0, 0.0, 0.0),
    "huge": (1e308, 1e308, 0.0, 0.0, 1e308, 0.0),
    "tiny": (1e-320, 0.0, 0.0, 0.0, 1e-320, 0.0),
    "sheared": (1.0, 0.0, 0.0, 0.7, 0.7, 0.0),
    "nan": (float("nan"),) * 6,
}


@pytest.mark.parametrize("name", sorted(BAD_ORIENTATIONS))
def test_degenerate_orientation_gives_an_issue_without_dividing_by_zero(name: str) -> None:
    frames = [FrameRef(path=Path(f"f{i}"), sop_instance_uid=f"1.{i}", position=(0.0, 0.0, 2.0 * i),
                       orientation=BAD_ORIENTATIONS[name], rows=8, columns=8, pixel_spacing=(0.5, 0.5),
                       instance_number=i + 1) for i in range(4)]
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        plan = plan_series(frames)
    assert plan.issues[0].startswith("ImageOrientationPatient unusable in 4 plane(s)")
    assert np.all(np.isfinite(plan.direction)) and abs(np.linalg.det(plan.direction)) == pytest.approx(1.0)
    assert [f.instance_number for f in plan.frames] == [1, 2, 3, 4]


def test_one_plane_with_a_degenerate_orientation_is_left_out_of_the_series(tmp_path: Path) -> None:
    vol = cases.volume(shape=(5, 8, 8))
    paths = cases.write(vol, tmp_path)
    ds = pydicom.dcmread(paths[2])
    ds.ImageOrientationPatient = [1, 0, 0, 1, 0, 0]
    ds.save_as(paths[2], enforce_file_format=True)
    loaded = load(tmp_path)
    np.testing.assert_array_equal(loaded.array, vol.array[[0, 1, 3, 4]])
    assert "ImageOrientationPatient unusable in 1 plane(s) (zero, parallel, non-unit or non-finite direction " \
           "cosines)" in loaded.meta["issues"]


@pytest.mark.parametrize("keyword, value, reason", [
    ("ImageOrientationPatient", ["NaN"] * 6, "ImageOrientationPatient is not 6 finite numbers"),
    ("ImagePositionPatient", [0, "inf", 0], "ImagePositionPatient is not 3 finite numbers"),
    ("ImagePositionPatient", "100", "ImagePositionPatient is not 3 finite numbers"),  # not (1, 0, 0)
])
def test_non_finite_geometry_is_a_problem_of_the_file(tmp_path: Path, keyword: str, value: list | str,
                                                      reason: str) -> None:
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    ds = pydicom.dcmread(path)
    setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    assert _reasons(scan(tmp_path)) == {path.name: reason}


def test_volume_refuses_a_singular_or_non_finite_direction() -> None:
    array = np.zeros((2, 2, 2), dtype=np.int16)
    for bad in (np.zeros((3, 3)), np.array([[1, 1, 0], [0, 0, 0], [0, 0, 1.0]]), np.full((3, 3), np.nan)):
        with pytest.raises(ValueError, match="direction must be finite with independent axes"):
            Volume(array, direction=bad)


def test_corrupt_length_in_the_file_meta_allocates_nothing_large(tmp_path: Path) -> None:
    """A meta element claiming 2 GB: pydicom would allocate it before reading."""
    (path,) = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    data = bytearray(path.read_bytes())
    elem = _element(bytes(data), "ImplementationClassUID")
    data[elem.header + 6: elem.header + 8] = b"\x00\x00"
    data[elem.header + 4: elem.header + 6] = b"UN"  # UN carries a 4-byte length after 2 reserved bytes
    data[elem.header + 8: elem.header + 8] = struct.pack("<I", 0x7FFFFFF0)
    path.write_bytes(bytes(data))
    result, peak = _scan_traced(tmp_path)
    assert list(_reasons(result)) == [path.name]
    assert peak < 2**22


def test_dicomdir_never_leads_outside_its_folder(tmp_path: Path) -> None:
    media = tmp_path / "media"
    shutil.copytree(Path(cases.data_file("CT_small.dcm")).parent / "dicomdirtests", media)
    ds = pydicom.dcmread(media / "DICOMDIR")
    record = next(r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r)
    record.ReferencedFileID = ["..", "..", "etc", "passwd"]
    ds.save_as(media / "DICOMDIR")
    result = scan(media / "DICOMDIR")
    seen = {p.path for p in result.problems} | {f.path for s in result.series for f in s.frames}
    assert all(str(p.resolve()).startswith(str(media.resolve())) for p in seen)


def test_load_raises_only_documented_errors_for_an_unloadable_series(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(2, 8, 8)), tmp_path)
    (series,) = scan(tmp_path).series
    for p in paths:
        p.write_bytes(b"gone")
    with pytest.raises(DicomReadError):
        load_series(series)


def test_dynamic_series_with_one_unreadable_plane_keeps_the_complete_time_points(tmp_path: Path) -> None:
    from workstation.core.volume import VolumeSeries
    from workstation.io.dicom import load_time_series
    from workstation.io.dicom_write import write_time_series

    vol = cases.volume(shape=(4, 8, 8))
    frames = [vol.with_array((vol.array + 7 * t).astype(np.int16)) for t in range(3)]
    paths = write_time_series(VolumeSeries(tuple(frames), (0.0, 2.0, 4.0)), tmp_path, slope=1.0, intercept=-1024.0)
    (series,) = scan(tmp_path).series
    cases.truncate(paths[-1], keep_pixel_bytes=10)  # the last plane of the last time point
    loaded = load_time_series(series)
    assert loaded.times == (0.0, 2.0)
    for got, want in zip(loaded.volumes, frames):
        np.testing.assert_array_equal(got.array, want.array)
    assert [Path(p).name for p, _ in loaded.meta["skipped_files"]] == [paths[-1].name]
    assert any(i.startswith("incomplete dynamic series") for i in loaded.meta["issues"])
