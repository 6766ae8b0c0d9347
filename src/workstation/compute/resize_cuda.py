"""CUDA kernels of the separable resize; the NumPy twin is :mod:`workstation.compute.resize`.

Two kernels, one per pass, each thread one output element:

* ``resize_rows<S>`` (vertical): a block of threads covers consecutive elements of
  one output row, so loads of the source rows are coalesced whatever the dtype, and
  every thread of a block reads the same weights (broadcast from L1).
* ``resize_cols<T>`` (horizontal): float32 rows in, ``T`` out with ``rint`` and
  clipping; neighbouring threads read neighbouring taps (cached).

Sums use ``__fmul_rn``/``__fadd_rn``, which the compiler never fuses into FMAs, in
the twin's order, so both paths give the same bits.  The weight tables come from
:func:`workstation.compute.resize.filter_weights` and are kept on each device.  No
call synchronises the host: the work is queued on the current stream.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from workstation.compute.resize import (
    as_batch,
    check_shape,
    filter_weights,
    output_dtype,
)

_SOURCE = r"""
template <typename T> __device__ __forceinline__ T finish(float v, float lo, float hi) {
    return (T)fminf(fmaxf(rintf(v), lo), hi);
}
template <> __device__ __forceinline__ float finish<float>(float v, float lo, float hi) { return v; }

template <typename S>
__global__ void resize_rows(const S* __restrict__ src, float* __restrict__ dst,
                            const int* __restrict__ starts, const float* __restrict__ weights,
                            int taps, int n_in, int n_out, int row_len, int n_rows) {
    // src (batch, n_in, row_len) -> dst (batch, n_out, row_len); n_rows = batch * n_out
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= row_len) return;
    for (int r = blockIdx.y; r < n_rows; r += gridDim.y) {
        const int b = r / n_out, i = r - b * n_out;
        const S* s = src + (size_t)b * n_in * row_len + x;
        const float* w = weights + (size_t)i * taps;
        const int start = starts[i];
        float acc = 0.0f;
        for (int k = 0; k < taps; ++k) {
            const int j = min(max(start + k, 0), n_in - 1);
            acc = __fadd_rn(acc, __fmul_rn(w[k], (float)s[(size_t)j * row_len]));
        }
        dst[(size_t)r * row_len + x] = acc;
    }
}

template <typename T>
__global__ void resize_cols(const float* __restrict__ src, T* __restrict__ dst,
                            const int* __restrict__ starts, const float* __restrict__ weights,
                            int taps, int n_in, int n_out, int channels, int n_rows,
                            float lo, float hi) {
    // src (n_rows, n_in, channels) float -> dst (n_rows, n_out, channels) T
    const int row_out = n_out * channels;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= row_out) return;
    const int j = e / channels, c = e - j * channels;
    const float* w = weights + (size_t)j * taps;
    const int start = starts[j];
    for (int r = blockIdx.y; r < n_rows; r += gridDim.y) {
        const float* s = src + (size_t)r * n_in * channels + c;
        float acc = 0.0f;
        for (int k = 0; k < taps; ++k) {
            const int jj = min(max(start + k, 0), n_in - 1);
            acc = __fadd_rn(acc, __fmul_rn(w[k], s[(size_t)jj * channels]));
        }
        dst[(size_t)r * row_out + e] = finish<T>(acc, lo, hi);
    }
}
"""

_CTYPES = {np.dtype(np.uint8): "unsigned char", np.dtype(np.uint16): "unsigned short",
           np.dtype(np.int16): "short", np.dtype(np.float32): "float"}
BLOCK = 256
MAX_GRID_Y = 65535
_lock = threading.Lock()
_modules: dict[int, Any] = {}
_weights: dict[tuple[int, int, int, str], tuple[Any, Any, int]] = {}


def _module(device_id: int) -> Any:
    """The compiled kernels for ``device_id`` (compiled once; CuPy caches the binary on disk)."""
    import cupy

    with _lock:
        if device_id not in _modules:
            names = [f"resize_rows<{c}>" for c in _CTYPES.values()]
            names += [f"resize_cols<{c}>" for c in _CTYPES.values()]
            _modules[device_id] = cupy.RawModule(code=_SOURCE, options=("--std=c++14",), name_expressions=names)
        return _modules[device_id]


def _device_weights(device_id: int, n_in: int, n_out: int, kernel: str) -> tuple[Any, Any, int]:
    """``(starts, weights, taps)`` of one axis on the device, uploaded once."""
    import cupy

    key = (device_id, n_in, n_out, kernel)
    with _lock:
        if key not in _weights:
            w = filter_weights(n_in, n_out, kernel)
            _weights[key] = (cupy.asarray(w.starts), cupy.asarray(w.weights), w.taps)
        return _weights[key]


def _range(dtype: np.dtype) -> tuple[float, float]:
    if dtype.kind == "f":
        return 0.0, 0.0
    info = np.iinfo(dtype)
    return float(info.min), float(info.max)


def resize_batch_gpu(images: Any, shape: tuple[int, int], *, kernel: str = "lanczos3") -> Any:
    """The CuPy twin of :func:`workstation.compute.resize.resize_batch` (same layout and bits)."""
    import cupy

    out_h, out_w = check_shape(shape)
    batch, had_channels = as_batch(images)
    dtype = output_dtype(batch.dtype)
    if batch.dtype.kind == "f" and batch.dtype != np.float32:
        batch = batch.astype(cupy.float32)
    batch = cupy.ascontiguousarray(batch)
    n, h, w, c = (int(v) for v in batch.shape)
    device_id = batch.device.id
    module = _module(device_id)
    rows_s, rows_w, rows_taps = _device_weights(device_id, h, out_h, kernel)
    cols_s, cols_w, cols_taps = _device_weights(device_id, w, out_w, kernel)
    mid = cupy.empty((n, out_h, w, c), dtype=cupy.float32)
    row_len = w * c
    n_rows = n * out_h
    rows = module.get_function(f"resize_rows<{_CTYPES[batch.dtype]}>")
    rows(((row_len + BLOCK - 1) // BLOCK, min(n_rows, MAX_GRID_Y)), (BLOCK,),
         (batch, mid, rows_s, rows_w, np.int32(rows_taps), np.int32(h), np.int32(out_h),
          np.int32(row_len), np.int32(n_rows)))
    out = cupy.empty((n, out_h, out_w, c), dtype=dtype)
    lo, hi = _range(dtype)
    cols = module.get_function(f"resize_cols<{_CTYPES[dtype]}>")
    cols((((out_w * c) + BLOCK - 1) // BLOCK, min(n_rows, MAX_GRID_Y)), (BLOCK,),
         (mid, out, cols_s, cols_w, np.int32(cols_taps), np.int32(w), np.int32(out_w), np.int32(c),
          np.int32(n_rows), np.float32(lo), np.float32(hi)))
    return out if had_channels else out[..., 0]
