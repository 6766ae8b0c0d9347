"""Plain records describing where and how a plane's stored values live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from workstation.core.study import FrameRef
from workstation.io.errors import DicomReadError

SUPPORTED_BITS = (1, 8, 16, 32)
MONOCHROME = ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR")
COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420", "YBR_PARTIAL_422")


@dataclass(frozen=True)
class PixelLayout:
    """How the stored values of one file are laid out.

    ``offset`` is the byte position of the pixel data in the file when it is stored
    native little-endian and can be read straight into an array; ``None`` otherwise
    (compressed, big-endian, deflated), where pydicom decodes it.
    """

    transfer_syntax: str
    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    n_frames: int
    offset: Optional[int] = None

    @property
    def dtype(self) -> np.dtype[Any]:
        """The NumPy dtype of one stored sample."""
        kind = "i" if self.pixel_representation == 1 else "u"
        size = max(1, self.bits_allocated // 8)
        return np.dtype(f"<{kind}{size}")

    @property
    def frame_bytes(self) -> int:
        """Bytes of one decoded frame (all samples)."""
        return self.rows * self.columns * self.samples_per_pixel * self.dtype.itemsize

    @property
    def stored_frame_bytes(self) -> int:
        """Bytes of one frame as stored uncompressed (YBR_FULL_422 keeps 2 samples per pixel)."""
        if self.photometric == "YBR_FULL_422":
            return self.rows * self.columns * 2 * self.dtype.itemsize
        return self.frame_bytes


def check_layout(path: Path, layout: PixelLayout) -> None:
    """Raise :class:`DicomReadError` for pixel attributes no decoder can honour.

    BitsAllocated must be 1, 8, 16 or 32 and hold BitsStored; PixelRepresentation
    0 or 1; SamplesPerPixel 1 (MONOCHROME1/2, PALETTE COLOR) or 3 (RGB, YBR_*).
    """
    bits, stored, spp = layout.bits_allocated, layout.bits_stored, layout.samples_per_pixel
    if bits not in SUPPORTED_BITS:
        raise DicomReadError(path, f"BitsAllocated {bits} is not supported (1, 8, 16 or 32)")
    if not 1 <= stored <= bits:
        raise DicomReadError(path, f"BitsStored {stored} does not fit in BitsAllocated {bits}")
    if layout.pixel_representation not in (0, 1):
        raise DicomReadError(path, f"PixelRepresentation {layout.pixel_representation} is neither 0 nor 1")
    allowed = MONOCHROME if spp == 1 else COLOUR if spp == 3 else ()
    if not allowed:
        raise DicomReadError(path, f"SamplesPerPixel {spp} is not supported (1 or 3)")
    if layout.photometric not in allowed:
        raise DicomReadError(
            path, f"PhotometricInterpretation {layout.photometric!r} does not go with SamplesPerPixel {spp}")
    if bits == 1 and spp != 1:
        raise DicomReadError(path, "1-bit pixel data must have one sample per pixel")


@dataclass(frozen=True)
class FrameExtra:
    """What the decoder needs about one plane besides its position."""

    layout: PixelLayout
    slope: float = 1.0
    intercept: float = 0.0
    window: Optional[tuple[float, float]] = None
    trigger_time_s: Optional[float] = None


def frame_key(ref: FrameRef) -> tuple[str, Optional[int]]:
    """The key of a plane in the per-frame tables: (file path, frame number)."""
    return (str(ref.path), ref.frame)
