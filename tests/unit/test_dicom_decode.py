"""Pixel decoding: transfer syntaxes, multi-frame objects, rescale, faults."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from pydicom.uid import DeflatedExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

import dicom_cases as cases
from workstation.io.dicom import DicomReadError, load, load_series, scan


def _reference(name: str) -> np.ndarray:
    ds = pydicom.dcmread(cases.data_file(name))
    return apply_modality_lut(ds.pixel_array, ds)


@pytest.mark.parametrize("name", [
    "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
    "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm", "MR_small_padded.dcm",
])
def test_lossless_syntaxes_equal_uncompressed_mr(name: str) -> None:
    expected = pydicom.dcmread(cases.data_file("MR_small.dcm")).pixel_array
    loaded = load(cases.data_file(name))
    assert loaded.shape == (1, 64, 64) and loaded.array.dtype == np.int16
    np.testing.assert_array_equal(loaded.array[0], expected)


def test_ct_small_in_hounsfield_units() -> None:
    loaded = load(cases.data_file("CT_small.dcm"))
    np.testing.assert_array_equal(loaded.array[0], _reference("CT_small.dcm"))
    assert loaded.array.dtype == np.int16 and loaded.meta["rescale_applied"] is True
    assert loaded.meta["modality"] == "CT" and loaded.meta["kvp"] == 120.0
    assert loaded.spacing[1:] == (0.661468, 0.661468)


@pytest.mark.parametrize("compressed, twin, max_mean_abs", [
    ("JPEG2000.dcm", "JPEG2000_UNC.dcm", 1.0),       # JPEG 2000 vs its uncompressed source
    ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb.dcm", 3.0),     # JPEG baseline (lossy) RGB -> luminance
    ("SC_rgb_rle.dcm", "SC_rgb.dcm", 0.0),            # RLE RGB, lossless
    ("JPEG-LL.dcm", None, None),                      # JPEG lossless process 14
    ("JPGLosslessP14SV1_1s_1f_8b.dcm", None, None),
])
def test_compressed_samples_decode(compressed: str, twin: str | None, max_mean_abs: float | None) -> None:
    loaded = load(cases.data_file(compressed))
    ds = pydicom.dcmread(cases.data_file(compressed), stop_before_pixels=True)
    assert loaded.shape == (1, ds.Rows, ds.Columns)
    assert np.ptp(loaded.array) > 10  # an image, not a constant
    if twin is not None:
        reference = load(cases.data_file(twin)).array.astype(float)
        assert np.abs(loaded.array - reference).mean() <= max_mean_abs


def test_deflated_sample_matches_pydicom() -> None:
    loaded = load(cases.data_file("image_dfl.dcm"))
    np.testing.assert_array_equal(loaded.array[0], _reference("image_dfl.dcm"))


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless, DeflatedExplicitVRLittleEndian])
def test_written_series_in_each_lossless_syntax(tmp_path: Path, syntax: str) -> None:
    if syntax == JPEGLSLossless:
        pytest.importorskip("jpeg_ls", reason="JPEG-LS encoding needs pyjpegls")
    vol = cases.volume(shape=(4, 32, 32))  # JPEG 2000 needs 32 pixels for its default resolutions
    paths = cases.write(vol, tmp_path)
    cases.recode(paths, syntax)
    assert pydicom.dcmread(paths[0], stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    loaded = load(tmp_path)
    np.testing.assert_array_equal(loaded.array, vol.array)


def test_enhanced_ct_written_with_frames_out_of_order(tmp_path: Path) -> None:
    vol = cases.volume(shape=(6, 16, 16), direction=cases.rotation((0, 0, 1), 10.0))
    cases.enhanced_ct(vol, tmp_path / "ect", order=[3, 0, 5, 1, 4, 2])
    (series,) = scan(tmp_path).series
    assert series.n_frames == 6 and {f.frame for f in series.frames} == set(range(6))
    loaded = load_series(series)
    np.testing.assert_array_equal(loaded.array, vol.array)
    assert loaded.array.dtype == np.int16
    np.testing.assert_allclose(loaded.direction, vol.direction, atol=1e-6)
    np.testing.assert_allclose(loaded.origin, vol.origin, atol=1e-4)
    np.testing.assert_allclose(loaded.spacing, vol.spacing, rtol=1e-6)


def test_enhanced_mr_samples_agree_across_syntaxes() -> None:
    base = load(cases.data_file("emri_small.dcm"))
    assert base.shape == (10, 64, 64)
    expected = pydicom.dcmread(cases.data_file("emri_small.dcm")).pixel_array
    np.testing.assert_array_equal(base.array, expected)
    for name in ("emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm", "emri_small_jpeg_2k_lossless.dcm",
                 "emri_small_big_endian.dcm"):
        np.testing.assert_array_equal(load(cases.data_file(name)).array, base.array, err_msg=name)


def test_enhanced_ct_sample_rescale_from_functional_groups() -> None:
    loaded = load(cases.data_file("eCT_Supplemental.dcm"))
    ds = pydicom.dcmread(cases.data_file("eCT_Supplemental.dcm"))
    assert loaded.shape == (2, 512, 512)
    iop = np.asarray(ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])  # (0, 0, -1) here: z index runs head to feet
    positions = [np.dot(np.asarray(f.PlanePositionSequence[0].ImagePositionPatient, float), normal)
                 for f in ds.PerFrameFunctionalGroupsSequence]
    order = np.argsort(positions)
    assert list(order) != list(range(len(order)))  # this file stores its frames in the other order
    np.testing.assert_array_equal(loaded.array, ds.pixel_array[order].astype(int) - 1024)
    assert loaded.meta["window_center"] == 49.0 and loaded.meta["rescale_applied"]


def test_rt_dose_grid_scaling_gives_float_gray() -> None:
    loaded = load(cases.data_file("rtdose.dcm"))
    ds = pydicom.dcmread(cases.data_file("rtdose.dcm"))
    assert loaded.array.dtype == np.float32 and loaded.shape == (15, 10, 10)
    offsets = np.asarray(ds.GridFrameOffsetVector, dtype=float)
    expected = ds.pixel_array[np.argsort(offsets)] * float(ds.DoseGridScaling)
    np.testing.assert_allclose(loaded.array, expected, rtol=1e-6)
    assert loaded.spacing[0] == pytest.approx(float(np.median(np.diff(np.sort(offsets)))))


def test_non_integral_slope_gives_float32(tmp_path: Path) -> None:
    vol = cases.volume(shape=(3, 8, 8))
    cases.write(vol, tmp_path, slope=0.5, intercept=-1024.0)
    loaded = load(tmp_path)
    assert loaded.array.dtype == np.float32
    np.testing.assert_allclose(loaded.array, vol.array, atol=0.25)


def test_unsigned_stored_values_with_intercept_stay_int16(tmp_path: Path) -> None:
    vol = cases.volume(shape=(3, 8, 8))
    cases.enhanced_ct(vol, tmp_path / "u16")  # stored uint16 = HU + 1024
    loaded = load(tmp_path)
    assert loaded.array.dtype == np.int16
    np.testing.assert_array_equal(loaded.array, vol.array)


def test_twelve_bit_signed_values_sign_extended_like_pydicom(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(1, 8, 8)), tmp_path)
    ds = pydicom.dcmread(paths[0])
    raw = np.arange(-32, 32, dtype=np.int16).reshape(8, 8) * 60  # within 12-bit signed range
    garbage = (raw.view(np.uint16) & 0x0FFF) | 0x5000  # high bits set to junk
    ds.BitsStored, ds.HighBit, ds.RescaleIntercept = 12, 11, 0
    ds.PixelData = garbage.astype(np.uint16).tobytes()
    ds.save_as(paths[0], enforce_file_format=True)
    loaded = load(tmp_path)
    np.testing.assert_array_equal(loaded.array[0], raw)
    np.testing.assert_array_equal(loaded.array[0], pydicom.dcmread(paths[0]).pixel_array)


def test_threads_and_single_thread_agree(tmp_path: Path) -> None:
    vol = cases.volume(shape=(9, 16, 16))
    cases.write(vol, tmp_path)
    (series,) = scan(tmp_path).series
    one = load_series(series, workers=1).array
    two = load_series(series, workers=2).array
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, vol.array)


def test_file_truncated_after_scan_leaves_a_gap_and_names_file_and_sizes(tmp_path: Path) -> None:
    """One unreadable slice costs that slice only: the others load in place, the gap is an issue."""
    vol = cases.volume(shape=(5, 16, 16))
    paths = cases.write(vol, tmp_path)
    (series,) = scan(tmp_path).series
    cases.truncate(paths[2], keep_pixel_bytes=200)
    loaded = load_series(series)
    np.testing.assert_array_equal(loaded.array, vol.array[[0, 1, 3, 4]])
    assert loaded.origin == pytest.approx(vol.origin)
    reason = "truncated pixel data (expected 512 bytes, found 200)"
    assert loaded.meta["skipped_files"] == [(str(paths[2]), reason)]
    issues = loaded.meta["issues"]
    assert any(i.startswith("missing slices: gap of 5.00 mm after plane 1") for i in issues), issues
    assert f"1 file(s) left out, their pixels could not be read ({paths[2].name}: {reason})" in issues
    for p in paths:
        cases.truncate(p, keep_pixel_bytes=10)
    with pytest.raises(DicomReadError, match=r"truncated pixel data \(expected 512 bytes, found 10\)"):
        load_series(series)


def test_undecodable_pixels_name_the_file(tmp_path: Path) -> None:
    shutil.copy(cases.data_file("JPEG-lossy.dcm"), tmp_path / "lossy12.dcm")
    with pytest.raises(DicomReadError, match=r"^lossy12\.dcm: cannot decode pixel data \(JPEG Extended"):
        load(tmp_path)


def test_load_errors_for_no_series_and_several(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(DicomReadError, match=r"no readable image series found \(not a DICOM file\)"):
        load(tmp_path)
    cases.write(cases.volume(shape=(2, 8, 8)), tmp_path / "a")
    cases.write(cases.volume(shape=(2, 8, 8)), tmp_path / "b")
    with pytest.raises(DicomReadError, match="holds 2 image series"):
        load(tmp_path)


def test_volume_meta_keys(tmp_path: Path) -> None:
    cases.write(cases.volume(shape=(2, 8, 8)), tmp_path, tags={
        "PatientAge": "061Y", "PatientSex": "F", "StudyDate": "20240131", "KVP": 120,
        "ConvolutionKernel": "B30f", "Manufacturer": "ACME", "WindowCenter": 40, "WindowWidth": 400})
    meta = load(tmp_path).meta
    assert {k: meta[k] for k in ("modality", "kvp", "convolution_kernel", "manufacturer", "patient_age_years",
                                 "patient_sex", "study_date", "window_center", "window_width", "slice_thickness",
                                 "rescale_applied", "issues")} == {
        "modality": "CT", "kvp": 120.0, "convolution_kernel": "B30f", "manufacturer": "ACME",
        "patient_age_years": 61.0, "patient_sex": "F", "study_date": "2024-01-31", "window_center": 40.0,
        "window_width": 400.0, "slice_thickness": 2.5, "rescale_applied": True, "issues": []}
    assert meta["series_uid"] and meta["study_uid"]
