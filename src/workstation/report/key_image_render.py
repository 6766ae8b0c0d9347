"""Key image pixels: a plane windowed through the one windowing routine, overlays and annotations drawn on.

:func:`render_plane` windows a 2D plane (``report.images.grey``, i.e.
:func:`workstation.compute.windowing.window_to_uint8`) and lays an RGBA overlay over it;
:func:`draw_annotations` draws annotation records on the result.  An annotation record
is anything with (or a mapping of) ``kind`` (``line``, ``distance``, ``arrow``, ``angle``,
``polyline``, ``rectangle``, ``ellipse``, ``point``, ``text``), ``points`` as (row,
column) pixels of the plane and an optional ``text``; records of another kind are
skipped, never an error.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.report.images import grey

ANNOTATION_COLOUR = (255, 215, 0)


def compose(grey_u8: NDArray[np.uint8], overlay_rgba: Optional[NDArray[np.uint8]] = None) -> NDArray[np.uint8]:
    """RGB of a grey image with a straight-alpha RGBA overlay laid over it ("over" operator)."""
    rgb = np.repeat(grey_u8[:, :, None], 3, axis=2) if grey_u8.ndim == 2 else grey_u8[:, :, :3]
    if overlay_rgba is None:
        return np.ascontiguousarray(rgb)
    alpha = overlay_rgba[:, :, 3:4].astype(np.float32) / 255.0
    out = overlay_rgba[:, :, :3].astype(np.float32) * alpha + rgb.astype(np.float32) * (1.0 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def render_plane(values: Any, width: float, level: float,
                 overlay_rgba: Optional[NDArray[np.uint8]] = None) -> NDArray[np.uint8]:
    """A 2D plane in physical units windowed (``width``/``level``) to RGB, overlay laid on."""
    return compose(grey(values, width, level), overlay_rgba)


def _field(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def _arrow_head(tip: tuple[float, float], tail: tuple[float, float], size: float) -> list[tuple[float, float]]:
    angle = math.atan2(tip[1] - tail[1], tip[0] - tail[0])
    return [(tip[0] - size * math.cos(angle + s), tip[1] - size * math.sin(angle + s)) for s in (0.45, -0.45)]


def draw_annotations(rgb: NDArray[np.uint8], annotations: Sequence[Any], scale: float = 1.0,
                     colour: tuple[int, int, int] = ANNOTATION_COLOUR) -> NDArray[np.uint8]:
    """``rgb`` with the annotation records drawn on (points scaled by ``scale``)."""
    if not annotations:
        return rgb
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.ascontiguousarray(rgb))
    draw = ImageDraw.Draw(image)
    width = max(1, int(round(max(rgb.shape[:2]) / 256)))
    for record in annotations:
        kind = str(_field(record, "kind", "")).lower()
        try:
            pts = [(float(c) * scale, float(r) * scale) for r, c in (_field(record, "points", ()) or ())]
        except (TypeError, ValueError):
            continue
        text = str(_field(record, "text", "") or "")
        if kind in ("line", "distance", "polyline", "angle") and len(pts) >= 2:
            draw.line(pts, fill=colour, width=width)
        elif kind == "arrow" and len(pts) >= 2:
            draw.line(pts[:2], fill=colour, width=width)
            for end in _arrow_head(pts[1], pts[0], 6.0 * width + 4):
                draw.line([pts[1], end], fill=colour, width=width)
        elif kind in ("rectangle", "ellipse") and len(pts) >= 2:
            (x0, y0), (x1, y1) = pts[0], pts[1]
            box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            (draw.rectangle if kind == "rectangle" else draw.ellipse)(box, outline=colour, width=width)
        elif kind == "point" and pts:
            x, y = pts[0]
            r = 4.0 * width + 4
            draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=width)
        elif kind != "text" or not pts:
            continue
        if text and pts:
            draw.text((pts[-1][0] + 4, pts[-1][1] + 2), text, fill=colour)
    return np.asarray(image)
