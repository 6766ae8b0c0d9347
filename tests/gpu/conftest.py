"""The GPU fixtures every test under ``tests/gpu`` uses.

``gpu`` is the CuPy backend on device 0 (the test is skipped, naming the reason, where
CuPy or a working CUDA device is absent).  ``xp`` runs a test body twice, once with
``numpy`` and once with ``cupy``, in the manner of CuPy's own ``numpy_cupy_allclose``
tests: write the body against ``xp`` and compare its host result with an independent
NumPy reference; the CuPy run is skipped where there is no GPU, the NumPy run never is.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from workstation.compute.backend import Backend, GpuError, _cuda_backend


@pytest.fixture(scope="session")
def gpu() -> Backend:
    """The CuPy backend on CUDA device 0, or a skip saying why there is none."""
    pytest.importorskip("cupy")
    try:
        return _cuda_backend(0)
    except GpuError as exc:
        pytest.skip(f"no working CUDA device: {exc}")


@pytest.fixture(params=["numpy", "cupy"])
def xp(request: Any) -> ModuleType:
    """``numpy``, then ``cupy`` (the second skipped where no GPU works)."""
    if request.param == "numpy":
        return np
    backend: Backend = request.getfixturevalue("gpu")
    return backend.xp


@pytest.fixture(scope="session")
def cp(gpu: Backend) -> ModuleType:
    """The ``cupy`` module, on a working CUDA device (skipped elsewhere, as ``gpu``)."""
    return gpu.xp
