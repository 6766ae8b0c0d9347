"""GPU parity of the ML layer: CuPy tiling/resampling vs NumPy, CUDA vs CPU provider.

Skipped without CuPy and a CUDA device; the provider test also needs onnxruntime-gpu.
Needs neither Qt nor pydicom: data is built in memory.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gpu

cp = pytest.importorskip("cupy")
try:
    HAS_DEVICE = cp.cuda.runtime.getDeviceCount() > 0
except Exception:  # no driver
    HAS_DEVICE = False
if not HAS_DEVICE:
    pytest.skip("no CUDA device", allow_module_level=True)

import scipy.ndimage as ndi  # noqa: E402

from workstation.compute.backend import select_backend  # noqa: E402
from workstation.ml.resample import probabilities_to_labels, resample  # noqa: E402
from workstation.ml.tiling import sliding_window_inference  # noqa: E402


def _cuda_ort() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.parametrize("blending", ["gaussian", "constant"])
def test_tiling_cupy_matches_numpy(blending: str) -> None:
    x = np.random.default_rng(0).normal(size=(2, 37, 70, 53)).astype(np.float32)
    pred = lambda b: b * 2.0 + 1.0  # noqa: E731
    ref = sliding_window_inference(x, (16, 32, 32), 0.5, pred, batch_size=4, blending=blending)
    got = sliding_window_inference(cp.asarray(x), (16, 32, 32), 0.5, pred, batch_size=4, blending=blending)
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(got), ref, rtol=1e-5, atol=1e-5)


def test_resampling_cupy_matches_scipy() -> None:
    import cupyx.scipy.ndimage as cndi

    x = np.random.default_rng(1).normal(size=(30, 40, 50)).astype(np.float32)
    ref = resample(x, (1.0, 0.8, 0.8), (3.0, 3.0, 3.0), ndi, order=1)
    got = resample(cp.asarray(x), (1.0, 0.8, 0.8), (3.0, 3.0, 3.0), cndi, order=1)
    np.testing.assert_allclose(cp.asnumpy(got), ref, rtol=1e-4, atol=1e-4)
    hu = np.random.default_rng(3).integers(-1024, 3000, (30, 40, 50)).astype(np.int16)
    ref_hu = resample(hu, (1.0, 0.8, 0.8), (3.0, 3.0, 3.0), ndi, order=1)
    got_hu = resample(cp.asarray(hu), (1.0, 0.8, 0.8), (3.0, 3.0, 3.0), cndi, order=1)
    assert got_hu.dtype == cp.float32
    np.testing.assert_allclose(cp.asnumpy(got_hu), ref_hu, rtol=1e-5, atol=1e-2)
    prob = ndi.gaussian_filter(np.random.default_rng(2).random((4, 10, 14, 16)), (0, 1, 1, 1)).astype(np.float32)
    ref_l = probabilities_to_labels(prob, (3.0, 3.0, 3.0), (1.0, 1.5, 1.5), (28, 27, 31), ndi, slab=8)
    got_l = probabilities_to_labels(cp.asarray(prob), (3.0, 3.0, 3.0), (1.0, 1.5, 1.5), (28, 27, 31), cndi, slab=8)
    agree = float((cp.asnumpy(got_l) == ref_l).mean())
    assert agree > 0.999  # ties between float32 interpolants may break differently


@pytest.mark.skipif(not _cuda_ort(), reason="onnxruntime-gpu with a CUDA provider is not installed")
def test_segmentation_cuda_provider_matches_cpu() -> None:
    """Bundled model: CUDA provider (TF32 convolutions) vs CPU provider.

    Stated tolerance: probabilities within 2e-2, and >= 99.5 % of voxels share a label.
    """
    from workstation.analyses.segmentation.logic import run
    from workstation.analyses.segmentation.params import SegmentationParams
    from workstation.compute.backend import cpu_backend
    from workstation.demo.chest_labels import synthetic_chest
    from workstation.ml import get_model
    from workstation.ml.session import get_session

    entry = get_model("chest-organs")
    x = np.random.default_rng(3).random((2, 1, *entry.input.tile), dtype=np.float32)
    cpu = get_session(entry, "cpu").predict(x)
    gpu_session = get_session(entry, "cuda:0")
    assert gpu_session.on_gpu
    gpu_host = gpu_session.predict(x)  # NumPy in, NumPy out
    gpu_dev = gpu_session.predict(cp.asarray(x))  # CuPy in: I/O binding, CuPy out
    assert isinstance(gpu_dev, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(gpu_dev), gpu_host, rtol=1e-4, atol=1e-4)

    def softmax(a: np.ndarray) -> np.ndarray:
        e = np.exp(a - a.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    assert float(np.abs(softmax(gpu_host) - softmax(cpu)).max()) < 2e-2

    case = synthetic_chest(99, shape=(60, 192, 192), spacing=(3.0, 2.0, 2.0))
    ref = run(case.volume, SegmentationParams(), cpu_backend())
    got = run(case.volume, SegmentationParams(), select_backend("cuda"))
    assert got.device.startswith("cuda")
    assert float((got.labels == ref.labels).mean()) >= 0.995
