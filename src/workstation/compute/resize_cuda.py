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
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

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
                            int taps, int n_in, int n_out, int row_len, int i0, int n_band, int n_rows) {
    // src (batch, n_in, row_len) -> dst (batch, n_out, row_len), output rows i0 .. i0 + n_band
    // of every image; n_rows = batch * n_band
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= row_len) return;
    for (int r = blockIdx.y; r < n_rows; r += gridDim.y) {
        const int b = r / n_band, i = i0 + (r - b * n_band);
        const S* s = src + (size_t)b * n_in * row_len + x;
        const float* w = weights + (size_t)i * taps;
        const int start = starts[i];
        float acc = 0.0f;
        for (int k = 0; k < taps; ++k) {
            const int j = min(max(start + k, 0), n_in - 1);
            acc = __fadd_rn(acc, __fmul_rn(w[k], (float)s[(size_t)j * row_len]));
        }
        dst[((size_t)b * n_out + i) * row_len + x] = acc;
    }
}

template <typename T>
__global__ void resize_cols(const float* __restrict__ src, T* __restrict__ dst,
                            const int* __restrict__ starts, const float* __restrict__ weights,
                            int taps, int n_in, int n_out, int channels, int rows_per_image,
                            int i0, int n_band, int n_rows, float lo, float hi) {
    // src (batch * rows_per_image, n_in, channels) float -> dst (same rows, n_out, channels) T,
    // rows i0 .. i0 + n_band of every image; n_rows = batch * n_band
    const int row_out = n_out * channels;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= row_out) return;
    const int j = e / channels, c = e - j * channels;
    const float* w = weights + (size_t)j * taps;
    const int start = starts[j];
    for (int rr = blockIdx.y; rr < n_rows; rr += gridDim.y) {
        const int b = rr / n_band;
        const size_t r = (size_t)b * rows_per_image + i0 + (rr - b * n_band);
        const float* s = src + r * n_in * channels + c;
        float acc = 0.0f;
        for (int k = 0; k < taps; ++k) {
            const int jj = min(max(start + k, 0), n_in - 1);
            acc = __fadd_rn(acc, __fmul_rn(w[k], s[(size_t)jj * channels]));
        }
        dst[r * row_out + e] = finish<T>(acc, lo, hi);
    }
}
"""

_CTYPES = {np.dtype(np.uint8): "unsigned char", np.dtype(np.uint16): "unsigned short",
           np.dtype(np.int16): "short", np.dtype(np.float32): "float"}
BLOCK = 256
MAX_GRID_Y = 65535
_lock = threading.Lock()
_modules: dict[int, Any] = {}
_weights: dict[tuple[int, int, int, str], tuple[Any, Any, int, NDArray[np.int64]]] = {}


def _module(device_id: int) -> Any:
    """The compiled kernels for ``device_id`` (compiled once; CuPy caches the binary on disk)."""
    import cupy

    with _lock:
        if device_id not in _modules:
            names = [f"resize_rows<{c}>" for c in _CTYPES.values()]
            names += [f"resize_cols<{c}>" for c in _CTYPES.values()]
            _modules[device_id] = cupy.RawModule(code=_SOURCE, options=("--std=c++14",), name_expressions=names)
        return _modules[device_id]


def _device_weights(device_id: int, n_in: int, n_out: int, kernel: str) -> tuple[Any, Any, int, NDArray[np.int64]]:
    """``(starts, weights, taps)`` of one axis on the device, uploaded once, and the starts on the host."""
    import cupy

    key = (device_id, n_in, n_out, kernel)
    with _lock:
        if key not in _weights:
            w = filter_weights(n_in, n_out, kernel)
            _weights[key] = (cupy.asarray(w.starts), cupy.asarray(w.weights), w.taps,
                             np.asarray(w.starts, dtype=np.int64))
        return _weights[key]


def _range(dtype: np.dtype) -> tuple[float, float]:
    if dtype.kind == "f":
        return 0.0, 0.0
    info = np.iinfo(dtype)
    return float(info.min), float(info.max)


class _Plan:
    """Kernels, weight tables and buffers of one resize on one device."""

    def __init__(self, shape_in: tuple[int, int, int, int], dtype_in: Any, shape: tuple[int, int], kernel: str,
                 device_id: int) -> None:
        import cupy

        n, h, w, c = shape_in
        self.n, self.h, self.w, self.c = n, h, w, c
        self.out_h, self.out_w = check_shape(shape)
        self.dtype = output_dtype(dtype_in)
        module = _module(device_id)
        self.rows_s, self.rows_w, self.rows_taps, self.host_starts = _device_weights(device_id, h, self.out_h, kernel)
        self.cols_s, self.cols_w, self.cols_taps, _ = _device_weights(device_id, w, self.out_w, kernel)
        self.rows = module.get_function(f"resize_rows<{_CTYPES[np.dtype(dtype_in)]}>")
        self.cols = module.get_function(f"resize_cols<{_CTYPES[self.dtype]}>")
        self.mid = cupy.empty((n, self.out_h, w, c), dtype=cupy.float32)
        self.out = cupy.empty((n, self.out_h, self.out_w, c), dtype=self.dtype)
        self.lo, self.hi = _range(self.dtype)

    def launch(self, batch: Any, b0: int, b1: int, i0: int, i1: int) -> None:
        """Queue output rows ``i0:i1`` of images ``b0:b1`` on the current stream."""
        nb, band = b1 - b0, i1 - i0
        row_len = self.w * self.c
        n_rows = nb * band
        self.rows(((row_len + BLOCK - 1) // BLOCK, min(n_rows, MAX_GRID_Y)), (BLOCK,),
                  (batch[b0:b1], self.mid[b0:b1], self.rows_s, self.rows_w, np.int32(self.rows_taps),
                   np.int32(self.h), np.int32(self.out_h), np.int32(row_len), np.int32(i0), np.int32(band),
                   np.int32(n_rows)))
        self.cols((((self.out_w * self.c) + BLOCK - 1) // BLOCK, min(n_rows, MAX_GRID_Y)), (BLOCK,),
                  (self.mid[b0:b1], self.out[b0:b1], self.cols_s, self.cols_w, np.int32(self.cols_taps),
                   np.int32(self.w), np.int32(self.out_w), np.int32(self.c), np.int32(self.out_h),
                   np.int32(i0), np.int32(band), np.int32(n_rows), np.float32(self.lo), np.float32(self.hi)))

    def last_input_row(self, i1: int) -> int:
        """One past the last input row that output rows ``:i1`` read (edges are clamped)."""
        return int(min(self.h, max(1, int(self.host_starts[:i1].max()) + self.rows_taps)))


def resize_batch_gpu(images: Any, shape: tuple[int, int], *, kernel: str = "lanczos3") -> Any:
    """The CuPy twin of :func:`workstation.compute.resize.resize_batch` (same layout and bits)."""
    import cupy

    batch, had_channels = as_batch(images)
    if batch.dtype.kind == "f" and batch.dtype != np.float32:
        batch = batch.astype(cupy.float32)
    batch = cupy.ascontiguousarray(batch)
    plan = _Plan(tuple(int(v) for v in batch.shape), batch.dtype, shape, kernel, batch.device.id)  # type: ignore[arg-type]
    plan.launch(batch, 0, plan.n, 0, plan.out_h)
    return plan.out if had_channels else plan.out[..., 0]


#: Pieces of a host-to-host resize (upload, kernels and download of each overlap the
#: others'): row bands of one image, or groups of the images of a batch.
PIECES = 4


def resize_host_gpu(images: NDArray[Any], shape: tuple[int, int], *, kernel: str = "lanczos3",
                    out: Optional[NDArray[Any]] = None, device_id: int = 0, pieces: int = PIECES) -> NDArray[Any]:
    """Host images to host images, resized on the GPU with the twin's bits.

    The work is cut in ``pieces`` (row bands of a single image, groups of images of a
    batch); each piece's upload, kernels and download run on three streams, so the
    copies of one piece overlap the kernels of the others and the whole takes little
    more than its copies.  Pinned input and ``out`` (:func:`workstation.compute.transfer.pinned_empty`)
    travel by DMA at full bus speed; other arrays are copied at pageable speed.
    """
    import cupy

    batch, had_channels = as_batch(np.asarray(images))
    if batch.dtype.kind == "f" and batch.dtype != np.float32:
        batch = batch.astype(np.float32)
    batch = np.ascontiguousarray(batch)
    n, h, w, c = (int(v) for v in batch.shape)
    with cupy.cuda.Device(device_id):
        plan = _Plan((n, h, w, c), batch.dtype, shape, kernel, device_id)
        target = out if out is not None else np.empty(plan.out.shape, plan.dtype)
        target_view = target.reshape(plan.out.shape)
        if target_view.dtype != plan.dtype or not target_view.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous {plan.dtype} array of shape {plan.out.shape}")
        device_in = cupy.empty(batch.shape, batch.dtype)
        up, work, down = (cupy.cuda.Stream(non_blocking=True) for _ in range(3))
        h2d, d2h = cupy.cuda.runtime.memcpyHostToDevice, cupy.cuda.runtime.memcpyDeviceToHost
        row_in, row_out = w * c * batch.itemsize, plan.out_w * c * plan.dtype.itemsize
        image_in, image_out = h * row_in, plan.out_h * row_out
        sent = 0  # bytes of the input already queued for upload
        for b0, b1, i0, i1 in _pieces(plan, pieces):
            need = (b1 * image_in) if n > 1 else plan.last_input_row(i1) * row_in
            if need > sent:
                cupy.cuda.runtime.memcpyAsync(device_in.data.ptr + sent, batch.ctypes.data + sent, need - sent, h2d,
                                              up.ptr)
                sent = need
            work.wait_event(up.record())
            with work:
                plan.launch(device_in, b0, b1, i0, i1)
            down.wait_event(work.record())
            first = b0 * image_out + i0 * row_out
            size = (b1 - b0) * image_out if n > 1 else (i1 - i0) * row_out
            cupy.cuda.runtime.memcpyAsync(target_view.ctypes.data + first, plan.out.data.ptr + first, size, d2h,
                                          down.ptr)
        down.synchronize()
    return target if had_channels or out is not None else target[..., 0]


def _pieces(plan: _Plan, pieces: int) -> list[tuple[int, int, int, int]]:
    """``(b0, b1, i0, i1)``: images ``b0:b1``, output rows ``i0:i1`` of each."""
    if plan.n > 1:
        edges = np.linspace(0, plan.n, min(pieces, plan.n) + 1).round().astype(int)
        return [(int(a), int(b), 0, plan.out_h) for a, b in zip(edges, edges[1:]) if b > a]
    edges = np.linspace(0, plan.out_h, min(pieces, plan.out_h) + 1).round().astype(int)
    return [(0, 1, int(a), int(b)) for a, b in zip(edges, edges[1:]) if b > a]
