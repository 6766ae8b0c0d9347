"""Overlays analyses publish on the shown images, and the region a user draws: plain data.

Viewers (``ui/``) draw them; analyses and their panels create them.  Raster overlays
(:class:`LabelOverlay`, :class:`ScalarOverlay`) are arrays on the volume grid
``(z, y, x)``; vector overlays are geometry: :class:`MarkOverlay` boxes in the pixels of
named images (CAD marks on mammograms), :class:`PolylineOverlay` lines in patient mm
(contours, isolines) drawn where they cross the shown plane.  The 2D viewer finds the
painter of each overlay type in a registry (``workstation.ui.overlay_layers``), so a new
kind of overlay is a record here and one painter there.  Nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

RGB = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class LabelOverlay:
    """Integer labels on the volume grid (0 = nothing), drawn in colour in 2D and 3D.

    ``colors`` and ``names`` are keyed by label value; ``visible`` limits the labels
    shown (``None``: all).
    """

    labels: NDArray[np.integer]
    colors: Mapping[int, RGB]
    names: Mapping[int, str] = field(default_factory=dict)
    opacity: float = 0.5
    visible: Optional[frozenset[int]] = None
    show_in_3d: bool = True


@dataclass(frozen=True, eq=False)
class ScalarOverlay:
    """A parametric map on the volume grid, colour-mapped between ``vmin`` and ``vmax``.

    NaN voxels are transparent.  ``colormap`` is a name VisPy and pyqtgraph both know
    (``viridis``, ``inferno``, ``jet`` ...); ``unit`` labels the colour bar.
    """

    values: NDArray[np.floating]
    vmin: float
    vmax: float
    colormap: str = "jet"
    opacity: float = 0.6
    unit: str = ""
    title: str = ""
    transparent_below: Optional[float] = None  # values under it are not drawn (a dose wash's low doses)
    show_in_3d: bool = False  # also rendered as a translucent volume in the 3D view


@dataclass(frozen=True)
class Mark:
    """One box on an image: ``box_px`` is (x0, y0, x1, y1) in stored-image pixels
    (column, row; far edges exclusive), ``kind`` names its colour class."""

    box_px: tuple[float, float, float, float]
    kind: str = "mark"
    label: str = ""
    rgb: RGB = (255, 200, 0)


@dataclass(frozen=True, eq=False)
class MarkOverlay:
    """Marks per image, keyed by SOP Instance UID (an image shows the marks of its instance)."""

    marks: Mapping[str, tuple[Mark, ...]]
    title: str = ""

    def for_instance(self, sop_instance_uid: str) -> tuple[Mark, ...]:
        return tuple(self.marks.get(sop_instance_uid, ()))


@dataclass(frozen=True, eq=False)
class PolylineOverlay:
    """Lines in patient coordinates (x, y, z mm, LPS): each an ``(n, 3)`` array of points.

    A view draws the parts lying within half a slice of its plane (a contour on the
    slice it was drawn on).  ``closed`` joins each line's last point to its first.
    """

    lines: tuple[NDArray[np.float64], ...]
    rgb: RGB = (255, 255, 0)
    width_px: float = 1.5
    closed: bool = True
    title: str = ""


@dataclass(frozen=True, eq=False)
class IsolineOverlay:
    """Lines of equal value of a map on the volume grid (isodose lines), one colour per level."""

    values: NDArray[np.floating]
    levels: tuple[float, ...]
    colors: tuple[RGB, ...]
    labels: tuple[str, ...] = ()
    width_px: float = 1.5


@dataclass(frozen=True, eq=False)
class Outline:
    """One structure's closed planar polygons, ``(n, 3)`` points in patient mm (LPS)."""

    number: int
    name: str
    colour: RGB
    polygons: tuple[NDArray[np.float64], ...]


@dataclass(frozen=True, eq=False)
class ContourOverlay:
    """Structures drawn as outlines in 2D and as surfaces in 3D.

    ``outlines`` give the exact polygons (drawn where a view's plane holds them);
    ``layers`` are integer label arrays on the volume grid into which the structures are
    packed, overlapping ones in different layers (``placement``: structure number ->
    (layer, label)); they give the outlines on other planes, the names under the cursor
    and the 3D surfaces.  ``visible`` limits the structures shown (``None``: all).
    """

    outlines: tuple[Outline, ...]
    layers: tuple[NDArray[np.integer], ...]
    placement: Mapping[int, tuple[int, int]]
    visible: Optional[frozenset[int]] = None
    width_px: float = 1.5
    opacity_3d: float = 0.4
    show_in_3d: bool = True

    def shown(self) -> tuple[Outline, ...]:
        return tuple(o for o in self.outlines if self.visible is None or o.number in self.visible)

    def names_at(self, zyx: tuple[int, int, int]) -> list[str]:
        """Names of the shown structures containing voxel ``zyx``."""
        return [o.name for o in self.shown() if o.number in self.placement
                and int(self.layers[self.placement[o.number][0]][zyx]) == self.placement[o.number][1]]

    def label_overlays(self) -> tuple[LabelOverlay, ...]:
        """Each layer as a label overlay of the shown structures (what the 3D view meshes)."""
        out = []
        for i, layer in enumerate(self.layers):
            placed = {label: o for o in self.outlines for (k, label) in [self.placement.get(o.number, (-1, 0))]
                      if k == i}
            visible = frozenset(label for label, o in placed.items() if self.visible is None or o.number in self.visible)
            out.append(LabelOverlay(layer, {label: o.colour for label, o in placed.items()},
                                    {label: o.name for label, o in placed.items()}, self.opacity_3d, visible,
                                    self.show_in_3d))
        return tuple(out)


Overlay = LabelOverlay | ScalarOverlay | IsolineOverlay | ContourOverlay | MarkOverlay | PolylineOverlay


def grid_arrays(overlay: Overlay) -> tuple[NDArray[Any], ...]:
    """The arrays of ``overlay`` that lie on the volume grid (their shape must be the volume's);
    none for vector overlays (marks, polylines), which carry their own coordinates."""
    if isinstance(overlay, LabelOverlay):
        return (overlay.labels,)
    if isinstance(overlay, ContourOverlay):
        return tuple(overlay.layers)
    if isinstance(overlay, (MarkOverlay, PolylineOverlay)):
        return ()
    return (overlay.values,)


@dataclass(frozen=True, eq=False)
class Roi:
    """A region the user drew in the 2D viewer: a mask on one axial slice."""

    slice_index: int
    mask: NDArray[np.bool_]  # (y, x) on that slice

    def voxel_indices(self) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
        ys, xs = np.nonzero(self.mask)
        return (np.full_like(ys, self.slice_index), ys, xs)
