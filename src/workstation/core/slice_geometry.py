"""How a volume is cut into 2D slices for display: plain NumPy, no Qt.

A :class:`SlicePlane` says which volume index axis is sliced through, which index axis
runs down the screen (rows) and which to the right (columns), and whether either is
flipped, so that every view follows the radiological conventions whatever the
acquisition order:

* axial planes: patient right on the screen's left, anterior at the top;
* coronal planes: patient right on the left, head at the top;
* sagittal planes: anterior on the left, head at the top.

Orientation letters use LPS: ``L``/``R`` (x), ``P``/``A`` (y), ``H``/``F`` (z).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume

AXIS_NAMES = {0: "axial", 1: "coronal", 2: "sagittal"}
OBLIQUE_COS = 0.9  # a slice normal this close to a patient axis (within about 25 degrees) names the plane
_LETTERS = (("R", "L"), ("A", "P"), ("F", "H"))  # (negative, positive) along LPS x, y, z


def direction_letters(vector: Any, threshold: float = 0.3) -> str:
    """Letters of a patient-space direction (``"L"``, ``"LA"`` when oblique)."""
    v = np.asarray(vector, dtype=float)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or not np.abs(v).max() > 0:
        return ""
    order = np.argsort(-np.abs(v))
    letters = [_LETTERS[int(k)][1 if v[k] > 0 else 0] for k in order if abs(v[k]) >= threshold * np.abs(v).max()]
    return "".join(letters[:2])


def _patient_vector(direction: NDArray[np.float64], index_axis: int) -> NDArray[np.float64]:
    """Patient unit vector of increasing index along volume axis ``index_axis`` (z=0, y=1, x=2)."""
    return np.asarray(direction[:, 2 - index_axis], dtype=float)


@dataclass(frozen=True)
class SlicePlane:
    """One display plane of a volume.

    Attributes
    ----------
    axis
        Volume index axis sliced through (0: z, 1: y, 2: x).
    row_axis, col_axis
        Volume index axes shown down the screen and to the right.
    flip_rows, flip_cols
        True when the index decreases down the screen / to the right.
    """

    axis: int
    row_axis: int
    col_axis: int
    flip_rows: bool
    flip_cols: bool

    # -- construction ---------------------------------------------------------------
    @classmethod
    def for_volume(cls, volume: Volume, axis: int) -> "SlicePlane":
        """The conventional display plane through index axis ``axis`` of ``volume``."""
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
        a, b = [k for k in range(3) if k != axis]
        vec = {k: _patient_vector(volume.direction, k) for k in (a, b)}
        dominant = {k: int(np.argmax(np.abs(vec[k]))) for k in (a, b)}
        # Vertical screen axis: the head-foot one if in plane, else anterior-posterior.
        vertical_patient = 2 if 2 in dominant.values() else 1
        row = a if dominant[a] == vertical_patient else (b if dominant[b] == vertical_patient else a)
        col = b if row == a else a
        row_target = np.array([0.0, 1.0, 0.0]) if vertical_patient == 1 else np.array([0.0, 0.0, -1.0])
        # Horizontal: patient left to the right (axial, coronal), posterior to the right (sagittal).
        col_target = np.array([1.0, 0.0, 0.0]) if dominant[col] == 0 else np.array([0.0, 1.0, 0.0])
        return cls(
            axis=axis,
            row_axis=row,
            col_axis=col,
            flip_rows=bool(vec[row] @ row_target < 0),
            flip_cols=bool(vec[col] @ col_target < 0),
        )

    # -- shapes and spacing ---------------------------------------------------------
    def shape(self, volume_shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, columns) of a displayed slice."""
        return (int(volume_shape[self.row_axis]), int(volume_shape[self.col_axis]))

    def pixel_mm(self, spacing: tuple[float, float, float]) -> tuple[float, float]:
        """(row height, column width) of a displayed pixel in mm."""
        return (float(spacing[self.row_axis]), float(spacing[self.col_axis]))

    def name(self, volume: Volume) -> str:
        """``axial``, ``coronal`` or ``sagittal`` from the slice normal in patient space;
        ``oblique`` when the normal is more than about 25 degrees from every patient axis
        (a cardiac short-axis stack, say)."""
        normal = np.abs(_patient_vector(volume.direction, self.axis))
        if normal.max() < OBLIQUE_COS * np.linalg.norm(normal):
            return "oblique"
        return {2: "axial", 1: "coronal", 0: "sagittal"}[int(np.argmax(normal))]

    # -- data -----------------------------------------------------------------------
    def extract(self, array: NDArray[Any], index: int) -> NDArray[Any]:
        """The 2D slice ``index`` as displayed (rows down, columns right); a view, no copy."""
        sl: list[Any] = [slice(None)] * 3
        sl[self.axis] = int(index)
        plane = array[tuple(sl)]
        # plane axes are the remaining volume axes in increasing order
        if self.row_axis > self.col_axis:
            plane = plane.T
        if self.flip_rows:
            plane = plane[::-1, :]
        if self.flip_cols:
            plane = plane[:, ::-1]
        return plane

    def to_index(self, index: int, row: float, col: float, volume_shape: tuple[int, ...]) -> NDArray[np.float64]:
        """Continuous volume index (z, y, x) of display position (row, col) on slice ``index``.

        ``row``/``col`` are in display pixel units, pixel centres at integers.
        """
        rows, cols = self.shape(volume_shape)
        r = rows - 1 - row if self.flip_rows else row
        c = cols - 1 - col if self.flip_cols else col
        out = np.zeros(3)
        out[self.axis] = index
        out[self.row_axis] = r
        out[self.col_axis] = c
        return out

    def from_index(self, zyx: Any, volume_shape: tuple[int, ...]) -> tuple[int, float, float]:
        """(slice index, display row, display column) of volume index ``zyx``."""
        rows, cols = self.shape(volume_shape)
        r = float(zyx[self.row_axis])
        c = float(zyx[self.col_axis])
        if self.flip_rows:
            r = rows - 1 - r
        if self.flip_cols:
            c = cols - 1 - c
        return int(round(float(zyx[self.axis]))), r, c

    def edge_labels(self, volume: Volume) -> dict[str, str]:
        """Orientation letters at the ``left``, ``right``, ``top`` and ``bottom`` screen edges."""
        down = _patient_vector(volume.direction, self.row_axis) * (-1 if self.flip_rows else 1)
        right = _patient_vector(volume.direction, self.col_axis) * (-1 if self.flip_cols else 1)
        return {
            "right": direction_letters(right),
            "left": direction_letters(-right),
            "bottom": direction_letters(down),
            "top": direction_letters(-down),
        }
