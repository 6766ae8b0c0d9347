"""Series thumbnails: the middle frame, downsampled and windowed, made off the GUI thread."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.progress import ProgressFn, report
from workstation.core.study import Series
from workstation.compute.windowing import default_window, window_to_uint8

SIZE = 64


def downsample_to(image: NDArray[Any], size: int = SIZE) -> NDArray[Any]:
    """Block-mean ``image`` so that its longer side is at most ``size`` pixels."""
    step = max(1, int(np.ceil(max(image.shape) / size)))
    h, w = (image.shape[0] // step) * step, (image.shape[1] // step) * step
    if step == 1 or h == 0 or w == 0:
        return np.asarray(image, dtype=np.float32)
    blocks = np.asarray(image[:h, :w], dtype=np.float32).reshape(h // step, step, w // step, step)
    return blocks.mean(axis=(1, 3))


def middle_frame(series: Series) -> Optional[NDArray[Any]]:
    """Physical values of the middle frame of ``series`` (``None`` when unreadable)."""
    if not series.frames:
        return None
    import pydicom
    from pydicom.pixels import apply_modality_lut

    ref = series.frames[len(series.frames) // 2]
    ds = pydicom.dcmread(ref.path)
    pixels = ds.pixel_array
    if ref.frame is not None and pixels.ndim >= 3 and getattr(ds, "NumberOfFrames", 1) > 1:
        pixels = pixels[ref.frame]
    if pixels.ndim != 2:  # colour or unexpected layout: use the first channel
        pixels = pixels[..., 0]
    return np.asarray(apply_modality_lut(pixels, ds), dtype=np.float32)


def thumbnail(series: Series) -> Optional[NDArray[np.uint8]]:
    """A windowed uint8 thumbnail of the middle frame, or ``None``."""
    frame = middle_frame(series)
    if frame is None:
        return None
    small = downsample_to(frame)
    width, level = default_window(small[None], series.modality)
    return np.ascontiguousarray(window_to_uint8(small, width, level))


def thumbnails(series_list: list[Series], progress: Optional[ProgressFn] = None) -> dict[str, NDArray[np.uint8]]:
    """Thumbnails keyed by series UID; unreadable series are left out."""
    out: dict[str, NDArray[np.uint8]] = {}
    for i, series in enumerate(series_list):
        report(progress, i / max(len(series_list), 1), f"thumbnail {i + 1}/{len(series_list)}")
        try:
            image = thumbnail(series)
        except Exception:  # a thumbnail is a nicety: the load report names real problems
            image = None
        if image is not None:
            out[series.uid] = image
    report(progress, 1.0, "thumbnails ready")
    return out
