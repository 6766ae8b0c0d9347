"""The GPU monitor's reading of NVML values (NVML mocked), the table, the rotation."""

from __future__ import annotations

import sys
import types
from collections import namedtuple
from typing import Any, Iterator

import pytest

from workstation.compute import devices as dev
from workstation.compute import health

Memory = namedtuple("Memory", "total used free")
Rates = namedtuple("Rates", "gpu memory")


class NVMLError(Exception):
    pass


def fake_nvml(gpus: list[dict[str, Any]]) -> types.ModuleType:
    """A stand-in for ``pynvml`` with the calls and constants the monitor uses."""
    m = types.ModuleType("pynvml")
    m.NVML_TEMPERATURE_GPU = 0
    m.NVML_VOLATILE_ECC = 0
    m.NVML_MEMORY_ERROR_TYPE_CORRECTED, m.NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 0, 1

    def value(h: int, key: str) -> Any:
        v = gpus[h][key]
        if isinstance(v, Exception):
            raise v
        return v

    m.nvmlInit = lambda: None
    m.nvmlDeviceGetCount = lambda: len(gpus)
    m.nvmlDeviceGetHandleByIndex = lambda i: i
    m.nvmlDeviceGetName = lambda h: value(h, "name")
    m.nvmlDeviceGetUUID = lambda h: value(h, "uuid")
    m.nvmlDeviceGetMemoryInfo = lambda h: value(h, "memory")
    m.nvmlDeviceGetUtilizationRates = lambda h: value(h, "rates")
    m.nvmlDeviceGetTemperature = lambda h, sensor: value(h, "temp")
    m.nvmlDeviceGetPowerUsage = lambda h: value(h, "power_mw")
    m.nvmlDeviceGetEnforcedPowerLimit = lambda h: value(h, "limit_mw")
    m.nvmlDeviceGetTotalEccErrors = lambda h, kind, counter: value(h, "ecc")[kind]
    m.nvmlDeviceGetPciInfo = lambda h: types.SimpleNamespace(busId=value(h, "bus"))
    return m


H200 = {"name": "NVIDIA H200", "uuid": "GPU-1111", "memory": Memory(150_150_716_416, 1_073_741_824, 149_076_974_592),
        "rates": Rates(37, 12), "temp": 41, "power_mw": 123_456, "limit_mw": 700_000, "ecc": (3, 0),
        "bus": b"00000000:1B:00.0"}
CONSUMER = {"name": b"NVIDIA GeForce RTX 4090", "uuid": b"GPU-2222", "memory": Memory(25_757_220_864, 0, 25_757_220_864),
            "rates": NVMLError("Not Supported"), "temp": 55, "power_mw": NVMLError("Not Supported"),
            "limit_mw": NVMLError("Not Supported"), "ecc": NVMLError("Not Supported"), "bus": NVMLError("Unknown")}


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def install(gpus: list[dict[str, Any]] | None) -> None:
        dev.reset_nvml()
        if gpus is None:
            monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
        else:
            monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))

    yield install
    dev.reset_nvml()


def test_nvml_values_become_units_and_missing_values_none(nvml: Any) -> None:
    nvml([H200, CONSUMER])
    a, b = dev.sample_devices()
    assert (a.index, a.name, a.uuid, a.label) == (0, "NVIDIA H200", "GPU-1111", "cuda:0")
    assert (a.memory_total, a.memory_used, a.memory_free) == (150_150_716_416, 1_073_741_824, 149_076_974_592)
    assert (a.utilisation, a.memory_utilisation, a.temperature_c) == (37, 12, 41)
    assert a.power_w == pytest.approx(123.456) and a.power_limit_w == 700.0
    assert (a.ecc_corrected, a.ecc_uncorrected) == (3, 0)
    assert a.pci_bus == dev.bus_key("0000:1b:00.0") == "0000:1b:00.0" and b.pci_bus == ""  # as CUDA writes it
    assert (b.name, b.uuid) == ("NVIDIA GeForce RTX 4090", "GPU-2222")  # bytes from old bindings
    assert (b.utilisation, b.power_w, b.power_limit_w, b.ecc_corrected, b.ecc_uncorrected) == (None,) * 5
    assert b.temperature_c == 55
    table = dev.format_table([a, b])
    assert "NVIDIA H200" in table and "1.0 / 139.8" in table and "123 / 700" in table and "3 / 0" in table
    assert "- / -" in table.splitlines()[-1]


def test_a_gpu_that_fails_to_answer_is_skipped_and_the_rest_listed(nvml: Any) -> None:
    broken = dict(H200, memory=NVMLError("GPU is lost"))
    nvml([broken, CONSUMER])
    assert [s.name for s in dev.sample_devices()] == ["NVIDIA GeForce RTX 4090"]


def test_no_nvml_means_no_gpu_with_the_reason(nvml: Any) -> None:
    nvml(None)
    assert dev.sample_devices() == []
    assert dev.format_table([]) == "no GPU (nvidia-ml-py is not installed)"
    nvml([])
    assert dev.format_table(dev.sample_devices()) == "no GPU (the driver reports no GPU)"


def test_the_gpus_command_prints_the_table(nvml: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from workstation.jobs.batch import main

    nvml([H200])
    assert main(["gpus"]) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H200" in out and "37" in out and "41" in out
    nvml(None)
    assert main(["gpus", "--check"]) == 0
    assert capsys.readouterr().out.strip() == "no GPU (nvidia-ml-py is not installed)"


def test_monitor_keeps_samples_and_the_busy_share() -> None:
    values = iter([10, 30, 50, 90])

    def sampler() -> list[dev.GpuSample]:
        return [dev.GpuSample(0, "sim", "u", 100, 10, 90, utilisation=next(values), time=1000.0)]

    monitor = dev.DeviceMonitor(sampler=sampler)
    for _ in range(4):
        monitor.sample_now()
    assert monitor.latest()[0].utilisation == 90
    assert monitor.busy_share(since=999.0) == {0: pytest.approx(0.45)}
    assert monitor.busy_share(since=1001.0) == {}


def test_a_monitor_thread_samples_every_interval() -> None:
    import time

    calls = []
    monitor = dev.DeviceMonitor(interval_s=0.02, sampler=lambda: calls.append(1) or [])
    monitor.start()
    time.sleep(0.2)
    monitor.stop()
    assert 3 <= len(calls) <= 15


def test_a_gpu_failing_its_health_check_leaves_the_rotation_until_checked_again() -> None:
    results = {0: True, 1: False}
    checks: list[int] = []

    def check(index: int) -> health.Health:
        checks.append(index)
        return health.Health(f"cuda:{index}", results[index], "" if results[index] else "ECC error", 0.01)

    rotation = health.Rotation(check)
    assert rotation.usable(0).ok and not rotation.usable(1).ok
    assert rotation.usable(1).message == "ECC error" and checks == [0, 1]  # cached
    assert set(rotation.out_of_rotation()) == {1}
    rotation.suspect(0)  # after a CUDA fault on device 0
    results[0] = False
    assert not rotation.usable(0).ok and checks == [0, 1, 0]
    rotation.suspect(1)  # a failed device stays out
    assert checks == [0, 1, 0] and not rotation.usable(1).ok


def test_the_health_check_fails_cleanly_without_cuda() -> None:
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed: tests/gpu checks the real device")
    except ImportError:
        pass
    result = health.health_check(0)
    assert not result.ok and "cupy" in result.message.lower()
