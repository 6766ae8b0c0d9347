"""Backend choice, forced CPU and the GPU -> CPU fallback at the job boundary."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.compute import backend as bk


def test_forcing_cpu_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bk.ENV_VAR, "cpu")
    chosen = bk.select_backend("cuda")  # the environment wins over the setting
    assert chosen.name == "numpy" and chosen.xp is np and chosen.label == "cpu"
    assert chosen.describe().startswith("CPU")


def test_requested_cuda_without_gpu_falls_back_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bk.ENV_VAR, raising=False)

    def broken(device_id: int) -> bk.Backend:
        raise bk.GpuError("no CUDA driver")

    monkeypatch.setattr(bk, "_cuda_backend", broken)
    chosen = bk.select_backend("cuda:1")
    assert not chosen.is_gpu
    assert "no CUDA driver" in chosen.describe()


@pytest.mark.parametrize("text", ["auto", "cpu", "cuda", "cuda:3"])
def test_parse_device_accepts(text: str) -> None:
    kind, index = bk.parse_device(text)
    assert kind in ("auto", "cpu", "cuda")
    assert index == (3 if text.endswith(":3") else 0)


def test_parse_device_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="unknown device"):
        bk.parse_device("tpu")


class _FakeGpuBackend(bk.Backend):
    """A backend that claims to be a GPU; kernels that touch it fail like CUDA would."""


def test_gpu_error_reruns_on_cpu_and_notifies_once() -> None:
    fake = _FakeGpuBackend(name="cupy", xp=np, device_id=0, device_name="Fake GPU")
    calls: list[str] = []
    notices: list[str] = []

    def kernel(b: bk.Backend) -> float:
        calls.append(b.label)
        if b.is_gpu:
            raise bk.GpuError("cudaErrorMemoryAllocation: out of memory")
        return float(b.xp.arange(10).sum())

    result, used = bk.run_with_cpu_fallback(kernel, fake, notify=notices.append)
    assert result == 45.0
    assert used.label == "cpu" and calls == ["cuda:0", "cpu"]
    assert len(notices) == 1 and "rerun on the CPU" in notices[0]


def test_non_gpu_errors_propagate_without_rerun() -> None:
    fake = _FakeGpuBackend(name="cupy", xp=np, device_id=0)
    calls: list[str] = []

    def kernel(b: bk.Backend) -> None:
        calls.append(b.label)
        raise ValueError("bad parameter")

    with pytest.raises(ValueError, match="bad parameter"):
        bk.run_with_cpu_fallback(kernel, fake)
    assert calls == ["cuda:0"]


def test_is_gpu_error_recognises_cuda_messages() -> None:
    assert bk.is_gpu_error(RuntimeError("CUDA_ERROR_ILLEGAL_ADDRESS"))
    assert not bk.is_gpu_error(RuntimeError("file not found"))
