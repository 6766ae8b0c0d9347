"""Windowing float images whose whole range is below 1 (pydicom's rtdose.dcm, 0.795-1.254 Gy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from workstation.compute.windowing import (
    default_window, drag_window, min_width, window_function, window_to_uint8,
)
from workstation.io.dicom import load

RTDOSE = Path(pydicom.__file__).parent / "data" / "test_files" / "rtdose.dcm"


def test_dose_grid_gets_a_sub_unit_window_that_shows_its_range() -> None:
    dose = load(RTDOSE)
    ds = pydicom.dcmread(RTDOSE)
    reference = ds.pixel_array * float(ds.DoseGridScaling)  # Gy, read independently of the loader
    np.testing.assert_allclose(dose.array, reference, rtol=1e-6)
    assert 0.79 < dose.array.min() < 0.80 and 1.25 < dose.array.max() < 1.26
    function = window_function(dose.array.dtype)
    width, level = default_window(dose.array, dose.modality)
    assert function == "LINEAR_EXACT" and 0.2 < width < 0.5 and 0.8 < level < 1.25
    gray = window_to_uint8(dose.array, width, level, function=function)
    assert len(np.unique(gray)) > 60 and gray.std() > 50  # a ramp of grey levels, not a white image
    assert (gray == 255).mean() < 0.05 and (gray == 0).mean() < 0.05
    # what a width clamped to 1 gave: a step, every pixel black or white
    assert len(np.unique(window_to_uint8(dose.array, 1.0, level))) <= 3


def test_linear_exact_and_sigmoid_by_hand() -> None:
    x = np.linspace(0.0, 2.0, 41)
    w, c = 0.4, 1.0
    exact = np.clip(np.rint(((x - c) / w + 0.5) * 255), 0, 255)
    np.testing.assert_array_equal(window_to_uint8(x, w, c, function="LINEAR_EXACT"), exact)
    sigmoid = np.rint(255 / (1 + np.exp(-4 * (x - c) / w)))
    np.testing.assert_array_equal(window_to_uint8(x, w, c, function="SIGMOID"), sigmoid)
    with pytest.raises(ValueError, match="VOI LUT"):
        window_to_uint8(x, w, c, function="LOG")


def test_narrowest_window_per_function() -> None:
    assert min_width("LINEAR") == 1.0 and min_width("LINEAR_EXACT", 0.46) == pytest.approx(0.46e-6)
    assert window_function(np.int16) == "LINEAR" and window_function(np.float32, "SIGMOID") == "SIGMOID"
    # dragging a dose window narrower stops at the float minimum, not at 1 Gy
    w, _ = drag_window(0.3, 1.0, -10_000, 0, value_range=0.46, narrowest=min_width("LINEAR_EXACT", 0.46))
    assert w == pytest.approx(0.46e-6)
    w, _ = drag_window(0.3, 1.0, 10, 0, value_range=0.46, narrowest=1e-6)
    assert w == pytest.approx(0.3 + 10 * 0.46 / 1024)
