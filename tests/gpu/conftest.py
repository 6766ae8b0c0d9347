"""GPU test setup: the ``cp`` fixture is CuPy on a working CUDA device, else the test skips."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="module")
def cp() -> Any:
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as exc:  # noqa: BLE001 -- driver missing or broken
        pytest.skip(f"no working CUDA device: {exc}")
    return cupy
