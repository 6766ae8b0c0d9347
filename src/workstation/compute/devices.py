"""The machine's GPUs as NVML reports them, and a health check before work is placed on one.

:func:`sample_devices` reads, per GPU, its name, UUID, memory (total, used, free),
utilisation, temperature, power and ECC error counts through nvidia-ml-py
(``pynvml``); where NVML is missing (no driver, no GPU, no package) it returns an
empty list and :func:`no_gpu_reason` says why.  A value the device does not report
(ECC on a consumer card, power in some virtual machines) is ``None``, never an error.
:class:`DeviceMonitor` samples every second in a thread of its own and keeps a short
history (the GPU monitor dock and the queue benchmark read it).

The health check and the rotation of GPUs are in :mod:`workstation.compute.health`.  No
Qt here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)

_nvml_state: dict[str, Any] = {}
_nvml_lock = threading.Lock()


@dataclass(frozen=True)
class GpuSample:
    """One GPU at one moment (bytes, percent, degrees Celsius, watts)."""

    index: int
    name: str
    uuid: str
    memory_total: int
    memory_used: int
    memory_free: int
    utilisation: Optional[int] = None
    memory_utilisation: Optional[int] = None
    temperature_c: Optional[int] = None
    power_w: Optional[float] = None
    power_limit_w: Optional[float] = None
    ecc_corrected: Optional[int] = None
    ecc_uncorrected: Optional[int] = None
    time: float = 0.0
    pci_bus: str = ""  # domain:bus:device.function, as bus_key() writes it

    @property
    def label(self) -> str:
        return f"cuda:{self.index}"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def nvml() -> Optional[ModuleType]:
    """``pynvml``, initialised once per process; ``None`` where NVML cannot be used."""
    with _nvml_lock:
        if "module" in _nvml_state:
            return _nvml_state["module"]
        module: Optional[ModuleType] = None
        try:
            import pynvml

            pynvml.nvmlInit()
            module = pynvml
            _nvml_state["reason"] = ""
        except ImportError:
            _nvml_state["reason"] = "nvidia-ml-py is not installed"
        except Exception as exc:  # NVMLError: no driver, no device, a container without /dev/nvidia*
            _nvml_state["reason"] = f"NVML unavailable ({_text(exc) or type(exc).__name__})"
        _nvml_state["module"] = module
        return module


def reset_nvml() -> None:
    """Forget the NVML state (tests that mock it, or after a driver reload)."""
    with _nvml_lock:
        _nvml_state.clear()


def no_gpu_reason() -> str:
    """Why :func:`sample_devices` found nothing (empty when it found GPUs)."""
    lib = nvml()
    if lib is None:
        return str(_nvml_state.get("reason", "NVML unavailable"))
    try:
        return "" if lib.nvmlDeviceGetCount() else "the driver reports no GPU"
    except Exception as exc:
        return f"NVML failed: {_text(exc)}"


def _optional(fn: Callable[[], Any]) -> Any:
    """A value the device may not report (NVML_ERROR_NOT_SUPPORTED and the like): ``None``."""
    try:
        return fn()
    except Exception:
        return None


def _memory(lib: ModuleType, handle: Any) -> Any:
    """Memory info as nvidia-smi shows it: version 2 leaves the driver's reserved memory out of "used".

    Version 1 counts the reservation (about 0.6 GiB on an H200) as used; drivers or
    bindings without version 2 fall back to it.
    """
    version = getattr(lib, "nvmlMemory_v2", None)
    if version is not None:
        info = _optional(lambda: lib.nvmlDeviceGetMemoryInfo(handle, version=version))
        if info is not None:
            return info
    return lib.nvmlDeviceGetMemoryInfo(handle)


def _sample(lib: ModuleType, index: int, now: float) -> GpuSample:
    handle = lib.nvmlDeviceGetHandleByIndex(index)
    memory = _memory(lib, handle)
    rates = _optional(lambda: lib.nvmlDeviceGetUtilizationRates(handle))
    power = _optional(lambda: lib.nvmlDeviceGetPowerUsage(handle))
    limit = _optional(lambda: lib.nvmlDeviceGetEnforcedPowerLimit(handle))

    pci = _optional(lambda: lib.nvmlDeviceGetPciInfo(handle))

    def ecc(kind: int) -> Optional[int]:
        value = _optional(lambda: lib.nvmlDeviceGetTotalEccErrors(handle, kind, lib.NVML_VOLATILE_ECC))
        return None if value is None else int(value)

    return GpuSample(
        index=index, name=_text(lib.nvmlDeviceGetName(handle)), uuid=_text(_optional(
            lambda: lib.nvmlDeviceGetUUID(handle)) or ""),
        memory_total=int(memory.total), memory_used=int(memory.used), memory_free=int(memory.free),
        utilisation=None if rates is None else int(rates.gpu),
        memory_utilisation=None if rates is None else int(rates.memory),
        temperature_c=_optional(lambda: int(lib.nvmlDeviceGetTemperature(handle, lib.NVML_TEMPERATURE_GPU))),
        power_w=None if power is None else power / 1000.0, power_limit_w=None if limit is None else limit / 1000.0,
        ecc_corrected=ecc(lib.NVML_MEMORY_ERROR_TYPE_CORRECTED),
        ecc_uncorrected=ecc(lib.NVML_MEMORY_ERROR_TYPE_UNCORRECTED), time=now,
        pci_bus=bus_key(_text(pci.busId)) if pci is not None else "",
    )


def bus_key(bus_id: str) -> str:
    """A PCI bus ID as ``dddd:bb:dd.f`` whichever library wrote it (NVML pads the domain to 8 digits)."""
    parts = bus_id.strip().lower().split(":")
    if len(parts) == 3:
        try:
            return f"{int(parts[0], 16):04x}:{parts[1]}:{parts[2]}"
        except ValueError:
            pass
    return bus_id.strip().lower()


def sample_devices() -> list[GpuSample]:
    """Every GPU NVML sees (physical indices; CUDA_VISIBLE_DEVICES does not hide any), or ``[]``."""
    lib = nvml()
    if lib is None:
        return []
    now = time.time()
    try:
        count = int(lib.nvmlDeviceGetCount())
    except Exception as exc:
        log.warning("NVML could not count the GPUs: %s", _text(exc))
        return []
    samples = []
    for index in range(count):
        try:
            samples.append(_sample(lib, index, now))
        except Exception as exc:  # a GPU that fell off the bus: say so, list the others
            log.warning("NVML could not read GPU %d: %s", index, _text(exc))
    return samples


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(samples: Sequence[GpuSample], health: Optional[dict[int, Any]] = None) -> str:
    """The table ``workstation-batch gpus`` prints (``no GPU (reason)`` when empty)."""
    if not samples:
        reason = no_gpu_reason()
        return f"no GPU ({reason})" if reason else "no GPU"
    head = ["gpu", "name", "memory used / total (GiB)", "free (GiB)", "util %", "temp C", "power W", "ECC corr/uncorr"]
    if health is not None:
        head.append("health")
    rows = [head]
    for s in samples:
        row = [s.label, s.name, f"{s.memory_used / 2**30:.1f} / {s.memory_total / 2**30:.1f}",
               f"{s.memory_free / 2**30:.1f}", _cell(s.utilisation, "d"), _cell(s.temperature_c, "d"),
               "-" if s.power_w is None else f"{s.power_w:.0f}" + (
                   f" / {s.power_limit_w:.0f}" if s.power_limit_w is not None else ""),
               f"{_cell(s.ecc_corrected, 'd')} / {_cell(s.ecc_uncorrected, 'd')}"]
        if health is not None:
            h = health.get(s.index)
            row.append("-" if h is None else ("ok" if h.ok else f"FAILED: {h.message}") + f" ({h.seconds * 1e3:.0f} ms)")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class DeviceMonitor:
    """Samples the GPUs every ``interval_s`` in a background thread; keeps ``history`` samples.

    ``sampler`` replaces :func:`sample_devices` (tests, simulated devices).
    """

    def __init__(self, interval_s: float = 1.0, history: int = 3600,
                 sampler: Optional[Callable[[], list[GpuSample]]] = None) -> None:
        self.interval_s = interval_s
        self.sampler = sampler or sample_devices
        self._history: deque[list[GpuSample]] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "DeviceMonitor":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="gpu-monitor", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample_now()
            self._stop.wait(self.interval_s)

    def sample_now(self) -> list[GpuSample]:
        try:
            samples = self.sampler()
        except Exception as exc:  # the monitor must outlive a driver hiccup
            log.warning("GPU sampling failed: %s", exc)
            samples = []
        with self._lock:
            self._history.append(samples)
        return samples

    def latest(self) -> list[GpuSample]:
        with self._lock:
            return list(self._history[-1]) if self._history else []

    def history(self, since: float = 0.0) -> list[list[GpuSample]]:
        with self._lock:
            return [s for s in self._history if s and s[0].time >= since]

    def busy_share(self, since: float = 0.0) -> dict[int, float]:
        """Mean utilisation (0-1) per GPU over the samples taken since ``since`` (epoch s)."""
        values: dict[int, list[int]] = {}
        for samples in self.history(since):
            for s in samples:
                if s.utilisation is not None:
                    values.setdefault(s.index, []).append(s.utilisation)
        return {i: float(np.mean(v)) / 100.0 for i, v in values.items()}
