"""Decode the stored values of a list of planes into one array, then rescale them.

Native little-endian pixel data is read straight from the file into the output array
(``readinto``, no intermediate copy); everything else (JPEG baseline/lossless,
JPEG-LS, JPEG 2000, RLE, deflate, big-endian) goes through pydicom and its pylibjpeg
plugins.  Files are decoded on a thread pool sharing the output array.  Measured on
2 cores: native reads are bound by the page cache or the disk (threads help cold
reads); RLE and libjpeg release the GIL; the OpenJPEG and CharLS bindings hold it, so
JPEG 2000 and JPEG-LS decode one plane at a time whatever the thread count (a process
pool would be needed to spread them over cores).
"""

from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from workstation.core.progress import ProgressFn, report
from workstation.core.study import FrameRef
from workstation.io.dicom_layout import FrameExtra, PixelLayout, frame_key
from workstation.io.errors import DicomReadError

#: ``allocate(shape, dtype)``: makes the arrays decoded values land in (NumPy's
#: ``np.empty``, or page-locked memory for data bound for a GPU).
Allocator = Callable[[tuple[int, ...], Any], np.ndarray]

LUMA = np.array([0.299, 0.587, 0.114])


def default_workers() -> int:
    """Decoder threads: one per core, at most 8 (more only adds contention on disk)."""
    return max(1, min(8, os.cpu_count() or 1))


def read_planes(
    frames: Sequence[FrameRef],
    extras: Mapping[tuple[str, Optional[int]], FrameExtra],
    *,
    progress: Optional[ProgressFn] = None,
    workers: Optional[int] = None,
    allocate: Allocator = np.empty,
) -> tuple[np.ndarray, list[str]]:
    """Stored values of ``frames`` as a ``(n, rows, columns)`` array, in the given order.

    Returns the array (stored dtype, no rescale) and notes on conversions made
    (colour to luminance).  ``allocate(shape, dtype)`` makes the output array.
    """
    layouts = [extras[frame_key(f)].layout for f in frames]
    dtype = np.result_type(*{lay.dtype for lay in layouts})
    rows, columns = layouts[0].rows, layouts[0].columns
    out = allocate((len(frames), rows, columns), dtype)
    by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, f in enumerate(frames):
        by_file[str(f.path)].append((i, f.frame or 0))
    notes: set[str] = set()
    tasks = [(Path(p), jobs, extras[frame_key(frames[jobs[0][0]])].layout) for p, jobs in by_file.items()]
    _run_parallel(
        [partial(_read_file, *t, out, notes) for t in tasks],
        progress,
        "Decoding planes",
        workers or default_workers(),
    )
    return out, sorted(notes)


def _run_parallel(
    calls: Sequence[Callable[[], Any]], progress: Optional[ProgressFn], message: str, workers: int
) -> None:
    """Run ``calls`` on a pool; progress (and cancellation) from this thread."""
    total = len(calls)
    report(progress, 0.0, message)
    if workers <= 1 or total <= 1:
        for i, call in enumerate(calls):
            call()
            report(progress, (i + 1) / total, message)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dicom-decode")
    try:
        futures = [pool.submit(c) for c in calls]
        for done_count, fut in enumerate(as_completed(futures), start=1):
            fut.result()
            report(progress, done_count / total, message)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(n: int, workers: int) -> list[slice]:
    """About four slices of ``range(n)`` per worker, for vectorised work on planes."""
    step = max(1, -(-n // (4 * workers)))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


def _read_file(
    path: Path, jobs: list[tuple[int, int]], layout: PixelLayout, out: np.ndarray, notes: set[str]
) -> None:
    if layout.offset is not None and layout.samples_per_pixel == 1:
        _read_native(path, jobs, layout, out)
    else:
        _read_with_pydicom(path, jobs, layout, out, notes)


def _read_native(path: Path, jobs: list[tuple[int, int]], layout: PixelLayout, out: np.ndarray) -> None:
    nbytes = layout.frame_bytes
    direct = out.dtype == layout.dtype
    try:
        with open(path, "rb", buffering=0) as fh:
            for index, frame in jobs:
                fh.seek(int(layout.offset) + frame * nbytes)  # type: ignore[arg-type]
                target = out[index] if direct else np.empty((layout.rows, layout.columns), layout.dtype)
                got = fh.readinto(target.data.cast("B"))
                if got != nbytes:
                    raise DicomReadError(path, f"truncated pixel data (expected {nbytes} bytes, found {got or 0})")
                _fix_high_bits(target, layout)
                if not direct:
                    out[index] = target
    except OSError as exc:
        raise DicomReadError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None


def _fix_high_bits(plane: np.ndarray, layout: PixelLayout) -> None:
    """Sign-extend or mask values stored in fewer bits than allocated (e.g. 12 in 16)."""
    unused = layout.bits_allocated - layout.bits_stored
    if unused <= 0 or layout.bits_allocated not in (16, 32):
        return
    if layout.pixel_representation == 1:
        np.left_shift(plane, unused, out=plane)
        np.right_shift(plane, unused, out=plane)
    else:
        np.bitwise_and(plane, plane.dtype.type((1 << layout.bits_stored) - 1), out=plane)


def _read_with_pydicom(
    path: Path, jobs: list[tuple[int, int]], layout: PixelLayout, out: np.ndarray, notes: set[str]
) -> None:
    import pydicom

    try:
        ds = pydicom.dcmread(path, force=True)
        pixels = ds.pixel_array
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - codec faults name the file
        syntax = _syntax_name(layout.transfer_syntax)
        raise DicomReadError(path, f"cannot decode pixel data ({syntax}): {exc}") from None
    color = layout.samples_per_pixel > 1
    if layout.n_frames == 1 or (pixels.ndim == (3 if color else 2)):
        pixels = pixels[None]
    if color:
        notes.add("colour planes converted to luminance (0.299 R + 0.587 G + 0.114 B)")
    for index, frame in jobs:
        if frame >= pixels.shape[0]:
            raise DicomReadError(path, f"frame {frame + 1} missing (file holds {pixels.shape[0]})")
        plane = pixels[frame]
        if color:
            plane = np.rint(plane[..., :3] @ LUMA).astype(out.dtype)
        out[index] = plane


def _syntax_name(uid: str) -> str:
    from pydicom.uid import UID

    return UID(uid).name or uid


def rescale(
    raw: np.ndarray,
    slopes: Sequence[float],
    intercepts: Sequence[float],
    *,
    workers: Optional[int] = None,
    allocate: Allocator = np.empty,
) -> tuple[np.ndarray, bool]:
    """Physical values ``raw * slope + intercept`` per plane.

    The result is ``int16`` when every slope and intercept is integral and the
    rescaled range fits, else ``float32``.  ``raw`` may be reused as the output
    buffer; new buffers come from ``allocate``.  Returns the array and whether a
    non-identity rescale was applied.
    """
    s = np.asarray(slopes, dtype=float)
    c = np.asarray(intercepts, dtype=float)
    identity = bool(np.all(s == 1.0) and np.all(c == 0.0))
    n = raw.shape[0]
    workers = workers or default_workers()
    parts = _chunks(n, workers)
    if bool(np.all(s == np.round(s)) and np.all(c == np.round(c))) and raw.dtype.kind in "iu":
        lo = np.empty(n)
        hi = np.empty(n)

        def bounds(part: slice) -> None:
            flat = raw[part].reshape(part.stop - part.start, -1)
            lo[part], hi[part] = flat.min(axis=1), flat.max(axis=1)

        _run_parallel([partial(bounds, p) for p in parts], None, "", workers)
        ends = np.concatenate([lo * s + c, hi * s + c])
        if ends.min() >= -32768 and ends.max() <= 32767:
            if raw.dtype == np.int16 and identity:
                return raw, False
            out = raw.view(np.int16) if raw.dtype.itemsize == 2 else allocate(raw.shape, np.int16)
            si = s.astype(np.int32)[:, None, None]
            ci = c.astype(np.int32)[:, None, None]

            def to_int(part: slice) -> None:
                if raw.dtype == np.int16 and np.all(si[part] == 1):
                    np.add(raw[part], ci[part].astype(np.int16), out=out[part])  # range checked above
                else:
                    out[part] = raw[part].astype(np.int32) * si[part] + ci[part]

            _run_parallel([partial(to_int, p) for p in parts], None, "", workers)
            return out, not identity
    out32 = allocate(raw.shape, np.float32)
    sf, cf = s[:, None, None], c[:, None, None]

    def to_float(part: slice) -> None:
        out32[part] = raw[part] * sf[part] + cf[part]

    _run_parallel([partial(to_float, p) for p in parts], None, "", workers)
    return out32, not identity
