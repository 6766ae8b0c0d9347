"""How series read: projection images, stacks of planes, cine loops, colour; on files others wrote.

The references are independent of the loader: pixel values and lookup tables read
straight from the files with pydicom (the palette indexed by hand), header values
read with pydicom, the DICOMDIR's planes counted from its own records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_cases import data_file

from workstation.core.images import ImageFacts, opposite
from workstation.io.dicom import scan
from workstation.io.dicom_display import direction_letters, facts_from_dataset
from workstation.io.dicom_images import load_display_volume, load_images, reading_kind

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _series(path: Path | str, modality: str = ""):  # type: ignore[no-untyped-def]
    result = scan(Path(path))
    found = [s for s in result.series if not modality or s.modality == modality]
    assert found, result.problems
    return max(found, key=lambda s: s.n_frames)


def test_dicomdir_radial_planes_open_as_seven_images_not_one() -> None:
    """The DICOMDIR's largest series holds 7 planes in 7 orientations: every one is shown."""
    series = _series(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR", "MR")
    assert series.n_frames == 7 and reading_kind(series) == "images"
    stack = load_images(series)
    assert len(stack.images) == 7 and all(im.n_frames == 1 for im in stack.images)
    assert stack.issues[0].startswith("planes in 7 orientations")
    for image in stack.images:
        path = image.volume.meta["source_files"][0]
        ds = pydicom.dcmread(path)
        cosines = [float(v) for v in ds.ImageOrientationPatient]
        np.testing.assert_allclose(image.volume.direction[:, 0], cosines[:3], atol=1e-4)  # normalised
        np.testing.assert_array_equal(image.volume.array[0], ds.pixel_array * float(getattr(ds, "RescaleSlope", 1))
                                      + float(getattr(ds, "RescaleIntercept", 0)))
        assert image.facts.patient_orientation == (direction_letters(cosines[:3]), direction_letters(cosines[3:]))


def test_localizers_keep_every_plane() -> None:
    """Three-plane localizers (axial, coronal, sagittal) are three images, none left out."""
    result = scan(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR")
    localizers = [s for s in result.series if s.modality == "MR" and s.n_frames == 3]
    assert localizers
    for series in localizers:
        stack = load_images(series)
        assert len(stack.images) == 3
        letters = {im.facts.patient_orientation for im in stack.images}
        assert len(letters) == 3  # three different planes


def test_volumes_and_projections_are_told_apart() -> None:
    result = scan(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR")
    kinds = {(s.modality, s.n_frames): reading_kind(s) for s in result.series}
    assert kinds[("CT", 5)] == "volume" and kinds[("CR", 1)] == "images"
    assert reading_kind(_series(PYDICOM_FILES / "rtdose.dcm")) == "volume"


def test_ultrasound_cine_in_colour_at_the_header_frame_rate() -> None:
    path = PYDICOM_FILES / "examples_ybr_color.dcm"
    stack = load_images(_series(path))
    (image,) = stack.images
    ds = pydicom.dcmread(path)
    assert image.n_frames == int(ds.NumberOfFrames) == 30
    assert image.facts.frame_time_s == pytest.approx(float(ds.FrameTime) / 1000.0)
    from pydicom.pixels import convert_color_space, pixel_array

    assert ds.PhotometricInterpretation == "YBR_FULL_422" and image.volume.rgb is not None
    assert image.volume.rgb.shape == (30, 240, 320, 3)
    ybr = pixel_array(str(path), as_rgb=False)  # the stored YCbCr, converted here by the standard's matrix
    expected = convert_color_space(ybr, "YBR_FULL", "RGB")
    assert np.abs(image.volume.rgb.astype(int) - expected.astype(int)).max() <= 1


def test_palette_colour_indexed_by_hand() -> None:
    path = PYDICOM_FILES / "examples_palette.dcm"
    (image,) = load_images(_series(path)).images
    ds = pydicom.dcmread(path)
    n, first, bits = (int(v) for v in ds.RedPaletteColorLookupTableDescriptor)
    luts = [np.frombuffer(getattr(ds, f"{c}PaletteColorLookupTableData"), dtype="<u2") for c in ("Red", "Green", "Blue")]
    index = np.clip(ds.pixel_array.astype(int) - first, 0, (n or 65536) - 1)
    expected = np.stack([np.rint(lut[index] * 255.0 / 65535.0) for lut in luts], axis=-1)
    assert bits == 16 and image.volume.rgb is not None
    assert np.abs(image.volume.rgb[0].astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(image.volume.array[0], ds.pixel_array)  # the indices stay for analyses


def test_sixteen_bit_rgb_is_scaled_to_eight_bits() -> None:
    path = PYDICOM_FILES / "SC_rgb_rle_16bit.dcm"
    (image,) = load_images(_series(path)).images
    expected = np.rint(pydicom.dcmread(path).pixel_array.astype(float) * 255.0 / 65535.0)
    assert image.volume.rgb is not None and np.abs(image.volume.rgb[0] - expected).max() <= 1


def test_enhanced_ct_supplemental_palette_in_physical_units() -> None:
    path = Path(data_file("eCT_Supplemental.dcm"))
    volume = load_display_volume(_series(path))
    palette = volume.meta["supplemental_palette"]
    ds = pydicom.dcmread(path)
    n, first, _bits = (int(v) for v in ds.RedPaletteColorLookupTableDescriptor)
    red = np.frombuffer(ds.RedPaletteColorLookupTableData, dtype="<u2")
    assert volume.rgb is None and len(palette["lut"]) == n == len(red)
    # stored 1024 is 0 HU after the rescale of the per-frame functional groups (intercept -1024)
    assert palette["first"] == pytest.approx(first - 1024.0) and palette["step"] == 1.0
    np.testing.assert_array_equal(palette["lut"][:, 0], np.rint(red * 255.0 / 65535.0).astype(np.uint8))


def test_radiograph_facts_from_its_header() -> None:
    """pydicom-data's large CR: orientation letters, view and MONOCHROME1 from the header."""
    path = Path(data_file("RG1_UNCI.dcm"))
    (image,) = load_images(_series(path)).images
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert image.facts.patient_orientation == tuple(str(v) for v in ds.PatientOrientation)
    assert image.facts.view_position == str(ds.ViewPosition) and image.facts.photometric == "MONOCHROME1"
    assert image.volume.meta["photometric"] == "MONOCHROME1"
    assert image.facts.pixel_spacing_mm is None  # no spacing in the header: no true size


def test_true_size_spacing_rules() -> None:
    ds = pydicom.Dataset()
    ds.ImagerPixelSpacing = [0.1, 0.1]
    ds.EstimatedRadiographicMagnificationFactor = 1.25
    facts = facts_from_dataset(ds)
    assert facts.pixel_spacing_mm == pytest.approx((0.08, 0.08)) and "magnification" in facts.spacing_source
    ds.PixelSpacing = [0.09, 0.07]
    assert facts_from_dataset(ds).pixel_spacing_mm == (0.09, 0.07)
    assert facts_from_dataset(pydicom.Dataset()).pixel_spacing_mm is None


def test_mammograms_are_mirrored_to_face_each_other() -> None:
    def facts(laterality: str, row: str) -> ImageFacts:
        return ImageFacts(modality="MG", laterality=laterality, patient_orientation=(row, "F"))

    # right breast: chest wall wanted at its right edge; stored with the chest wall left (A) -> mirror
    assert facts("R", "A").hanging_mirror and not facts("R", "P").hanging_mirror
    assert facts("L", "P").hanging_mirror and not facts("L", "A").hanging_mirror
    assert not ImageFacts(modality="CR", laterality="R", patient_orientation=("A", "F")).hanging_mirror
    labels = facts("R", "A").edge_labels(mirrored=True)
    assert labels == {"right": "P", "left": "A", "bottom": "F", "top": "H"} and opposite("AFL") == "PHR"


def test_mammography_demo_views_and_orientation(tmp_path: Path) -> None:
    from workstation.demo.mammo import ensure_demo_mammo

    folder = ensure_demo_mammo(tmp_path / "mg")
    stack = load_images(_series(folder))
    keys = [im.facts.view_key for im in stack.images]
    assert sorted(keys) == ["L-CC", "L-MLO", "R-CC", "R-MLO"]
    for image in stack.images:
        ds = pydicom.dcmread(image.volume.meta["source_files"][0], stop_before_pixels=True)
        assert image.facts.patient_orientation == tuple(str(v) for v in ds.PatientOrientation)
        assert image.facts.pixel_spacing_mm == tuple(float(v) for v in ds.PixelSpacing)
