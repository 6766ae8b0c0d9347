"""Which array library runs the kernels: CuPy on a working CUDA device, else NumPy.

The choice is made once per process (:func:`get_backend`) and can be overridden by the
``WORKSTATION_DEVICE`` environment variable (``cpu``, ``cuda`` or ``cuda:N``) or by a
setting passed to :func:`select_backend`.  Kernels receive a :class:`Backend` and write
``xp = backend.xp``; they never pick a device themselves.

A CUDA failure inside a job (out of memory, driver fault) is recognised by
:func:`is_gpu_error`; :func:`run_with_cpu_fallback` reruns the work on the CPU.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Optional, TypeVar

import numpy as np

log = logging.getLogger(__name__)

T = TypeVar("T")
ENV_VAR = "WORKSTATION_DEVICE"
#: Largest share of the RAM one pinned host array may take (page-locked memory cannot
#: be swapped out, so it is kept for series bound for the GPU and capped).
PINNED_MAX_FRACTION = 0.25


def _physical_memory() -> int:
    """Bytes of RAM (0 when unknown, which disables pinning)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


class GpuError(RuntimeError):
    """A failure of the GPU itself (raised by our own code or by a test's fake device)."""


@dataclass(frozen=True)
class Backend:
    """An array namespace (``numpy`` or ``cupy``) and the device it runs on."""

    name: str
    xp: ModuleType
    device_id: Optional[int] = None
    device_name: str = "CPU"
    _reason: str = field(default="", compare=False)

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy"

    @property
    def ndimage(self) -> ModuleType:
        """``scipy.ndimage`` or ``cupyx.scipy.ndimage``, imported on first use."""
        if self.is_gpu:
            import cupyx.scipy.ndimage as ndi
        else:
            import scipy.ndimage as ndi
        return ndi

    @property
    def label(self) -> str:
        """Short name for JSON results and logs: ``cpu`` or ``cuda:N``."""
        return f"cuda:{self.device_id}" if self.is_gpu else "cpu"

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """Move ``a`` to this backend's device (no copy when already there)."""
        if self.is_gpu:
            with self.xp.cuda.Device(self.device_id):
                return self.xp.asarray(a, dtype=dtype)
        from workstation.compute.arrays import to_host

        return to_host(a, dtype)

    def asnumpy(self, a: Any) -> np.ndarray:
        """Bring ``a`` back to host memory as a NumPy array."""
        if self.is_gpu:
            return self.xp.asnumpy(a)
        return np.asarray(a)

    def host_empty(self, shape: Any, dtype: Any) -> np.ndarray:
        """An empty host array for data bound for this device: page-locked (pinned)
        memory on a GPU, so it goes up at full bus speed without a staging copy
        (:mod:`workstation.compute.transfer`); ordinary memory on the CPU, for arrays
        above :data:`PINNED_MAX_FRACTION` of the RAM, or when pinning fails."""
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if self.is_gpu and nbytes <= PINNED_MAX_FRACTION * _physical_memory():
            try:
                with self.xp.cuda.Device(self.device_id):
                    from workstation.compute.transfer import pinned_empty

                    return pinned_empty(shape, dtype, pooled=False)
            except Exception as exc:  # the driver may refuse to lock that much memory
                log.info("pinned host memory unavailable (%s); using ordinary memory", type(exc).__name__)
        return np.empty(shape, dtype=dtype)

    def free_memory_bytes(self) -> Optional[int]:
        """Free device memory, or ``None`` on the CPU."""
        if not self.is_gpu:
            return None
        with self.xp.cuda.Device(self.device_id):
            free, _total = self.xp.cuda.runtime.memGetInfo()
        return int(free)

    def describe(self) -> str:
        """What the status bar shows: device name and free memory."""
        if not self.is_gpu:
            suffix = f" ({self._reason})" if self._reason else ""
            return f"CPU (NumPy){suffix}"
        free = self.free_memory_bytes() or 0
        return f"GPU {self.label}: {self.device_name}, {free / 2**30:.1f} GiB free"

    def synchronize(self) -> None:
        """Wait for queued GPU work (for honest timings); no-op on the CPU."""
        if self.is_gpu:
            self.xp.cuda.Device(self.device_id).synchronize()


def cpu_backend(reason: str = "") -> Backend:
    """The NumPy backend; ``reason`` says why the GPU is not used, if it was wanted."""
    return Backend(name="numpy", xp=np, _reason=reason)


def _cuda_backend(device_id: int) -> Backend:
    """A CuPy backend on ``device_id``; raises :class:`GpuError` when it does not work."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising on import
        raise GpuError(f"CuPy is not available: {exc}") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if device_id >= count:
            raise GpuError(f"CUDA device {device_id} requested but only {count} present")
        with cupy.cuda.Device(device_id):
            # A real round trip: a driver that enumerates but cannot run kernels fails here.
            probe = cupy.arange(8, dtype=cupy.float32)
            if float((probe * 2).sum().get()) != 56.0:
                raise GpuError("CUDA self-test returned a wrong result")
            props = cupy.cuda.runtime.getDeviceProperties(device_id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    except GpuError:
        raise
    except Exception as exc:
        raise GpuError(f"CUDA device {device_id} does not work: {exc}") from exc
    return Backend(name="cupy", xp=cupy, device_id=device_id, device_name=name)


def parse_device(setting: str) -> tuple[str, int]:
    """Parse ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` into ``(kind, index)``."""
    value = setting.strip().lower()
    if value in ("", "auto"):
        return "auto", 0
    if value == "cpu":
        return "cpu", 0
    if value == "cuda" or value == "gpu":
        return "cuda", 0
    if value.startswith("cuda:") and value[5:].isdigit():
        return "cuda", int(value[5:])
    raise ValueError(f"unknown device {setting!r}: use auto, cpu, cuda or cuda:N")


def select_backend(setting: Optional[str] = None) -> Backend:
    """Choose a backend.

    ``WORKSTATION_DEVICE`` wins over ``setting``.  ``auto`` takes the GPU when it
    works and NumPy otherwise; an explicit ``cuda`` that does not work falls back to
    NumPy with the reason logged and kept in :meth:`Backend.describe`.
    """
    chosen = os.environ.get(ENV_VAR) or setting or "auto"
    kind, index = parse_device(chosen)
    if kind == "cpu":
        return cpu_backend()
    if _cpu_build():
        if kind == "cuda":
            log.warning("GPU requested, but this is the CPU build (no CuPy); using the CPU")
        return cpu_backend(reason="CPU build")
    try:
        return _cuda_backend(index)
    except GpuError as exc:
        if kind == "cuda":
            log.warning("GPU requested but unavailable, using the CPU: %s", exc)
            return cpu_backend(reason=f"GPU unavailable: {exc}")
        log.info("No working GPU, using the CPU: %s", exc)
        return cpu_backend(reason="no working GPU")


def _cpu_build() -> bool:
    """True in the packaged cpu flavor, which has no CuPy whatever GPU the machine has."""
    from workstation.core.paths import build_info

    return build_info().get("flavor") == "cpu"


_current: Optional[Backend] = None


def get_backend() -> Backend:
    """The process-wide backend, chosen on first use."""
    global _current
    if _current is None:
        _current = select_backend()
    return _current


def set_backend(backend: Optional[Backend]) -> None:
    """Replace the process-wide backend (``None``: choose again on next use)."""
    global _current
    _current = backend


def is_gpu_error(exc: BaseException) -> bool:
    """True for failures of the GPU or its libraries, which a CPU rerun can survive."""
    if isinstance(exc, GpuError):
        return True
    module = type(exc).__module__ or ""
    if module.startswith(("cupy", "cupy_backends", "cupyx")):
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(
        key in text
        for key in ("CUDA_ERROR", "cudaError", "CUBLAS_STATUS", "CUSOLVER_STATUS", "out of memory on device")
    )


def run_with_cpu_fallback(
    fn: Callable[[Backend], T],
    backend: Backend,
    notify: Optional[Callable[[str], None]] = None,
) -> tuple[T, Backend]:
    """Run ``fn(backend)``; on a GPU error rerun ``fn`` on the CPU.

    Returns the result and the backend that produced it.  ``notify`` receives one
    message when the fallback happens.  Other exceptions propagate unchanged.
    """
    try:
        return fn(backend), backend
    except Exception as exc:
        if not backend.is_gpu and not isinstance(exc, GpuError):
            raise
        if not is_gpu_error(exc):
            raise
        message = f"The GPU failed ({type(exc).__name__}: {exc}); the job was rerun on the CPU."
        log.warning(message)
        if notify is not None:
            notify(message)
        cpu = cpu_backend(reason="GPU failed during a job")
        return fn(cpu), cpu
