"""The cpu flavor says "CPU build" (it has no CuPy), not "no working GPU", whatever the machine has."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from workstation.compute import backend
from workstation.core import paths


def _flavor(monkeypatch: pytest.MonkeyPatch, info: dict[str, Any]) -> None:
    monkeypatch.setattr(paths, "build_info", lambda: info)
    monkeypatch.delenv(backend.ENV_VAR, raising=False)


def test_cpu_flavor_says_cpu_build(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _flavor(monkeypatch, {"flavor": "cpu", "commit": "abc"})
    probed: list[int] = []
    monkeypatch.setattr(backend, "_cuda_backend", lambda i: probed.append(i))  # would be a GPU if asked
    assert backend.select_backend("auto").describe() == "CPU (NumPy) (CPU build)"
    with caplog.at_level(logging.WARNING):
        chosen = backend.select_backend("cuda")
    assert chosen.describe() == "CPU (NumPy) (CPU build)" and not chosen.is_gpu
    assert "this is the CPU build" in caplog.text and probed == []


@pytest.mark.parametrize("info", [{}, {"flavor": "cuda"}])
def test_other_builds_without_a_gpu_still_say_so(monkeypatch: pytest.MonkeyPatch, info: dict[str, Any]) -> None:
    _flavor(monkeypatch, info)

    def no_gpu(index: int) -> backend.Backend:
        raise backend.GpuError("no CUDA device")

    monkeypatch.setattr(backend, "_cuda_backend", no_gpu)
    assert backend.select_backend("auto").describe() == "CPU (NumPy) (no working GPU)"
    assert backend.select_backend("cpu").describe() == "CPU (NumPy)"
