"""Encode an image as PNG (8/16-bit), JPEG (quality, 4:2:0 or 4:4:4) or WebP (lossy/lossless).

The chain per format (:mod:`workstation.export.chain`):

* JPEG: **gpu** nvImageCodec's nvJPEG encoder (the ``nvidia-nvimgcodec-cu13`` package,
  with nvJPEG, on a CUDA backend) -> **cpu** Pillow -> **library** libvips (pyvips);
* PNG, WebP: **cpu** Pillow -> **library** libvips.

No path writes metadata: no text chunks, no EXIF/XMP, no ICC profile, so an exported
image carries nothing but its pixels (and the libraries' format headers).  Every path
gives an image of the same size; lossless outputs decode to the same pixels, JPEG and
lossy WebP within the PSNR the tests state.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.compute.backend import Backend
from workstation.export.chain import CPU, GPU, LIBRARY, Notices, Step, run_chain

FORMATS = ("png", "jpeg", "webp")
SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


@dataclass(frozen=True)
class EncodeSettings:
    """How to encode: ``format`` (png, jpeg, webp), JPEG/WebP ``quality`` 1-100, JPEG
    chroma ``subsampling`` (``4:2:0`` or ``4:4:4``), WebP ``lossless``, PNG ``compression`` 0-9."""

    format: str = "png"
    quality: int = 90
    subsampling: str = "4:2:0"
    lossless: bool = False
    compression: int = 6

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown image format {self.format!r}; use one of {', '.join(FORMATS)}")
        if not 1 <= int(self.quality) <= 100:
            raise ValueError(f"quality must be 1-100, got {self.quality}")
        if self.subsampling not in ("4:2:0", "4:4:4"):
            raise ValueError(f"chroma subsampling must be 4:2:0 or 4:4:4, got {self.subsampling!r}")
        if not 0 <= int(self.compression) <= 9:
            raise ValueError(f"PNG compression must be 0-9, got {self.compression}")


def check_image(image: NDArray[Any], settings: EncodeSettings) -> None:
    """Refuse what a format cannot hold (before any path is tried)."""
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(f"an encodable image is (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.dtype == np.uint16:
        if settings.format != "png" or image.ndim != 2:
            raise ValueError("16-bit output is for grey-scale PNG only")
    elif image.dtype != np.uint8:
        raise ValueError(f"images are encoded from uint8 or uint16, not {image.dtype}")


def _pillow(image: NDArray[Any], s: EncodeSettings) -> bytes:
    from PIL import Image

    picture = Image.fromarray(image)
    out = io.BytesIO()
    if s.format == "png":
        picture.save(out, "PNG", compress_level=s.compression)
    elif s.format == "jpeg":
        if picture.mode == "RGBA":
            picture = picture.convert("RGB")
        picture.save(out, "JPEG", quality=s.quality, subsampling=0 if s.subsampling == "4:4:4" else 2)
    else:
        picture.save(out, "WEBP", quality=s.quality, lossless=s.lossless, method=4)
    return out.getvalue()


def _vips(image: NDArray[Any], s: EncodeSettings) -> bytes:
    import pyvips

    picture = pyvips.Image.new_from_array(np.ascontiguousarray(image))
    if image.dtype == np.uint16:
        picture = picture.copy(interpretation="grey16")
    if s.format == "png":
        return bytes(picture.pngsave_buffer(compression=s.compression, keep="none"))
    if s.format == "jpeg":
        if picture.bands == 4:
            picture = picture.extract_band(0, n=3)
        return bytes(picture.jpegsave_buffer(Q=s.quality, subsample_mode="off" if s.subsampling == "4:4:4" else "on",
                                              keep="none"))
    return bytes(picture.webpsave_buffer(Q=s.quality, lossless=s.lossless, keep="none"))


def vips_unavailable() -> str | None:
    try:
        import pyvips  # noqa: F401
    except Exception as exc:  # noqa: BLE001 -- ImportError, or libvips failing to load
        return f"pyvips does not load: {exc}"
    return None


_encoders: dict[int, Any] = {}
_encoders_lock = threading.Lock()


def _nvimgcodec_encoder(device_id: int) -> Any:
    from nvidia import nvimgcodec

    with _encoders_lock:
        if device_id not in _encoders:
            _encoders[device_id] = nvimgcodec.Encoder(
                device_id=device_id, backends=[nvimgcodec.Backend(nvimgcodec.BackendKind.GPU_ONLY)])
        return _encoders[device_id]


def _gpu(image: NDArray[Any], s: EncodeSettings, backend: Backend) -> bytes:
    from nvidia import nvimgcodec

    cupy = backend.xp
    with cupy.cuda.Device(backend.device_id):
        device = cupy.ascontiguousarray(cupy.asarray(image[..., :3] if image.ndim == 3 else image))
        if device.ndim == 2:
            chroma = nvimgcodec.ChromaSubsampling.CSS_GRAY
        elif s.subsampling == "4:4:4":
            chroma = nvimgcodec.ChromaSubsampling.CSS_444
        else:
            chroma = nvimgcodec.ChromaSubsampling.CSS_420
        params = nvimgcodec.EncodeParams(quality_type=nvimgcodec.QualityType.QUALITY, quality_value=float(s.quality),
                                         chroma_subsampling=chroma)
        stream = cupy.cuda.get_current_stream()
        coded = _nvimgcodec_encoder(backend.device_id or 0).encode(device, "jpeg", params=params,
                                                                   cuda_stream=stream.ptr)
    if coded is None:
        raise RuntimeError("nvImageCodec has no GPU JPEG encoder here (is nvJPEG installed?)")
    return bytes(coded)


def _gpu_unavailable(backend: Backend) -> str | None:
    if not backend.is_gpu:
        return "the compute device is the CPU"
    try:
        from nvidia import nvimgcodec  # noqa: F401
    except Exception as exc:  # noqa: BLE001 -- ImportError, or CUDA libraries failing to load
        return f"nvImageCodec is not installed or does not load ({type(exc).__name__})"
    return None


def steps(settings: EncodeSettings, backend: Backend) -> list[Step]:
    """The encode stage's chain for ``settings.format`` on ``backend``."""
    chain = [Step(CPU, lambda image: _pillow(image, settings)),
             Step(LIBRARY, lambda image: _vips(image, settings), vips_unavailable)]
    if settings.format == "jpeg":
        chain.insert(0, Step(GPU, lambda image: _gpu(image, settings, backend), lambda: _gpu_unavailable(backend)))
    return chain


def encode(image: NDArray[Any], settings: EncodeSettings, backend: Backend, *,
           notices: Notices | None = None) -> tuple[bytes, str]:
    """``image`` encoded per ``settings``; returns the bytes and the step that made them."""
    check_image(image, settings)
    return run_chain("encode", steps(settings, backend), np.ascontiguousarray(image), notices=notices)
