"""Colour images as they are meant to be seen: RGB, YBR and palette colour planes, supplemental palettes.

The loader keeps the luminance of a colour image (or the palette indices) in
``Volume.array`` for analyses and windowing; this module decodes the display colour,
``(planes, rows, columns, 3)`` ``uint8``, in the volume's plane order:

* RGB and YBR_* (pydicom converts YCbCr to RGB when decoding); more than 8 stored bits
  are scaled down to 8;
* PALETTE COLOR: the Red/Green/Blue Palette Color Lookup Tables (PS3.3 C.7.6.3.1.5),
  through pydicom's :func:`~pydicom.pixels.apply_color_lut`;
* an Enhanced CT/MR/PET image with a Supplemental Palette Color LUT (PixelPresentation
  COLOR or MIXED, PS3.3 C.7.6.19) stays grey scale except for the stored values the
  palette covers: :func:`supplemental_palette` returns that palette in physical units,
  for the viewer to apply after windowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.core.study import FrameRef
from workstation.io.dicom_layout import COLOUR
from workstation.io.dicom_values import as_float, as_floats, first_text, optional
from workstation.io.errors import DicomReadError

PALETTE = "PALETTE COLOR"


@dataclass(frozen=True, eq=False)
class SupplementalPalette:
    """Colours for the values ``first + k * step`` (k = 0 .. len(lut) - 1), physical units."""

    first: float
    step: float
    lut: NDArray[np.uint8]  # (n, 3)

    def to_meta(self) -> dict[str, Any]:
        return {"first": self.first, "step": self.step, "lut": self.lut}


def is_colour(photometric: str) -> bool:
    """Whether images of this PhotometricInterpretation are displayed in colour."""
    return photometric in COLOUR or photometric == PALETTE


def to_uint8(rgb: NDArray[Any], bits: int) -> NDArray[np.uint8]:
    """Colour samples of ``bits`` significant bits as 8-bit values (rounded)."""
    if rgb.dtype == np.uint8 or bits <= 8:
        return np.clip(rgb, 0, 255).astype(np.uint8)
    scale = 255.0 / float((1 << bits) - 1)
    return np.clip(np.rint(rgb.astype(np.float32) * scale), 0, 255).astype(np.uint8)


def _palette_rgb(ds: Any, indices: NDArray[Any]) -> NDArray[np.uint8]:
    from pydicom.pixels import apply_color_lut

    rgb = np.asarray(apply_color_lut(indices, ds))
    descriptor = as_floats(optional(ds, "RedPaletteColorLookupTableDescriptor"), 3)
    bits = int(descriptor[2]) if descriptor is not None else 8
    return to_uint8(rgb, 16 if rgb.dtype.itemsize > 1 and bits > 8 else 8)


def _assume_syntax(ds: Any) -> None:
    """A file without file meta (old, raw datasets) is uncompressed in the encoding it was read in."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (True, True))
    syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    meta.TransferSyntaxUID = syntax


def _decode(path: Path) -> tuple[Any, NDArray[Any]]:
    from workstation.io.dicom_open import open_dataset

    ds = open_dataset(path, defer=False)
    _assume_syntax(ds)
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as exc:  # noqa: BLE001 - a codec fault is a fault of the file
        raise DicomReadError(path, f"cannot decode colour pixel data ({type(exc).__name__})") from None
    return ds, pixels


def colour_planes(frames: Sequence[FrameRef], photometric: str) -> Optional[NDArray[np.uint8]]:
    """Display colour of ``frames`` (in order) as ``(n, rows, columns, 3)`` uint8; ``None`` for grey images.

    Raises :class:`DicomReadError` naming the file when its colour cannot be decoded.
    """
    if not frames or not is_colour(photometric):
        return None
    out = np.zeros((len(frames), frames[0].rows, frames[0].columns, 3), dtype=np.uint8)
    by_file: dict[Path, list[tuple[int, int]]] = {}
    for i, f in enumerate(frames):
        by_file.setdefault(Path(f.path), []).append((i, f.frame or 0))
    for path, jobs in by_file.items():
        ds, pixels = _decode(path)
        n_frames = int(as_float(optional(ds, "NumberOfFrames")) or 1)
        colour = first_text(optional(ds, "PhotometricInterpretation")).upper() != PALETTE
        if n_frames == 1 or pixels.ndim == (3 if colour else 2):
            pixels = pixels[None]
        bits = int(as_float(optional(ds, "BitsStored")) or 8)
        for index, frame in jobs:
            if frame >= pixels.shape[0] or pixels.shape[1:3] != out.shape[1:3]:
                raise DicomReadError(path, f"colour frame {frame + 1} does not fit the series ({pixels.shape})")
            plane = pixels[frame]
            out[index] = to_uint8(plane[..., :3], bits) if colour else _palette_rgb(ds, plane)
    return out


def supplemental_palette(path: Path, slope: float = 1.0, intercept: float = 0.0) -> Optional[SupplementalPalette]:
    """The Supplemental Palette Color LUT of an image, mapped to physical values; ``None`` when absent.

    ``slope``/``intercept`` are the modality rescale the loader applied, so the palette
    applies to the same values the volume holds.
    """
    from workstation.io.dicom_open import open_dataset

    ds = open_dataset(Path(path), defer=False)
    presentation = first_text(optional(ds, "PixelPresentation")).upper()
    descriptor = as_floats(optional(ds, "RedPaletteColorLookupTableDescriptor"), 3)
    if presentation not in ("COLOR", "MIXED") or descriptor is None:
        return None
    n = int(descriptor[0]) or 65536
    first = int(descriptor[1])
    palette = ds.copy()
    palette.PhotometricInterpretation = PALETTE
    for keyword in ("PixelPresentation",):
        if keyword in palette:
            delattr(palette, keyword)
    try:
        lut = _palette_rgb(palette, np.arange(first, first + n, dtype=np.int64))
    except Exception as exc:  # noqa: BLE001 - a malformed palette is a fault of the file
        raise DicomReadError(Path(path), f"unreadable supplemental palette ({type(exc).__name__})") from None
    return SupplementalPalette(first * slope + intercept, slope, lut.reshape(n, 3))
