"""Window, overlay and resize a batch of frames through the fallback chain.

* **gpu**: one upload (pinned staging, :mod:`workstation.compute.transfer`), the window
  and overlay blend written against ``xp``, the CUDA resize kernels, one download;
* **cpu**: the same code on NumPy (the resize kernels' twin: the same bits);
* **library**: the window on NumPy, Pillow's resize (the same kernels, widened when
  shrinking; it truncates the kernel at the edges where we clamp).

All three return a host array of the requested size; the CPU's output equals the
GPU's, Pillow's is within 50 dB PSNR of it (``tests/unit/test_export_chain.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.compute.backend import Backend
from workstation.compute.resize import resize_batch
from workstation.compute.windowing import window_values
from workstation.export.chain import CPU, GPU, LIBRARY, Notices, Step, run_chain

#: ``(width, level, output dtype)`` of the grey-scale window, or ``None`` for images
#: that are already 8-bit (snapshots, RGB).
Window = tuple[float, float, Any] | None


def blend(xp: Any, grey: Any, overlay: Any) -> Any:
    """Straight-alpha RGBA ``overlay`` (N, H, W, 4) over uint8 ``grey`` (N, H, W): RGB uint8."""
    alpha = overlay[..., 3:4].astype(xp.float32) / xp.float32(255.0)
    base = grey[..., None].astype(xp.float32)
    out = overlay[..., :3].astype(xp.float32) * alpha + base * (xp.float32(1.0) - alpha)
    return xp.rint(out).astype(xp.uint8)


def prepare(xp: Any, values: Any, window: Window, overlay: Any = None) -> Any:
    """Windowed (and overlaid) frames at their own size, in ``xp``."""
    image = values if window is None else window_values(values, window[0], window[1], window[2], xp=xp)
    if overlay is not None:
        if image.dtype != xp.uint8 or image.ndim != 3:
            raise ValueError("overlays are blended over 8-bit grey frames only")
        image = blend(xp, image, overlay)
    return image


def _gpu(values: NDArray[Any], shape: tuple[int, int], kernel: str, window: Window,
         overlay: NDArray[np.uint8] | None, backend: Backend) -> NDArray[Any]:
    from workstation.compute.transfer import upload

    xp = backend.xp
    with xp.cuda.Device(backend.device_id):
        device_values = upload(np.ascontiguousarray(values), backend.device_id or 0)
        device_overlay = None if overlay is None else xp.asarray(overlay)
        image = prepare(xp, device_values, window, device_overlay)
        return xp.asnumpy(resize_batch(image, shape, kernel=kernel))


def _cpu(values: NDArray[Any], shape: tuple[int, int], kernel: str, window: Window,
         overlay: NDArray[np.uint8] | None, backend: Backend) -> NDArray[Any]:
    return np.asarray(resize_batch(prepare(np, values, window, overlay), shape, kernel=kernel))


def pillow_resize(image: NDArray[Any], shape: tuple[int, int], kernel: str) -> NDArray[Any]:
    """One ``(H, W[, C])`` image resized by Pillow with the same kernel (8-bit modes, or float
    per channel for 16-bit), rounded and clipped like ours."""
    from PIL import Image

    filters = {"lanczos3": Image.Resampling.LANCZOS, "catmull-rom": Image.Resampling.BICUBIC,
               "bilinear": Image.Resampling.BILINEAR}
    size = (shape[1], shape[0])
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[-1] in (3, 4)):
        return np.asarray(Image.fromarray(image).resize(size, filters[kernel]))
    planes = image[..., None] if image.ndim == 2 else image
    out = np.stack([np.asarray(Image.fromarray(planes[..., c].astype(np.float32), mode="F")
                               .resize(size, filters[kernel])) for c in range(planes.shape[-1])], axis=-1)
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(image.dtype)
    return out if image.ndim == 3 else out[..., 0]


def _library(values: NDArray[Any], shape: tuple[int, int], kernel: str, window: Window,
             overlay: NDArray[np.uint8] | None, backend: Backend) -> NDArray[Any]:
    image = prepare(np, values, window, overlay)
    return np.stack([pillow_resize(frame, shape, kernel) for frame in image])


def _gpu_unavailable(backend: Backend) -> str | None:
    return None if backend.is_gpu else "the compute device is the CPU"


def steps(backend: Backend) -> list[Step]:
    """The resize stage's chain for ``backend``: GPU (when it is one), CPU, Pillow."""
    return [Step(GPU, _gpu, lambda: _gpu_unavailable(backend)), Step(CPU, _cpu), Step(LIBRARY, _library)]


def resize_frames(values: NDArray[Any], shape: tuple[int, int], kernel: str, backend: Backend, *,
                  window: Window = None, overlay: NDArray[np.uint8] | None = None,
                  notices: Notices | None = None) -> tuple[NDArray[Any], str]:
    """Frames ``(N, H, W[, C])`` windowed, overlaid and resized to ``shape = (h, w)``.

    Returns the host array and the chain step that made it (``gpu``, ``cpu``, ``library``).
    """
    return run_chain("resize", steps(backend), values, shape, kernel, window, overlay, backend, notices=notices)
