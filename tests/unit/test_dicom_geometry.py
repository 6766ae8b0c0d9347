"""Sorting planes along the slice normal and the geometry checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom
import pytest

import dicom_cases as cases
from workstation.core.study import FrameRef
from workstation.io.dicom import load, load_series, scan
from workstation.io.dicom_geometry import plan_series

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _frames(zs, *, orientation=AXIAL, x_shift=None, sizes=None, times=None) -> list[FrameRef]:
    out = []
    for i, z in enumerate(zs):
        x = 0.0 if x_shift is None else x_shift * i
        rows, cols = (sizes[i] if sizes else (8, 8))
        out.append(FrameRef(path=Path(f"f{i}"), sop_instance_uid=f"1.{i}", position=(x, 0.0, float(z)),
                            orientation=orientation, rows=rows, columns=cols, pixel_spacing=(0.5, 0.6),
                            instance_number=len(zs) - i, time_s=None if times is None else times[i]))
    return out


def test_sorts_by_position_not_instance_number() -> None:
    zs = [5.0, -2.5, 0.0, 2.5, 7.5]
    plan = plan_series(_frames(zs))
    assert [f.position[2] for f in plan.frames] == sorted(zs)
    assert plan.spacing == (2.5, 0.5, 0.6)
    assert plan.origin == (0.0, 0.0, -2.5)
    assert plan.issues == ()
    np.testing.assert_allclose(plan.direction, np.eye(3))


def test_missing_slice_keeps_median_step_and_reports_gap() -> None:
    plan = plan_series(_frames([0, 2, 4, 10, 12, 14]))
    assert plan.spacing[0] == 2.0
    (issue,) = plan.issues
    assert issue.startswith("missing slices: gap of 6.00 mm after plane 2") and "about 2 slice(s)" in issue


def test_uneven_spacing_reported_above_one_percent() -> None:
    assert plan_series(_frames([0, 1.0, 2.005, 3.0])).issues == ()  # 0.5 % spread
    (issue,) = plan_series(_frames([0, 1.0, 2.03, 3.0])).issues
    assert issue.startswith("uneven spacing")


def test_gantry_tilt_angle_reported() -> None:
    step, shift = 2.0, 2.0 * np.tan(np.radians(15.0))
    plan = plan_series(_frames([0, 2, 4, 6], x_shift=shift))
    (issue,) = plan.issues
    angle = float(re.search(r"gantry tilt: ([0-9.]+) degrees", issue).group(1))
    assert angle == pytest.approx(15.0, abs=0.01)
    assert plan.spacing[0] == step  # distance between planes along their normal


def test_mixed_sizes_keep_the_majority() -> None:
    plan = plan_series(_frames([0, 1, 2, 3], sizes=[(8, 8), (8, 8), (4, 4), (8, 8)]))
    assert len(plan.frames) == 3 and all(f.rows == 8 for f in plan.frames)
    assert plan.issues[0].startswith("mixed image sizes: kept 3 of 4 planes (8x8); left out 4x4 x1")


def test_mixed_orientations_keep_the_majority() -> None:
    frames = _frames([0, 1, 2]) + _frames([0], orientation=(1.0, 0, 0, 0, 0, -1.0))
    plan = plan_series(frames)
    assert len(plan.frames) == 3
    assert plan.issues[0].startswith("mixed orientations: kept 3 of 4")


def test_duplicate_positions_without_time_are_reported() -> None:
    plan = plan_series(_frames([0, 1, 1, 2]))
    assert [f.position[2] for f in plan.frames] == [0, 1, 2]
    assert plan.issues == ("duplicate positions: 1 plane(s) share a position with another; the first is used",)


def test_reversed_normal_direction_still_increases_along_z() -> None:
    """Row (-1, 0, 0) x column (0, 0, -1) = normal (0, -1, 0): z index runs towards -y."""
    coronal = (-1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
    frames = [FrameRef(path=Path(f"c{i}"), sop_instance_uid=str(i), position=(0.0, y, 0.0), orientation=coronal,
                       rows=4, columns=4, pixel_spacing=(1.0, 1.0)) for i, y in enumerate([3.0, 0.0, 6.0])]
    plan = plan_series(frames)
    assert [f.position[1] for f in plan.frames] == [6.0, 3.0, 0.0]
    np.testing.assert_allclose(plan.direction[:, 2], [0, -1, 0])


def test_shuffled_series_loads_in_position_order(tmp_path: Path) -> None:
    vol = cases.volume()
    paths = cases.write(vol, tmp_path / "w")
    cases.scramble(paths, tmp_path / "s")
    loaded = load(tmp_path / "s")
    np.testing.assert_array_equal(loaded.array, vol.array)
    assert loaded.array.dtype == np.int16
    np.testing.assert_allclose(loaded.spacing, vol.spacing)
    np.testing.assert_allclose(loaded.origin, vol.origin)
    np.testing.assert_allclose(loaded.direction, vol.direction, atol=1e-9)


def test_oblique_series_geometry_round_trips(tmp_path: Path) -> None:
    rot = cases.rotation((1.0, 2.0, 0.5), 27.0)
    vol = cases.volume(direction=rot, origin=(10.0, -5.0, 100.0))
    cases.scramble(cases.write(vol, tmp_path / "w"), tmp_path / "s", seed=7)
    loaded = load(tmp_path / "s")
    np.testing.assert_array_equal(loaded.array, vol.array)
    np.testing.assert_allclose(loaded.direction, rot, atol=1e-5)
    np.testing.assert_allclose(loaded.origin, vol.origin, atol=1e-4)
    np.testing.assert_allclose(loaded.spacing, vol.spacing, rtol=1e-5)
    assert loaded.meta["issues"] == []


def test_missing_slice_series_still_loads(tmp_path: Path) -> None:
    vol = cases.volume(shape=(8, 16, 16))
    paths = cases.write(vol, tmp_path)
    paths[4].unlink()
    loaded = load(tmp_path)
    assert loaded.shape == (7, 16, 16)
    np.testing.assert_array_equal(loaded.array, np.delete(vol.array, 4, axis=0))
    assert loaded.spacing[0] == pytest.approx(2.5)
    assert any(i.startswith("missing slices: gap of 5.00 mm after plane 3") for i in loaded.meta["issues"])


def test_mixed_size_series_loads_majority(tmp_path: Path) -> None:
    vol = cases.volume(shape=(5, 16, 16))
    cases.write(vol, tmp_path / "a")
    odd = cases.volume(shape=(1, 8, 8), origin=(0.0, 0.0, 200.0))
    series_uid = pydicom.dcmread(next((tmp_path / "a").iterdir())).SeriesInstanceUID
    study_uid = pydicom.dcmread(next((tmp_path / "a").iterdir())).StudyInstanceUID
    cases.write(odd, tmp_path / "b", series_uid=series_uid, study_uid=study_uid)
    (series,) = scan(tmp_path).series
    assert series.n_frames == 6 and series.issues[0].startswith("mixed image sizes")
    loaded = load_series(series)
    np.testing.assert_array_equal(loaded.array, vol.array)
    assert loaded.meta["issues"][0].startswith("mixed image sizes: kept 5 of 6 planes (16x16)")
