"""Line overlays of a 2D slice: isodose lines and structure outlines, as display polylines (no Qt).

Coordinates are display ``(row, column)`` of the slice as a
:class:`~workstation.core.slice_geometry.SlicePlane` shows it, pixel centres at integers.
A structure's exact polygons are drawn on the plane that holds them (an axial view of
axial contours); on other planes, and on slices between contour planes, the outline of
its label layer's cross-section is drawn instead.  :func:`describe_at` gives the values
and names under the cursor for the readout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
from numpy.typing import NDArray

from workstation.core.overlays import ContourOverlay, IsolineOverlay, LabelOverlay, Overlay, ScalarOverlay
from workstation.core.volume import Volume
from workstation.core.slice_geometry import SlicePlane

RGB = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Polyline:
    """A line to draw over a slice: display (row, column) points, colour, width in screen pixels."""

    points_rc: NDArray[np.float64]
    colour: RGB
    width_px: float
    closed: bool = True


def to_display(plane: SlicePlane, zyx: NDArray[np.float64], shape: tuple[int, int, int]) -> NDArray[np.float64]:
    """Display (row, column) of continuous volume indices ``(n, 3)``."""
    rows, cols = plane.shape(shape)
    r, c = zyx[:, plane.row_axis], zyx[:, plane.col_axis]
    return np.column_stack([rows - 1 - r if plane.flip_rows else r, cols - 1 - c if plane.flip_cols else c])


def _contours(image: NDArray[np.floating], level: float) -> list[NDArray[np.float64]]:
    from skimage.measure import find_contours

    if image.size == 0 or not (np.nanmin(image) < level <= np.nanmax(image)):
        return []
    return [c for c in find_contours(np.nan_to_num(np.asarray(image, dtype=np.float32)), level) if len(c) > 2]


def isoline_polylines(overlay: IsolineOverlay, plane: SlicePlane, index: int) -> list[Polyline]:
    """The isolines of ``overlay`` on slice ``index``."""
    image = np.asarray(plane.extract(overlay.values, index))
    return [Polyline(line, colour, overlay.width_px, closed=bool(np.allclose(line[0], line[-1])))
            for level, colour in zip(overlay.levels, overlay.colors) for line in _contours(image, level)]


def outline_polylines(overlay: ContourOverlay, plane: SlicePlane, index: int, volume: Volume) -> list[Polyline]:
    """The shown structures' outlines on slice ``index``: exact polygons where they lie in it, else the layer's."""
    out: list[Polyline] = []
    for outline in overlay.shown():
        exact = []
        for poly in outline.polygons:
            zyx = volume.patient_to_index(poly)
            depth = zyx[:, plane.axis]
            if float(np.ptp(depth)) < 0.05 and abs(float(depth.mean()) - index) <= 0.5:
                exact.append(Polyline(to_display(plane, zyx, volume.shape), outline.colour, overlay.width_px))
        if not exact and outline.number in overlay.placement:
            layer, label = overlay.placement[outline.number]
            mask = np.asarray(plane.extract(overlay.layers[layer], index)) == label
            exact = [Polyline(line, outline.colour, overlay.width_px)
                     for line in _contours(mask.astype(np.float32), 0.5)]
        out += exact
    return out


def slice_polylines(overlays: Iterable[Overlay], plane: SlicePlane, index: int, volume: Volume) -> list[Polyline]:
    """Every line of the line overlays (isolines, outlines) on slice ``index``."""
    out: list[Polyline] = []
    for overlay in overlays:
        if isinstance(overlay, IsolineOverlay):
            out += isoline_polylines(overlay, plane, index)
        elif isinstance(overlay, ContourOverlay):
            out += outline_polylines(overlay, plane, index, volume)
    return out


def describe_at(overlays: Mapping[str, Overlay], voxel: tuple[int, int, int]) -> str:
    """Map values and structure names at ``voxel`` (``Dose 45.2 Gy; PTV, Lung_R``), for the readout."""
    parts: list[str] = []
    for overlay in overlays.values():
        if isinstance(overlay, ScalarOverlay):
            value = float(overlay.values[voxel])
            if np.isfinite(value):
                parts.append(f"{overlay.title or 'value'} {value:.3g}{' ' + overlay.unit if overlay.unit else ''}")
        elif isinstance(overlay, ContourOverlay):
            names = overlay.names_at(voxel)
            if names:
                parts.append(", ".join(names))
        elif isinstance(overlay, LabelOverlay):
            label = int(overlay.labels[voxel])
            if label and label in overlay.names and (overlay.visible is None or label in overlay.visible):
                parts.append(overlay.names[label])
    return "; ".join(parts)
