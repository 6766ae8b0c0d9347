"""The beating-heart phantom: exact volumes, its cine, and its DICOM (single-frame and Enhanced MR)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicom_validation import assert_valid_dicom
from workstation.demo import cardiac_geometry as geo
from workstation.demo.cardiac_dicom import write_cine, write_enhanced_cine
from workstation.demo.cardiac_phantom import generate_cine
from workstation.io.dicom import load_time_series, scan


def _raster_volumes(shape: geo.Shape, step: float) -> dict[int, float]:
    """Volumes counted on a regular grid of points (an independent, slow reference)."""
    g = np.arange(-95.0, 95.0, step) + 0.5 * step
    x, y = np.meshgrid(g, g)
    out = {geo.LV_BLOOD: 0.0, geo.LV_MYO: 0.0, geo.RV_BLOOD: 0.0}
    for u in np.arange(-60.0, shape.p.length_ed + 20.0, step) + 0.5 * step:
        c = geo.classify(shape, x, y, np.full_like(x, u))
        c[c == geo.PAPILLARY] = geo.LV_BLOOD
        for k in out:
            out[k] += np.count_nonzero(c == k) * step ** 3 / 1000.0
    return out


@pytest.mark.parametrize("s", [0.0, 1.0])
def test_exact_volumes_match_counting_points(s: float) -> None:
    shape = geo.Shape(geo.sample_params(np.random.default_rng(3), hypokinesis=True), s)
    exact, counted = geo.volumes_ml(shape), _raster_volumes(shape, 1.0)
    for k in exact:
        assert exact[k] == pytest.approx(counted[k], rel=0.01), (k, exact[k], counted[k])


def test_contraction_goes_from_end_diastole_to_end_systole_and_back() -> None:
    phase = np.linspace(0.0, 1.0, 401)
    s = geo.contraction(phase, 0.33)
    assert s[0] == pytest.approx(0.0) and s[-1] == pytest.approx(0.0, abs=1e-9)
    assert float(s.max()) == pytest.approx(1.0) and abs(phase[int(np.argmax(s))] - 0.33) < 0.005
    assert np.all(np.abs(np.diff(s)) < 0.05)  # no jumps
    assert np.all(np.diff(s[phase <= 0.33]) >= 0)  # systole contracts monotonically


def test_wall_thickens_and_the_myocardium_keeps_its_volume() -> None:
    p = geo.HeartParams()
    ed, es = geo.volumes_ml(geo.Shape(p, 0.0)), geo.volumes_ml(geo.Shape(p, 1.0))
    assert p.wall_es > 1.3 * p.wall_ed
    assert es[geo.LV_MYO] == pytest.approx(ed[geo.LV_MYO], rel=0.06)
    assert ed[geo.LV_BLOOD] > 2 * es[geo.LV_BLOOD]


def test_hypokinetic_sector_thickens_less() -> None:
    p = geo.HeartParams(hypokinesis=0.8)
    shape = geo.Shape(p, 1.0)
    centre = np.deg2rad(p.rv_angle_deg + p.hypokinesis_angle_deg)
    assert shape.wall(centre) - p.wall_ed == pytest.approx(0.2 * (p.wall_es - p.wall_ed), rel=1e-6)
    assert shape.wall(centre + np.pi) == pytest.approx(p.wall_es)


@pytest.fixture(scope="module")
def small_case() -> object:
    return generate_cine(41, n_slices=6, n_phases=5, rows=80, cols=72, pixel_mm=3.2, thickness_mm=9.0, gap_mm=3.0)


def test_cine_labels_follow_the_truth(small_case) -> None:  # type: ignore[no-untyped-def]
    case = small_case
    assert case.images.shape == case.labels.shape == (5, 6, 80, 72)
    assert case.ed_phase == 0 and 0 < case.es_phase < 5
    px = case.pixel_mm ** 2 * case.spacing_mm / 1000.0
    lv = (case.labels == geo.LV_BLOOD).sum(axis=(1, 2, 3)) * px  # summation of discs of the true labels
    # discs through 12 mm spacing at 3.2 mm pixels: the truth within 12 %
    np.testing.assert_allclose(lv, case.truth_ml["lv"], rtol=0.12)
    blood = case.images[case.labels == geo.LV_BLOOD].mean()
    myo = case.images[case.labels == geo.LV_MYO].mean()
    assert blood > 2.5 * myo  # SSFP: bright blood, grey myocardium
    assert case.meta["noise_sigma"] > 0


def test_single_frame_cine_is_valid_mr_and_loads_phase_by_phase(small_case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = small_case
    paths = write_cine(case, tmp_path)
    assert len(paths) == 30
    assert_valid_dicom([paths[0], paths[-1]])
    ds = pydicom.dcmread(paths[7])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4" and ds.CardiacNumberOfImages == 5
    assert float(ds.TriggerTime) == pytest.approx(case.trigger_ms[int(ds.TemporalPositionIdentifier) - 1], abs=1e-3)
    series = scan(tmp_path).studies[0].series[0]
    loaded = load_time_series(series, clock="trigger")
    assert loaded.as_array().shape == (5, 6, 80, 72)
    np.testing.assert_array_equal(loaded.as_array(), np.clip(np.rint(case.images), 0, 4095))
    np.testing.assert_allclose(loaded.times, np.asarray(case.trigger_ms) / 1000.0, atol=1e-6)
    assert loaded.meta["heart_rate_bpm"] == round(case.heart_rate_bpm)
    assert loaded.meta["patient_height_m"] == 1.78 and loaded.meta["patient_weight_kg"] == 80
    assert not loaded.meta["issues"]
    np.testing.assert_allclose(loaded.reference.direction, case.direction, atol=1e-6)


def test_enhanced_cine_is_valid_and_loads_as_the_single_frame_one(small_case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = small_case
    path = write_enhanced_cine(case, tmp_path / "enhanced")
    assert_valid_dicom([path])
    assert pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames == 30
    loaded = load_time_series(scan(tmp_path / "enhanced").studies[0].series[0], clock="trigger")
    np.testing.assert_array_equal(loaded.as_array(), np.clip(np.rint(case.images), 0, 4095))
    np.testing.assert_allclose(loaded.times, np.asarray(case.trigger_ms) / 1000.0, atol=1e-6)
    assert loaded.meta["heart_rate_bpm"] == pytest.approx(case.heart_rate_bpm, abs=0.5)
    assert loaded.meta["nominal_interval_ms"] == pytest.approx(case.rr_ms, rel=1e-6)


def test_phases_without_trigger_times_follow_the_temporal_position(small_case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = small_case
    for path in write_cine(case, tmp_path, with_trigger=False):  # file names and instance order scrambled
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = 1000 - int(ds.InstanceNumber)
        ds.save_as(tmp_path / f"x{ds.SOPInstanceUID[-12:]}.dcm")
        path.unlink()
    loaded = load_time_series(scan(tmp_path).studies[0].series[0], clock="trigger")
    np.testing.assert_array_equal(loaded.as_array(), np.clip(np.rint(case.images), 0, 4095))
    assert any("no usable times" in i for i in loaded.meta["issues"])
    assert loaded.meta["heart_rate_bpm"] is None
