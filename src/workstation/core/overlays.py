"""Overlays analyses publish on the shown volume, and the region a user draws: plain data.

Viewers (``ui/``) draw them; analyses and their panels create them.  Arrays are on the
volume grid ``(z, y, x)``; nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

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


Overlay = LabelOverlay | ScalarOverlay


@dataclass(frozen=True, eq=False)
class Roi:
    """A region the user drew in the 2D viewer: a mask on one axial slice."""

    slice_index: int
    mask: NDArray[np.bool_]  # (y, x) on that slice

    def voxel_indices(self) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
        ys, xs = np.nonzero(self.mask)
        return (np.full_like(ys, self.slice_index), ys, xs)
