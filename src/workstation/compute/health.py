"""Is a GPU fit for work: a health check before a job is placed on it, and the rotation of GPUs.

:func:`health_check` allocates memory on a GPU, runs a small CUDA kernel and a
reduction over known values and compares them with NumPy; :data:`ROTATION` keeps, per
process, the GPUs that failed it out of rotation (with the message saying why).  No Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

#: Bytes the health check allocates (and fills) on the device.
HEALTH_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Health:
    """Result of :func:`health_check` on one GPU."""

    device: str
    ok: bool
    message: str
    seconds: float


def health_check(index: int = 0, nbytes: int = HEALTH_BYTES) -> Health:
    """Allocate ``nbytes`` on CUDA device ``index`` (as this process sees it), run a small
    kernel and a reduction over known values, and compare with NumPy.

    ``y = 3 x + 1`` for ``x = 0, 1, ..., n-1`` (float32, exact below 2^24) and its sum in
    float64 must equal NumPy's to the bit; the memory must also read back what was written.
    """
    label = f"cuda:{index}"
    t0 = time.perf_counter()
    try:
        import cupy

        n = max(1024, nbytes // 4)
        with cupy.cuda.Device(index):
            kernel = _affine_kernel()
            x = cupy.arange(n, dtype=cupy.float32) % cupy.float32(1 << 20)
            y = cupy.empty_like(x)
            threads = 256
            kernel(((n + threads - 1) // threads,), (threads,), (x, y, cupy.float32(3.0), cupy.float32(1.0),
                                                                  cupy.int64(n)))
            total = float(y.sum(dtype=cupy.float64).get())
            tail = cupy.asnumpy(y[-1024:])
            cupy.cuda.Device(index).synchronize()
            del x, y
        ref = (np.arange(n, dtype=np.float64) % (1 << 20)) * 3.0 + 1.0
        if total != float(ref.sum()) or not np.array_equal(tail, ref[-1024:].astype(np.float32)):
            return Health(label, False, "the kernel's result differs from the CPU's", time.perf_counter() - t0)
    except Exception as exc:  # any failure here means: do not place work on this GPU
        return Health(label, False, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
    return Health(label, True, "", time.perf_counter() - t0)


_AFFINE = r"""
extern "C" __global__ void affine(const float* x, float* y, const float a, const float b, const long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + b;
}
"""


def _affine_kernel() -> Any:
    import cupy

    key = "kernel"
    if key not in _kernels:
        _kernels[key] = cupy.RawKernel(_AFFINE, "affine")
    return _kernels[key]


_kernels: dict[str, Any] = {}


class Rotation:
    """The GPUs this process may place work on: each is health-checked before its first
    job and again after a CUDA fault; one that fails stays out, with its message."""

    def __init__(self, check: Callable[[int], Health] = health_check) -> None:
        self._check = check
        self._lock = threading.Lock()
        self._results: dict[int, Health] = {}

    def usable(self, index: int) -> Health:
        """The device's health, checked now if it has not been (or was :meth:`suspect`)."""
        with self._lock:
            known = self._results.get(index)
            if known is not None:
                return known
            result = self._check(index)
            self._results[index] = result
        if not result.ok:
            log.error("GPU %s taken out of rotation: health check failed: %s", result.device, result.message)
        return result

    def suspect(self, index: int) -> None:
        """Check the device again before its next job (after a CUDA fault on it)."""
        with self._lock:
            known = self._results.get(index)
            if known is not None and known.ok:
                del self._results[index]

    def out_of_rotation(self) -> dict[int, Health]:
        with self._lock:
            return {i: h for i, h in self._results.items() if not h.ok}


#: The process's rotation (workers and the desktop application use this one).
ROTATION = Rotation()
