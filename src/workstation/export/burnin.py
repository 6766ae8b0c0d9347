"""Burn text into exported images without Qt: annotations, a colour bar, a watermark.

Drawn with Pillow's ``ImageDraw`` at the output resolution (text stays sharp whatever
the export size), in the viewer's colours: orientation letters in amber, the corner
text in light grey, each with a one-pixel shadow.  The font is DejaVu Sans (Debian's
``fonts-dejavu-core``) or Pillow's bundled scalable font where DejaVu is missing.
Nothing here knows the patient: the caller decides what the corners say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

ORIENTATION = (255, 200, 60)
INFO = (225, 225, 225)
SHADOW = (0, 0, 0)
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf")


@dataclass(frozen=True)
class Annotations:
    """Text at the corners and orientation letters at the edge midpoints (``left``,
    ``right``, ``top``, ``bottom``)."""

    edges: dict[str, str] = field(default_factory=dict)
    top_left: str = ""
    top_right: str = ""
    bottom_left: str = ""
    bottom_right: str = ""


@dataclass(frozen=True, eq=False)
class ColourBar:
    """The colour map of a parametric overlay: ``lut`` (n, 3) uint8 from ``vmin`` to ``vmax``."""

    lut: NDArray[np.uint8]
    vmin: float
    vmax: float
    label: str = ""


@lru_cache(maxsize=16)
def font(size: int) -> Any:
    """A scalable font of ``size`` pixels."""
    from PIL import ImageFont

    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _text(draw: Any, xy: tuple[float, float], text: str, size: int, fill: tuple[int, ...], anchor: str) -> None:
    if not text:
        return
    shift = max(1, size // 14)
    draw.multiline_text((xy[0] + shift, xy[1] + shift), text, font=font(size), fill=SHADOW, anchor=anchor,
                        align="right" if anchor[0] == "r" else "left")
    draw.multiline_text(xy, text, font=font(size), fill=fill, anchor=anchor,
                        align="right" if anchor[0] == "r" else "left")


def _annotations(draw: Any, w: int, h: int, notes: Annotations) -> None:
    size = max(9, round(min(w, h) / 36))
    m = max(3, size // 2)
    e = notes.edges
    _text(draw, (m, h / 2), e.get("left", ""), size + 2, ORIENTATION, "lm")
    _text(draw, (w - m, h / 2), e.get("right", ""), size + 2, ORIENTATION, "rm")
    _text(draw, (w / 2, m), e.get("top", ""), size + 2, ORIENTATION, "ma")
    _text(draw, (w / 2, h - m), e.get("bottom", ""), size + 2, ORIENTATION, "md")
    _text(draw, (m, m), notes.top_left, size, INFO, "la")
    _text(draw, (w - m, m), notes.top_right, size, INFO, "ra")
    _text(draw, (m, h - m), notes.bottom_left, size, INFO, "ld")
    _text(draw, (w - m, h - m), notes.bottom_right, size, INFO, "rd")


def _colour_bar(picture: Any, draw: Any, bar: ColourBar) -> None:
    from PIL import Image

    w, h = picture.size
    bar_h, bar_w = max(20, int(h * 0.4)), max(6, w // 60)
    left, top = w - bar_w - max(20, w // 20), (h - bar_h) // 2
    column = np.ascontiguousarray(bar.lut[::-1][np.linspace(0, len(bar.lut) - 1, bar_h).astype(int)])
    strip = Image.fromarray(np.repeat(column[:, None, :], bar_w, axis=1))
    picture.paste(strip, (left, top))
    draw.rectangle((left, top, left + bar_w - 1, top + bar_h - 1), outline=(200, 200, 200))
    size = max(9, round(min(w, h) / 40))
    _text(draw, (left - 4, top), f"{bar.vmax:g}", size, INFO, "rm")
    _text(draw, (left - 4, top + bar_h), f"{bar.vmin:g}", size, INFO, "rm")
    _text(draw, (left + bar_w, top - size), bar.label, size, INFO, "rd")


def _watermark(picture: Any, text: str) -> None:
    from PIL import Image, ImageDraw

    w, h = picture.size
    size = max(10, round(min(w, h) / 18))
    while size > 8 and font(size).getlength(text) > 0.9 * w:
        size -= 1
    layer = Image.new("L", picture.size, 0)
    ImageDraw.Draw(layer).text((w / 2, h - size), text, font=font(size), fill=255, anchor="md")
    mode = picture.mode
    base = np.asarray(picture).astype(np.float32)
    alpha = np.asarray(layer, dtype=np.float32)[..., None] / 255.0 * 0.55
    grey = base if base.ndim == 3 else base[..., None]
    mixed = grey * (1 - alpha) + 255.0 * alpha
    picture.paste(Image.fromarray(np.rint(mixed[..., 0] if base.ndim == 2 else mixed).astype(np.uint8), mode))


def burn_in(image: NDArray[np.uint8], *, annotations: Annotations | None = None,
            colour_bar: ColourBar | None = None, watermark: str = "") -> NDArray[np.uint8]:
    """``image`` (grey or RGB uint8) with the text drawn in; grey becomes RGB when coloured
    text or a colour bar is drawn, and stays grey for a watermark alone."""
    from PIL import Image, ImageDraw

    if annotations is None and colour_bar is None and not watermark:
        return image
    if image.dtype != np.uint8:
        raise ValueError("text is burnt into 8-bit images only")
    coloured = annotations is not None or colour_bar is not None
    picture = Image.fromarray(image)
    if coloured and picture.mode != "RGB":
        picture = picture.convert("RGB")
    draw = ImageDraw.Draw(picture)
    if annotations is not None:
        _annotations(draw, picture.size[0], picture.size[1], annotations)
    if colour_bar is not None:
        _colour_bar(picture, draw, colour_bar)
    if watermark:
        _watermark(picture, watermark)
    return np.asarray(picture)
