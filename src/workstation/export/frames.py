"""What gets exported, as plain data: 2D frames with their names, overlays and text.

A :class:`Frame` is one image to write: physical values (windowed on export) or an
RGB(A) snapshot, the file stem (series and instance number, never a patient name) and
what is burnt into it.  :func:`volume_frames` cuts frames out of a volume along any
axis in the viewer's radiological orientation (:mod:`workstation.core.slice_geometry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.core.slice_geometry import SlicePlane
from workstation.core.volume import Volume
from workstation.export.burnin import Annotations, ColourBar


@dataclass(frozen=True, eq=False)
class Frame:
    """One image to export.

    ``pixels`` is ``(H, W)`` physical values or ``(H, W, 3|4)`` uint8 colour;
    ``pixel_aspect`` is the displayed row height / column width in mm; ``window`` is
    ``(width, level)`` for values; ``overlay`` an RGBA uint8 ``(H, W, 4)`` image blended
    before resizing; ``source`` says where the frame came from (``export.json``).
    """

    pixels: NDArray[Any]
    name: str
    pixel_aspect: float = 1.0
    window: tuple[float, float] | None = None
    overlay: NDArray[np.uint8] | None = None
    annotations: Annotations | None = None
    colour_bar: ColourBar | None = None
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def is_colour(self) -> bool:
        return self.pixels.ndim == 3


def frame_name(series_number: int | None, what: str, number: int) -> str:
    """``series-003_instance-0012``-style file stems (no patient data, sortable)."""
    series = "x" if series_number is None else f"{int(series_number):03d}"
    return f"series-{series}_{what}-{int(number):04d}"


def volume_frames(
    volume: Volume,
    indices: Sequence[int],
    *,
    axis: int = 0,
    series_number: int | None = None,
    instance_numbers: Sequence[int | None] | None = None,
    window: tuple[float, float] | None = None,
    annotate: bool = False,
) -> list[Frame]:
    """Frames of ``volume`` at ``indices`` along index ``axis`` (0 axial/acquired plane).

    Slices of the acquired plane are named by instance number when ``instance_numbers``
    (one per slice, in volume order) gives them, else by 1-based slice number;
    reformatted planes by plane name and 1-based index.  ``annotate`` adds orientation
    letters, the slice number and the window (nothing about the patient).
    """
    plane = SlicePlane.for_volume(volume, axis)
    rh, cw = plane.pixel_mm(volume.spacing)
    name = plane.name(volume)
    count = volume.shape[axis]
    frames = []
    for index in indices:
        if not 0 <= index < count:
            raise IndexError(f"slice {index + 1} is outside 1-{count}")
        number = index + 1
        if axis == 0 and instance_numbers is not None and instance_numbers[index] is not None:
            stem = frame_name(series_number, "instance", int(instance_numbers[index] or 0))
        else:
            stem = frame_name(series_number, "instance" if axis == 0 else name, number)
        notes = None
        if annotate:
            text = "" if window is None else f"W {window[0]:.0f}  L {window[1]:.0f}"
            notes = Annotations(edges=plane.edge_labels(volume), top_left=f"{name.capitalize()}  {number}/{count}",
                                bottom_left=text)
        source = {"series_number": series_number, "plane": name, "slice": number}
        if axis == 0 and instance_numbers is not None:
            source["instance_number"] = instance_numbers[index]
        frames.append(Frame(pixels=np.ascontiguousarray(plane.extract(volume.array, index)), name=stem,
                            pixel_aspect=rh / cw, window=window, annotations=notes, source=source))
    return frames


def parse_range(text: str, count: int) -> list[int]:
    """0-based indices of a 1-based inclusive ``A-B`` (or ``A``) slice range within ``count``."""
    first, sep, last = text.strip().partition("-")
    try:
        a = int(first)
        b = int(last) if sep else a
    except ValueError:
        raise ValueError(f"slice range must look like 5-20 (1-based), got {text!r}") from None
    if not 1 <= a <= b <= count:
        raise ValueError(f"slice range {a}-{b} is outside 1-{count}")
    return list(range(a - 1, b))
