"""Volume geometry: voxel <-> patient transforms against hand-computed points."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.core.volume import Volume, VolumeSeries


def _rotation_x(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])


def test_axis_aligned_index_to_patient_matches_hand_computation() -> None:
    v = Volume(np.zeros((4, 5, 6), np.int16), spacing=(3.0, 0.5, 0.7), origin=(-10.0, 20.0, 5.0))
    # voxel z=2, y=3, x=4 -> x = -10 + 4*0.7, y = 20 + 3*0.5, z = 5 + 2*3
    assert np.allclose(v.index_to_patient([2, 3, 4]), [-7.2, 21.5, 11.0])


def test_oblique_round_trip_and_affine_agree() -> None:
    v = Volume(np.zeros((3, 4, 5)), spacing=(2.0, 0.8, 0.6), origin=(1.0, 2.0, 3.0), direction=_rotation_x(25))
    idx = np.array([[0, 0, 0], [2, 3, 4], [1.5, 0.25, 3.75]])
    pts = v.index_to_patient(idx)
    assert np.allclose(v.patient_to_index(pts), idx)
    homog = np.c_[idx[:, ::-1], np.ones(3)] @ v.affine.T
    assert np.allclose(homog[:, :3], pts)
    # Two slices further is 2 x 2 mm along the rotated slice normal.
    assert np.allclose(pts[1] - v.index_to_patient([0, 3, 4]), 4.0 * _rotation_x(25)[:, 2])


def test_is_axial_detects_tilt() -> None:
    assert Volume(np.zeros((2, 2, 2))).is_axial()
    assert not Volume(np.zeros((2, 2, 2)), direction=_rotation_x(10)).is_axial()


@pytest.mark.parametrize(
    "kwargs",
    [{"spacing": (0.0, 1.0, 1.0)}, {"spacing": (1.0, np.nan, 1.0)}, {"direction": np.eye(2)}],
)
def test_invalid_geometry_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Volume(np.zeros((2, 2, 2)), **kwargs)


def test_volume_series_checks_times_and_geometry() -> None:
    a = Volume(np.zeros((2, 3, 3)))
    b = Volume(np.ones((2, 3, 3)))
    series = VolumeSeries((a, b), (0.0, 1.5))
    assert series.as_array().shape == (2, 2, 3, 3)
    with pytest.raises(ValueError, match="increasing"):
        VolumeSeries((a, b), (1.0, 1.0))
    with pytest.raises(ValueError, match="geometry"):
        VolumeSeries((a, Volume(np.zeros((2, 3, 4)))), (0.0, 1.0))
