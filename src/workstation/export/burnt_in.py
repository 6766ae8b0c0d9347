"""Images whose pixels may carry identity (burnt-in text): mask them or refuse them.

What the header says decides (no text detector is run):

* ``BurnedInAnnotation`` NO: nothing to do, whatever the modality;
* ultrasound with ``SequenceOfUltrasoundRegions``: everything outside the union of the
  regions (where scanners print the name, the date and the settings) is set to black,
  in every frame; the object is then marked ``BurnedInAnnotation`` NO and written
  uncompressed (Clean Pixel Data option);
* otherwise ultrasound, secondary capture, or ``BurnedInAnnotation`` YES: refused for a
  de-identified export, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

SECONDARY_CAPTURE_ROOT = "1.2.840.10008.5.1.4.1.1.7"
ULTRASOUND_CLASSES = ("1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1")


@dataclass(frozen=True)
class BurntIn:
    """The verdict for one object: ``action`` is ``none``, ``mask`` or ``refuse``."""

    action: str
    reason: str = ""
    regions: tuple[tuple[int, int, int, int], ...] = ()  # (x0, y0, x1, y1), inclusive


def _regions(ds: Dataset) -> tuple[tuple[int, int, int, int], ...]:
    out = []
    for item in ds.get("SequenceOfUltrasoundRegions", []) or []:
        try:
            box = (int(item.RegionLocationMinX0), int(item.RegionLocationMinY0),
                   int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1))
        except (AttributeError, TypeError, ValueError):
            continue
        if box[2] >= box[0] and box[3] >= box[1]:
            out.append(box)
    return tuple(out)


def assess(ds: Dataset) -> BurntIn:
    """Whether ``ds``'s pixels need masking before a de-identified export."""
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "NO":
        return BurntIn("none")
    sop_class = str(ds.get("SOPClassUID", "") or "")
    modality = str(ds.get("Modality", "") or "").upper()
    ultrasound = modality == "US" or sop_class in ULTRASOUND_CLASSES
    if ultrasound and (regions := _regions(ds)):
        return BurntIn("mask", "ultrasound: outside its data regions", regions)
    if flag == "YES":
        return BurntIn("refuse", "the header says the pixels carry burnt-in annotation (BurnedInAnnotation YES) "
                                 "and gives no region to keep")
    if ultrasound:
        return BurntIn("refuse", "ultrasound images usually carry burnt-in text and this one has no "
                                 "SequenceOfUltrasoundRegions saying where the image data is")
    if sop_class.startswith(SECONDARY_CAPTURE_ROOT):
        return BurntIn("refuse", "secondary captures (screenshots) may show identity in their pixels and "
                                 "the header does not say they do not (BurnedInAnnotation)")
    return BurntIn("none")


def _black(ds: Dataset, dtype: Any) -> Any:
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric == "MONOCHROME1":
        return np.iinfo(dtype).max if np.dtype(dtype).kind in "iu" else 1.0
    if photometric.startswith("YBR"):
        mid = 1 << (int(ds.get("BitsStored", 8)) - 1)
        return np.array([0, mid, mid], dtype=dtype)
    return 0


def mask_outside(ds: Dataset, regions: tuple[tuple[int, int, int, int], ...]) -> NDArray[Any]:
    """Black out every pixel outside ``regions``; the pixels are stored uncompressed.

    Returns the new pixel array.  Colour stays in its photometric interpretation
    (YBR is stored full-resolution as ``YBR_FULL``).
    """
    from pydicom.pixels import pixel_array

    pixels = np.array(pixel_array(ds, raw=True))
    rows, cols = int(ds.Rows), int(ds.Columns)
    keep = np.zeros((rows, cols), dtype=bool)
    for x0, y0, x1, y1 in regions:
        keep[max(0, y0):min(rows, y1 + 1), max(0, x0):min(cols, x1 + 1)] = True
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    colour = int(ds.get("SamplesPerPixel", 1) or 1) > 1
    view = pixels.reshape((frames, rows, cols) + ((pixels.shape[-1],) if colour else ()))
    view[:, ~keep] = _black(ds, pixels.dtype)
    photometric = str(ds.PhotometricInterpretation)
    if photometric.startswith("YBR"):
        photometric = "YBR_FULL"
    ds.set_pixel_data(pixels, photometric, int(ds.BitsStored))
    if "PlanarConfiguration" in ds and colour:
        ds.PlanarConfiguration = 0
    ds.BurnedInAnnotation = "NO"
    return pixels
