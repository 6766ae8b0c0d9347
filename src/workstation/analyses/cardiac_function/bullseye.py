"""The AHA 17-segment bull's-eye as an RGB image (NumPy and Pillow, no Qt): the report and the panel show it.

Standard orientation (Cerqueira et al. 2002): anterior at the top, septum on the left;
rings from the outside basal, mid, apical, and the apex (17) in the centre.  Each
segment is coloured by its systolic wall thickening (jet over ``lo``-``hi`` %); grey:
not measured.  Segment numbers and values are written on the segments.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.cardiac_function.regional import Segment
from workstation.compute.windowing import jet

NOT_MEASURED = (110, 110, 110)
# centre angle (degrees, counter-clockwise from 3 o'clock, image up = anterior) of each segment
_SIX_CENTRES = {1: 90.0, 2: 150.0, 3: 210.0, 4: 270.0, 5: 330.0, 6: 30.0}
_FOUR_CENTRES = {13: 90.0, 14: 180.0, 15: 270.0, 16: 0.0}


def _segment_map(size: int) -> NDArray[np.int16]:
    """AHA number of every pixel of a ``size`` x ``size`` bull's-eye (0 outside)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    c = (size - 1) / 2.0
    r = np.hypot(xx - c, yy - c) / (0.48 * size)
    angle = np.mod(np.degrees(np.arctan2(c - yy, xx - c)), 360.0)
    out = np.zeros((size, size), dtype=np.int16)
    sector6 = np.floor(np.mod(angle - 60.0, 360.0) / 60.0).astype(int)  # 0: 60-120 (anterior) ...
    six = np.array([1, 2, 3, 4, 5, 6])[sector6]
    sector4 = np.floor(np.mod(angle - 45.0, 360.0) / 90.0).astype(int)  # 0: 45-135 (anterior) ...
    four = np.array([13, 14, 15, 16])[sector4]
    out[(r <= 1.0) & (r > 0.75)] = six[(r <= 1.0) & (r > 0.75)]
    out[(r <= 0.75) & (r > 0.5)] = six[(r <= 0.75) & (r > 0.5)] + 6
    out[(r <= 0.5) & (r > 0.25)] = four[(r <= 0.5) & (r > 0.25)]
    out[r <= 0.25] = 17
    return out


def _colour(value: Optional[float], lo: float, hi: float) -> tuple[int, int, int]:
    if value is None or not np.isfinite(value):
        return NOT_MEASURED
    rgb = jet(np.clip(np.array([(value - lo) / (hi - lo)]), 0.0, 1.0))[0]
    return tuple(int(round(v * 255)) for v in rgb)  # type: ignore[return-value]


def render(segments: Sequence[Segment], size: int = 300, lo: float = 0.0, hi: float = 80.0) -> NDArray[np.uint8]:
    """The bull's-eye of ``segments`` coloured by thickening (%), with numbers and values, as RGB."""
    from PIL import Image, ImageDraw, ImageFont

    numbers = _segment_map(size)
    rgb = np.full((size, size, 3), 255, dtype=np.uint8)
    by_number = {s.number: s for s in segments}
    for n in range(1, 18):
        seg = by_number.get(n)
        rgb[numbers == n] = _colour(None if seg is None else seg.thickening_pct, lo, hi)
    edges = np.zeros((size, size), dtype=bool)
    edges[:-1] |= numbers[:-1] != numbers[1:]
    edges[:, :-1] |= numbers[:, :-1] != numbers[:, 1:]
    rgb[edges] = 0
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    c = (size - 1) / 2.0
    for n in range(1, 18):
        seg = by_number.get(n)
        if n == 17:
            radius, angle = 0.0, 0.0
        elif n <= 12:
            radius, angle = (0.875 if n <= 6 else 0.625), _SIX_CENTRES[(n - 1) % 6 + 1]
        else:
            radius, angle = 0.375, _FOUR_CENTRES[n]
        x = c + radius * 0.48 * size * np.cos(np.radians(angle))
        y = c - radius * 0.48 * size * np.sin(np.radians(angle))
        value = None if seg is None else seg.thickening_pct
        text = f"{n}\n{value:.0f}%" if value is not None else f"{n}\n-"
        draw.multiline_text((x, y), text, fill=(0, 0, 0), font=font, anchor="mm", align="center")
    return np.asarray(image, dtype=np.uint8)
