"""Inference sessions: caching, verification before loading, NumPy in and out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from ml_onnx_helpers import conv_model, entry_dict, write_manifest  # noqa: E402

from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.ml import ModelError, load_manifest, sha256_file  # noqa: E402
from workstation.ml.session import clear_sessions, get_session, provider_list  # noqa: E402

TILE = (4, 8, 8)


def _entry(tmp_path: Path, name: str = "scale"):
    path = conv_model(tmp_path / "m.onnx", TILE, classes=3, weight=np.array([1.0, -2.0, 0.5]))
    write_manifest(tmp_path, [entry_dict(name, "m.onnx", sha256_file(path), TILE, {1: "a", 2: "b"})])
    return load_manifest(tmp_path)[0]


def test_session_runs_and_matches_numpy(tmp_path: Path) -> None:
    clear_sessions()
    session = get_session(_entry(tmp_path), "cpu")
    assert session.providers == ["CPUExecutionProvider"] and not session.on_gpu
    x = np.random.default_rng(0).normal(size=(2, 1, *TILE)).astype(np.float32)
    y = session.run({"image": x})["logits"]
    expected = x * np.array([1.0, -2.0, 0.5], dtype=np.float32).reshape(1, 3, 1, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(session.predict(x), y)


def test_session_cached_per_model_and_device(tmp_path: Path) -> None:
    clear_sessions()
    entry = _entry(tmp_path)
    a = get_session(entry, "cpu")
    assert get_session(entry, cpu_backend()) is a
    assert get_session(entry, "cpu") is a


def test_session_refuses_tampered_model(tmp_path: Path) -> None:
    clear_sessions()
    entry = _entry(tmp_path, "tampered")
    conv_model(tmp_path / "m.onnx", TILE, classes=3, weight=np.array([9.0, 9.0, 9.0]))
    with pytest.raises(ModelError, match="checksum mismatch"):
        get_session(entry, "cpu")


def test_provider_order_without_cuda() -> None:
    assert provider_list("cpu") == ["CPUExecutionProvider"]
    assert provider_list("cuda")[-1] == "CPUExecutionProvider"


@pytest.mark.parametrize("trt_runtime", [False, True])
def test_tensorrt_asked_for_only_when_its_runtime_loads(monkeypatch: pytest.MonkeyPatch, trt_runtime: bool) -> None:
    """onnxruntime-gpu lists TensorRT even without libnvinfer: it must not be tried then."""
    import onnxruntime

    from workstation.ml import session as session_mod

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(session_mod, "tensorrt_runtime_present", lambda: trt_runtime)
    names = [p if isinstance(p, str) else p[0] for p in provider_list("cuda", 1)]
    expected = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert names == (["TensorrtExecutionProvider"] + expected if trt_runtime else expected)
    cuda = next(p for p in provider_list("cuda", 1) if not isinstance(p, str) and p[0] == "CUDAExecutionProvider")
    assert cuda[1]["device_id"] == 1


def test_failure_on_a_gpu_session_is_a_gpu_error(tmp_path: Path) -> None:
    """A failing GPU inference is reported as GpuError, so jobs rerun on the CPU."""
    from workstation.compute.backend import GpuError, is_gpu_error

    clear_sessions()
    session = get_session(_entry(tmp_path, "gpu-fail"), "cpu")
    bad = np.zeros((1, 1, 3, 3, 3), dtype=np.float32)  # wrong tile: ONNX Runtime refuses it
    with pytest.raises(Exception) as cpu_err:
        session.run({"image": bad})
    assert not is_gpu_error(cpu_err.value)
    session.providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]  # as on a CUDA machine
    with pytest.raises(GpuError, match="'gpu-fail' failed on cpu"):
        session.run({"image": bad})
    clear_sessions()
