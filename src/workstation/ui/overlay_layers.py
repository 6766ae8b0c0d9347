"""How 2D views draw each kind of overlay: one registry, raster and vector painters.

A view draws the overlays of its :class:`~workstation.analyses.panel_api.ViewerContext`
in two passes:

* **raster** overlays (arrays on the volume grid: labels, parametric maps, a dose wash)
  are cut along the shown plane and coloured into one RGBA image under the
  annotations (:func:`workstation.ui.overlay_render.render_overlays`, which looks up
  :data:`~workstation.ui.overlay_render.RASTER` by overlay type);
* **vector** overlays (geometry: CAD boxes on images, contours and isolines in patient
  mm) are painted in screen space over the image by the painter registered here for
  their type, through a :class:`PlaneView` that maps patient mm and image pixels to the
  viewport for the plane shown.

Adding a kind of overlay is a record in :mod:`workstation.core.overlays` and one call
to :func:`register_raster` or :func:`register_vector`; the viewers stay as they are.
Isodose lines and structure outlines are vector overlays too: their polylines come from
:mod:`workstation.ui.overlay_lines` in display pixels of the shown plane (cached per
overlay and slice, so a repaint does not trace them again) and are drawn with
``view.display_to_viewport``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

from workstation.core.overlays import ContourOverlay, IsolineOverlay, MarkOverlay, PolylineOverlay
from workstation.core.slice_geometry import SlicePlane
from workstation.core.volume import Volume
from workstation.ui.overlay_lines import Polyline, slice_polylines
from workstation.ui.overlay_render import RASTER, RasterFn


@dataclass
class PlaneView:
    """What a vector painter needs to know of the plane a view shows.

    ``patient_to_display`` maps ``(n, 3)`` patient points (mm) to ``(n, 2)`` display
    (row, col) and their distance to the plane (mm); ``display_to_viewport`` maps
    display (row, col) to viewport pixels.  ``sop_instance_uid`` names the image shown
    (projection images), ``image_to_display`` maps its stored (col, row) pixels to
    display (row, col) (mirroring included).  ``cut`` cuts a volume-grid array along
    the shown plane; ``plane``, ``index`` and ``volume`` name it for painters that work
    on the volume grid (isolines, structure outlines).
    """

    display_to_viewport: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    patient_to_display: Optional[Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]]
    half_thickness_mm: float = 0.5
    sop_instance_uid: str = ""
    image_to_display: Optional[Callable[[NDArray[np.float64]], NDArray[np.float64]]] = None
    cut: Optional[Callable[[NDArray[Any]], NDArray[Any]]] = None
    plane: Optional[SlicePlane] = None
    index: int = 0
    volume: Optional[Volume] = None


VectorFn = Callable[[QPainter, Any, PlaneView], None]
VECTOR: dict[type, VectorFn] = {}


def register_vector(kind: type, painter: VectorFn) -> None:
    """Draw overlays of type ``kind`` with ``painter(qpainter, overlay, plane_view)`` (screen space)."""
    VECTOR[kind] = painter


def register_raster(kind: type, renderer: RasterFn) -> None:
    """Colour overlays of type ``kind`` with ``renderer(overlay, cut) -> (rows, cols, 4) float RGBA``."""
    RASTER[kind] = renderer


def is_vector(overlay: Any) -> bool:
    return type(overlay) in VECTOR


def paint_vectors(painter: QPainter, overlays: Mapping[str, Any], view: PlaneView) -> None:
    """Paint every vector overlay in ``overlays`` (insertion order) for the plane ``view``."""
    for overlay in overlays.values():
        fn = VECTOR.get(type(overlay))
        if fn is not None:
            painter.save()
            fn(painter, overlay, view)
            painter.restore()


def _pen(rgb: tuple[int, int, int], width: float) -> QPen:
    pen = QPen(QColor(*rgb), width)
    pen.setCosmetic(True)
    return pen


def paint_marks(painter: QPainter, overlay: MarkOverlay, view: PlaneView) -> None:
    """CAD boxes of the image shown, outlined in their colour over a dark outline, with labels."""
    if not view.sop_instance_uid or view.image_to_display is None:
        return
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for mark in overlay.for_instance(view.sop_instance_uid):
        x0, y0, x1, y1 = mark.box_px
        corners = np.array([[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y1 - 0.5]], dtype=float)  # pixel edges
        rc = view.image_to_display(corners)
        xy = view.display_to_viewport(rc)
        rect = QRectF(QPointF(*xy[0]), QPointF(*xy[1])).normalized()
        painter.setPen(_pen((0, 0, 0), 4.0))
        painter.drawRect(rect)
        painter.setPen(_pen(mark.rgb, 2.0))
        painter.drawRect(rect)
        if mark.label:  # on a dark box, as every label over an image
            metrics = painter.fontMetrics()
            box = QRectF(rect.left(), max(rect.top() - metrics.height() - 4.0, 0.0),
                         metrics.horizontalAdvance(mark.label) + 6.0, metrics.height() + 2.0)
            painter.fillRect(box, QColor(0, 0, 0, 190))
            painter.drawText(box.adjusted(3.0, 1.0, 0.0, 0.0), mark.label)


def paint_polylines(painter: QPainter, overlay: PolylineOverlay, view: PlaneView) -> None:
    """Lines in patient mm where they lie within half a slice of the shown plane."""
    if view.patient_to_display is None:
        return
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(_pen(overlay.rgb, overlay.width_px))
    for line in overlay.lines:
        points = np.asarray(line, dtype=float).reshape(-1, 3)
        if len(points) < 2:
            continue
        rc, distance = view.patient_to_display(points)
        near = np.abs(distance) <= view.half_thickness_mm
        if not near.all():
            continue  # a contour of another slice (or crossing this one: drawn where it lies)
        xy = view.display_to_viewport(rc)
        polygon = QPolygonF([QPointF(float(x), float(y)) for x, y in xy])
        if overlay.closed:
            painter.drawPolygon(polygon)
        else:
            painter.drawPolyline(polygon)


_LINES: "weakref.WeakKeyDictionary[Any, dict[tuple[int, int, int], list[Polyline]]]" = weakref.WeakKeyDictionary()
_LINES_PER_OVERLAY = 256  # slices kept per overlay and plane (a few hundred polylines each at most)


def _slice_lines(overlay: Any, view: PlaneView) -> list[Polyline]:
    """The overlay's polylines on the shown slice, traced once per overlay, plane and slice."""
    assert view.plane is not None and view.volume is not None
    key = (view.plane.axis, view.index, id(view.volume))
    cache = _LINES.setdefault(overlay, {})
    if key not in cache:
        if len(cache) >= _LINES_PER_OVERLAY:
            cache.clear()
        cache[key] = slice_polylines([overlay], view.plane, view.index, view.volume)
    return cache[key]


def paint_lines(painter: QPainter, overlay: IsolineOverlay | ContourOverlay, view: PlaneView) -> None:
    """Isodose lines or structure outlines of the shown slice, in their colours."""
    if view.plane is None or view.volume is None:
        return
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for line in _slice_lines(overlay, view):
        painter.setPen(_pen(line.colour, line.width_px))
        xy = view.display_to_viewport(line.points_rc)
        polygon = QPolygonF([QPointF(float(x), float(y)) for x, y in xy])
        if line.closed:
            painter.drawPolygon(polygon)
        else:
            painter.drawPolyline(polygon)


register_vector(MarkOverlay, paint_marks)
register_vector(PolylineOverlay, paint_polylines)
register_vector(IsolineOverlay, paint_lines)
register_vector(ContourOverlay, paint_lines)
