"""Host <-> GPU copies through pinned memory, overlapping host copies and DMA.

Copies from pageable host memory run at 7.5-11 GB/s, from pinned (page-locked)
memory at about 50 GB/s.  :func:`upload_frames` copies host arrays into a ring of
pinned staging buffers on several host threads and queues each buffer's transfer as
soon as it is filled, so host copies and DMA overlap; the frames land in one
``(frame, element)`` device array in their own dtype (int16 stays int16).
:func:`upload` does the same for one array of any shape.  :func:`download` fetches
device arrays into pinned host memory (CuPy's pinned pool keeps the blocks for the
next call) and returns NumPy views of it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

#: Bytes per staging buffer and number of buffers in the ring.
STAGE_BYTES = 8 * 2**20
STAGES = 16
#: Arrays smaller than this are copied directly (staging would not pay off).
DIRECT_BYTES = 4 * 2**20
_POOL: ThreadPoolExecutor | None = None
_RING: dict[tuple[int, int, int], list[Any]] = {}
_RING_LOCK = threading.Lock()


def _ring(device_id: int, count: int, nbytes: int) -> list[Any]:
    """Pinned staging buffers kept for the process (allocating pinned memory is slow)."""
    import cupyx

    key = (device_id, count, nbytes)
    if key not in _RING:
        _RING.clear()
        _RING[key] = [cupyx.empty_pinned(nbytes, dtype=np.uint8) for _ in range(count)]
    return _RING[key]


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(STAGES, 16), thread_name_prefix="upload")
    return _POOL


def upload_frames(frames: Sequence[NDArray[Any]], device_id: int, method: str = "pinned") -> Any:
    """Host arrays of equal size as one ``(len(frames), size)`` CuPy array on ``device_id``.

    ``method``: ``pinned`` (staged through pinned buffers), ``registered`` (frames
    page-locked in place for the copy) or ``pageable`` (plain copies).  The result has
    the frames' common dtype.
    """
    import cupy

    flat_frames = [np.ascontiguousarray(f).reshape(-1) for f in frames]
    dtype = np.result_type(*[f.dtype for f in flat_frames])
    n_el = flat_frames[0].size
    if any(f.size != n_el for f in flat_frames):
        raise ValueError("frames differ in size")
    with cupy.cuda.Device(device_id):
        out = cupy.empty((len(flat_frames), n_el), dtype=dtype)
        if method == "pageable" or out.nbytes < DIRECT_BYTES:
            for k, f in enumerate(flat_frames):
                out[k].set(f.astype(dtype, copy=False))
            return out
        if method == "registered":
            _upload_registered(flat_frames, out, dtype)
            return out
        if method != "pinned":
            raise ValueError(f"unknown upload method {method!r}")
        with _RING_LOCK:  # one staged upload at a time shares the ring
            _upload_pinned(flat_frames, out, dtype, device_id)
    return out


def upload(array: NDArray[Any], device_id: int) -> Any:
    """One host array as a CuPy array of the same shape and dtype, staged through pinned memory."""
    return upload_frames([array], device_id)[0].reshape(array.shape)


def _upload_registered(frames: list[NDArray[Any]], out: Any, dtype: Any) -> None:
    """Page-lock each frame in place and DMA straight from it."""
    import cupy

    stream = cupy.cuda.get_current_stream()
    for k, f in enumerate(frames):
        f = np.ascontiguousarray(f, dtype=dtype)
        cupy.cuda.runtime.hostRegister(f.ctypes.data, f.nbytes, 0)
        try:
            cupy.cuda.runtime.memcpyAsync(out[k].data.ptr, f.ctypes.data, f.nbytes,
                                          cupy.cuda.runtime.memcpyHostToDevice, stream.ptr)
            stream.synchronize()
        finally:
            cupy.cuda.runtime.hostUnregister(f.ctypes.data)


def _upload_pinned(frames: list[NDArray[Any]], out: Any, dtype: Any, device_id: int) -> None:
    import cupy

    n_el = frames[0].size
    flat = out.reshape(-1)
    per = max(1, STAGE_BYTES // np.dtype(dtype).itemsize)
    pieces = [(k, a, min(n_el, a + per)) for k in range(len(frames)) for a in range(0, n_el, per)]
    n_stage = min(STAGES, len(pieces))
    stages = [b.view(dtype) for b in _ring(device_id, STAGES, per * np.dtype(dtype).itemsize)][:n_stage]
    streams = [cupy.cuda.Stream(non_blocking=True) for _ in range(n_stage)]
    locks = [threading.Lock() for _ in range(n_stage)]

    def work(i: int) -> None:
        k, a, b = pieces[i]
        slot = i % n_stage
        with locks[slot], cupy.cuda.Device(device_id):
            streams[slot].synchronize()  # the previous transfer from this buffer is done
            buf = stages[slot][: b - a]
            np.copyto(buf, frames[k][a:b], casting="unsafe")
            dst = flat[k * n_el + a: k * n_el + b]
            cupy.cuda.runtime.memcpyAsync(dst.data.ptr, buf.ctypes.data, buf.nbytes,
                                          cupy.cuda.runtime.memcpyHostToDevice, streams[slot].ptr)

    list(_pool().map(work, range(len(pieces))))
    for s in streams:
        s.synchronize()


def download(arrays: Sequence[Any]) -> list[NDArray[Any]]:
    """Host copies of device arrays, through pinned memory (one synchronisation)."""
    import cupy
    import cupyx

    stream = cupy.cuda.get_current_stream()
    hosts = []
    for a in arrays:
        a = cupy.ascontiguousarray(a)
        h = cupyx.empty_pinned(a.shape, dtype=a.dtype)
        cupy.cuda.runtime.memcpyAsync(h.ctypes.data, a.data.ptr, a.nbytes,
                                      cupy.cuda.runtime.memcpyDeviceToHost, stream.ptr)
        hosts.append(h)
    stream.synchronize()
    return hosts
