"""Cine export: the frames of a slice range or a time series as one animation.

Animated WebP (lossy or lossless) and GIF go through the chain **cpu** Pillow ->
**library** libvips; MP4 (H.264, yuv420p) is written by FFmpeg through the
``imageio-ffmpeg`` package where it is installed, with ``-map_metadata -1`` so the
container carries no tags.  H.264 needs even sizes: an odd row or column is padded
by repeating the edge.  Frames are rendered by the same pipeline as still images.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, scaled
from workstation.export.chain import CPU, LIBRARY, Step, run_chain
from workstation.export.encode import vips_unavailable
from workstation.export.frames import Frame
from workstation.export.images import ExportResult, render
from workstation.export.options import ImageOptions
from workstation.io.export_files import free_path, staged_path, write_bytes

SUFFIXES = {"webp": ".webp", "gif": ".gif", "mp4": ".mp4"}


def mp4_unavailable() -> str | None:
    """Why MP4 cannot be written here, or ``None``."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 -- not installed, or no FFmpeg binary for this platform
        return f"MP4 needs the imageio-ffmpeg package ({type(exc).__name__}: {exc})"
    return None


def _pillow(images: list[NDArray[np.uint8]], options: ImageOptions) -> bytes:
    from PIL import Image

    pictures = [Image.fromarray(a) for a in images]
    out = io.BytesIO()
    duration = max(1, round(1000.0 / options.fps))
    if options.format == "webp":
        pictures[0].save(out, "WEBP", save_all=True, append_images=pictures[1:], duration=duration, loop=0,
                         quality=options.quality, lossless=options.lossless)
    else:
        pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    return out.getvalue()


def _vips(images: list[NDArray[np.uint8]], options: ImageOptions) -> bytes:
    import pyvips

    h = images[0].shape[0]
    strip = pyvips.Image.new_from_array(np.ascontiguousarray(np.concatenate(images, axis=0)))
    duration = max(1, round(1000.0 / options.fps))
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", h)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [duration] * len(images))
    if options.format == "webp":
        return bytes(strip.webpsave_buffer(Q=options.quality, lossless=options.lossless, keep="none"))
    return bytes(strip.gifsave_buffer(keep="none"))


def even(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``image`` padded by its edge to even height and width (H.264 4:2:0)."""
    pad = [(0, image.shape[0] % 2), (0, image.shape[1] % 2)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode="edge") if any(p[1] for p in pad[:2]) else image


def _write_mp4(path: Path, images: list[NDArray[np.uint8]], options: ImageOptions) -> None:
    import imageio_ffmpeg

    first = even(images[0])
    grey = first.ndim == 2
    writer = imageio_ffmpeg.write_frames(
        str(path), (first.shape[1], first.shape[0]), pix_fmt_in="gray" if grey else "rgb24", fps=options.fps,
        codec="libx264", quality=max(0.0, min(10.0, options.quality / 10.0)), macro_block_size=1,
        output_params=["-map_metadata", "-1"], ffmpeg_log_level="error")
    writer.send(None)
    try:
        for image in images:
            frame = even(image[..., :3] if image.ndim == 3 else image)
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()


def export_cine(frames: Sequence[Frame], options: ImageOptions, path: Path, backend: Backend, *,
                modality: str = "", progress: ProgressFn | None = None) -> ExportResult:
    """Render ``frames`` and write them as one animation at ``path`` (suffix from the format)."""
    if not options.cine:
        raise ValueError("cine options are needed (ImageOptions(cine=True, ...))")
    if not frames:
        raise ValueError("a cine needs at least one frame")
    if options.format == "mp4" and (why := mp4_unavailable()):
        raise RuntimeError(why)
    result = ExportResult(path.parent, "cine", options.to_json(), backend.label)
    rendered = list(render(frames, options, backend, modality=modality, notices=result.notices,
                           progress=scaled(progress, 0.0, 0.8)))
    images = [image for _, image, _ in rendered]
    if len({im.shape for im in images}) > 1:
        raise ValueError("the frames of a cine must all have the same size")
    target = free_path(path.with_suffix(SUFFIXES[options.format]))
    if options.format == "mp4":
        with staged_path(target) as staged:
            _write_mp4(staged, images, options)
        encode_path = "library"
    else:
        steps = [Step(CPU, _pillow), Step(LIBRARY, _vips, vips_unavailable)]
        data, encode_path = run_chain("encode", steps, images, options, notices=result.notices)
        target = write_bytes(target, data)
    paths: dict[str, Any] = {"resize": "+".join(sorted({p for _, _, p in rendered})), "encode": encode_path}
    result.files.append({"file": target.name, "frames": len(images), "width": int(images[0].shape[1]),
                         "height": int(images[0].shape[0]), "fps": options.fps, "paths": paths,
                         "sources": [f.source for f in frames]})
    return result
