"""The slice windowing written once against ``xp`` gives identical bytes on CuPy and NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.compute.backend import Backend
from workstation.compute.windowing import PRESETS, window_to_uint8

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.uint16])
def test_window_parity(gpu: Backend, dtype: type) -> None:
    cp = gpu.xp
    values = np.random.default_rng(1).integers(-1100, 3100, size=(257, 263)).astype(dtype)
    if dtype == np.uint16:
        values = np.abs(values.astype(np.int32)).astype(np.uint16)
    for p in PRESETS:
        ours = cp.asnumpy(window_to_uint8(cp.asarray(values), p.width, p.level, xp=cp))
        np.testing.assert_array_equal(ours, window_to_uint8(values, p.width, p.level))


@pytest.mark.parametrize("function", ["LINEAR_EXACT", "SIGMOID"])
def test_float_window_functions_parity(gpu: Backend, function: str) -> None:
    """A dose grid's sub-unit windows (LINEAR_EXACT, SIGMOID) give the same bytes on CuPy and NumPy."""
    cp = gpu.xp
    values = np.random.default_rng(2).uniform(0.79, 1.26, size=(129, 131)).astype(np.float32)
    for width, level in ((0.46, 1.02), (0.05, 1.0), (1e-4, 0.9)):
        ours = cp.asnumpy(window_to_uint8(cp.asarray(values), width, level, xp=cp, function=function))
        reference = window_to_uint8(values, width, level, function=function)
        assert np.abs(ours.astype(int) - reference.astype(int)).max() <= (0 if function == "LINEAR_EXACT" else 1)
