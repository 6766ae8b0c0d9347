"""Mark the image a slice view shows as a key image: the record and its rendered pixels.

The pixels are the view's own: its grey levels (windowed by
:func:`workstation.compute.windowing.window_to_uint8` at the view's window) with the
overlays it shows, resampled to square millimetres as the view displays them, and the
annotations on that slice drawn on (a view that keeps annotation records offers them as
``annotation_records()``, each with ``points`` in display (row, column) pixels).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray
from PySide6.QtWidgets import QApplication

from workstation.core.key_images import KeyImageRecord
from workstation.report.key_image_render import compose, draw_annotations
from workstation.ui.viewer2d import SliceViewer


def active_view(views: Sequence[SliceViewer]) -> Optional[SliceViewer]:
    """The slice view with the keyboard focus, else the first one shown."""
    focused = QApplication.focusWidget()
    shown = [v for v in views if v.isVisible() and v.volume is not None]
    for view in shown:
        if focused is not None and (view is focused or view.isAncestorOf(focused)):
            return view
    return shown[0] if shown else None


def _instance(view: SliceViewer) -> tuple[str, Optional[int]]:
    """(SOP Instance UID, 1-based frame) of an acquired-plane slice; ("", None) for a reformat."""
    volume = view.volume
    instances = list((volume.meta.get("source_instances") or ()) if volume is not None else ())
    if view.axis != 0 or view.index >= len(instances):
        return "", None
    uid, _, frame = str(instances[view.index]).partition("/")
    return uid, (int(frame) + 1 if frame.isdigit() else None)


def _square_pixels(rgb: NDArray[np.uint8], rows_mm: float, cols_mm: float) -> NDArray[np.uint8]:
    if abs(rows_mm - cols_mm) < 1e-3 * max(rows_mm, cols_mm):
        return rgb
    from PIL import Image

    unit = min(rows_mm, cols_mm)
    size = (max(1, round(rgb.shape[1] * cols_mm / unit)), max(1, round(rgb.shape[0] * rows_mm / unit)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def capture(view: SliceViewer, caption: str = "") -> Optional[tuple[KeyImageRecord, NDArray[np.uint8]]]:
    """The key image of what ``view`` shows, or ``None`` when it shows nothing."""
    gray, volume, context = view.rendered_gray(), view.volume, view.context
    if gray is None or volume is None or view.plane is None:
        return None
    annotations: tuple[Any, ...] = tuple(getattr(view, "annotation_records", lambda: ())())
    rgb = draw_annotations(compose(gray, view.rendered_overlay()), annotations)
    rows_mm, cols_mm = view.plane.pixel_mm(volume.spacing)
    uid, frame = _instance(view)
    study = context.study.uid if context.study is not None else str(volume.meta.get("study_uid", ""))
    series = context.series.uid if context.series is not None else ""
    record = KeyImageRecord(study, series, uid, frame, int(view.index), int(view.axis), float(view.state.width),
                            float(view.state.level), caption, annotations)
    return record, np.ascontiguousarray(_square_pixels(rgb, rows_mm, cols_mm))
