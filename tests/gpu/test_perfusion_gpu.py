"""CPU (NumPy float64) vs GPU (CuPy) perfusion maps: agreement to 1e-4 relative.

Run where CUDA works; skipped elsewhere.  Needs no Qt and no pydicom.
"""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

from workstation.analyses.perfusion.deconvolution import Deconvolver  # noqa: E402
from workstation.analyses.perfusion.logic import PerfusionParams, run  # noqa: E402
from workstation.compute.backend import cpu_backend, select_backend  # noqa: E402
from workstation.demo.perfusion import generate_perfusion, tissue_curve  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu():  # type: ignore[no-untyped-def]
    backend = select_backend("cuda")
    if not backend.is_gpu:
        pytest.skip(f"no working CUDA device: {backend.describe()}")
    return backend


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    return generate_perfusion(seed=1, shape=(6, 96, 96), n_times=36)[0]


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> float:
    """Fraction of voxels (finite in both) within ``rtol`` relative (floor 1e-6 absolute)."""
    both = np.isfinite(a) & np.isfinite(b)
    ok = np.abs(a[both] - b[both]) <= rtol * np.abs(b[both]) + 1e-6
    return float(ok.mean())


@pytest.mark.parametrize("method", ["ssvd", "csvd", "osvd"])
def test_maps_match_cpu_float64(gpu, series, method: str) -> None:  # type: ignore[no-untyped-def]
    params = PerfusionParams(method=method)
    cpu = run(series, params, cpu_backend())
    dev = run(series, params, gpu)
    assert dev.device.startswith("cuda")
    np.testing.assert_array_equal(cpu.tissue, dev.tissue)
    assert cpu.aif.location == dev.aif.location
    for name in cpu.maps:
        assert _close(dev.maps[name], cpu.maps[name], 1e-4) == 1.0, name
    assert dev.summary.core_ml == pytest.approx(cpu.summary.core_ml)
    assert dev.summary.hypoperfused_ml == pytest.approx(cpu.summary.hypoperfused_ml)


def test_batched_deconvolution_kernel_parity(gpu) -> None:  # type: ignore[no-untyped-def]
    t = np.arange(0.0, 50.0, 1.0)
    from workstation.demo.perfusion import gamma_variate

    rng = np.random.default_rng(0)
    curves = np.stack([tissue_curve(t, f, m, d) for f in (10, 30, 60) for m in (3, 6, 12) for d in (0, 2, 5)], 1)
    curves = np.concatenate([curves + rng.normal(0, s, curves.shape) for s in (0.0, 0.2, 1.0)], axis=1)
    for method in ("ssvd", "csvd", "osvd"):
        dec = Deconvolver.build(gamma_variate(t), 1.0, method)
        ref = dec.apply(curves)
        got = dec.apply(cupy.asarray(curves), cupy)
        np.testing.assert_allclose(cupy.asnumpy(got.kmax), ref.kmax, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(cupy.asnumpy(got.tmax_s), ref.tmax_s, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(cupy.asnumpy(got.threshold), ref.threshold)


def test_float32_accuracy_on_gpu(gpu, series) -> None:  # type: ignore[no-untyped-def]
    """float32 is opt-in; it must stay within 1e-4 relative on CBF/CBV for cSVD (no TF32)."""
    ref = run(series, PerfusionParams(method="csvd"), cpu_backend())
    f32 = run(series, PerfusionParams(method="csvd", precision="float32"), gpu)
    for name in ("cbf", "cbv"):
        assert _close(f32.maps[name], ref.maps[name], 1e-4) > 0.999, name
