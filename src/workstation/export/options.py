"""What an image export asks for: format, size, window, quality, watermark (frozen, checked)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workstation.compute.resize import KERNELS
from workstation.export.encode import FORMATS, EncodeSettings

#: Animated formats for a cine (MP4 needs the ``imageio-ffmpeg`` package).
CINE_FORMATS = ("webp", "gif", "mp4")


@dataclass(frozen=True)
class ImageOptions:
    """Options of an image or cine export.

    ``size`` is a ``(width, height)`` box the image is fitted into (0: that side free),
    ``scale`` multiplies the size at square pixels; ``window`` is ``(width, level)`` in
    the image's units (``None``: each frame's own).  ``bit_depth`` 16 writes grey PNGs
    on 0-65535 with nothing burnt in.  ``fps`` is the cine frame rate.
    """

    format: str = "png"
    size: tuple[int, int] | None = None
    scale: float | None = None
    kernel: str = "lanczos3"
    window: tuple[float, float] | None = None
    bit_depth: int = 8
    quality: int = 90
    subsampling: str = "4:2:0"
    lossless: bool = False
    watermark: str = ""
    fps: float = 10.0
    cine: bool = False

    def __post_init__(self) -> None:
        allowed = CINE_FORMATS if self.cine else FORMATS
        if self.format not in allowed:
            what = "cine" if self.cine else "image"
            raise ValueError(f"unknown {what} format {self.format!r}; use one of {', '.join(allowed)}")
        if self.size is not None and self.scale is not None:
            raise ValueError("give a size or a scale, not both")
        if self.scale is not None and not 0 < self.scale <= 16:
            raise ValueError(f"scale must be in (0, 16], got {self.scale}")
        if self.size is not None and (min(self.size) < 0 or max(self.size) < 1 or max(self.size) > 16384):
            raise ValueError(f"size must be 1-16384 pixels, got {self.size[0]}x{self.size[1]}")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown resize kernel {self.kernel!r}; known: {', '.join(KERNELS)}")
        if self.window is not None and not self.window[0] >= 1:
            raise ValueError(f"window width must be at least 1, got {self.window[0]}")
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit depth must be 8 or 16, got {self.bit_depth}")
        if self.bit_depth == 16 and (self.format != "png" or self.cine):
            raise ValueError("16-bit output is for PNG images only")
        if self.bit_depth == 16 and self.watermark:
            raise ValueError("16-bit PNGs carry no burnt-in text; use 8 bits for a watermark")
        if not 0.1 <= self.fps <= 120:
            raise ValueError(f"frame rate must be 0.1-120 per second, got {self.fps}")
        if not self.cine:
            self.encode_settings()  # checks quality and subsampling

    def encode_settings(self) -> EncodeSettings:
        return EncodeSettings(format=self.format, quality=self.quality, subsampling=self.subsampling,
                              lossless=self.lossless)

    def to_json(self) -> dict[str, Any]:
        """The options for ``export.json`` (the watermark text is the user's own)."""
        out = asdict(self)
        out["size"] = None if self.size is None else list(self.size)
        out["window"] = None if self.window is None else list(self.window)
        return out
