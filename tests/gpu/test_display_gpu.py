"""The slice windowing written once against ``xp`` gives identical bytes on CuPy and NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.compute.windowing import PRESETS, window_to_uint8

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.uint16])
def test_window_parity(cp, dtype) -> None:  # type: ignore[no-untyped-def]
    values = np.random.default_rng(1).integers(-1100, 3100, size=(257, 263)).astype(dtype)
    if dtype == np.uint16:
        values = np.abs(values.astype(np.int32)).astype(np.uint16)
    for p in PRESETS:
        ours = cp.asnumpy(window_to_uint8(cp.asarray(values), p.width, p.level, xp=cp))
        np.testing.assert_array_equal(ours, window_to_uint8(values, p.width, p.level))
