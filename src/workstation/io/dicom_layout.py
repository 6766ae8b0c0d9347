"""Plain records describing where and how a plane's stored values live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from workstation.core.study import FrameRef


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
        return self.rows * self.columns * self.samples_per_pixel * self.dtype.itemsize


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
