"""Contours of a label plane and their inverse: polygons the reader drags, rasterised back into labels.

The three borders a reader edits: LV endocardium (the blood pool's outline), LV
epicardium (outline of blood pool plus myocardium) and RV endocardium.  Points are
``(row, col)`` in pixels.  Applying an edited polygon keeps the labels consistent:
the epicardium always encloses the endocardium, the RV never overlaps the LV.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.cardiac_function.kernel import LV_BLOOD, LV_MYO, RV_BLOOD

BORDERS = ("LV endocardium", "LV epicardium", "RV endocardium")
HANDLES = 24


def border_mask(plane: NDArray[np.uint8], border: str) -> NDArray[np.bool_]:
    """The region a border outlines on a label plane."""
    if border == "LV endocardium":
        return plane == LV_BLOOD
    if border == "LV epicardium":
        return (plane == LV_BLOOD) | (plane == LV_MYO)
    if border == "RV endocardium":
        return plane == RV_BLOOD
    raise ValueError(f"unknown border {border!r}; known: {', '.join(BORDERS)}")


def outline(mask: NDArray[np.bool_]) -> Optional[NDArray[np.float64]]:
    """The longest closed iso-contour (0.5) of ``mask`` as ``(n, 2)`` row/col points; None if empty."""
    from skimage.measure import find_contours

    if not mask.any():
        return None
    padded = np.pad(mask.astype(np.float32), 1)
    found = find_contours(padded, 0.5)
    return max(found, key=len) - 1.0 if found else None


def resample(points: NDArray[np.float64], n: int = HANDLES) -> NDArray[np.float64]:
    """``n`` points evenly spaced along a closed polygon (the handles the reader drags)."""
    closed = np.vstack([points, points[:1]])
    step = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(step)])
    if arc[-1] <= 0:
        return np.repeat(points[:1], n, axis=0)
    at = np.linspace(0.0, arc[-1], n, endpoint=False)
    return np.stack([np.interp(at, arc, closed[:, 0]), np.interp(at, arc, closed[:, 1])], axis=1)


def rasterise(points: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Pixels whose centres lie inside the polygon ``points`` (row/col)."""
    from skimage.draw import polygon

    mask = np.zeros(shape, dtype=bool)
    rr, cc = polygon(points[:, 0], points[:, 1], shape)
    mask[rr, cc] = True
    return mask


def apply_border(plane: NDArray[np.uint8], border: str, points: NDArray[np.float64]) -> NDArray[np.uint8]:
    """A new label plane with ``border`` moved to the polygon ``points``."""
    inside = rasterise(points, plane.shape)
    out = plane.copy()
    if border == "LV endocardium":
        epi = border_mask(plane, "LV epicardium") | inside
        out[out == LV_BLOOD] = LV_MYO
        out[epi & (out != LV_BLOOD)] = LV_MYO
        out[inside] = LV_BLOOD
    elif border == "LV epicardium":
        region = inside | (plane == LV_BLOOD)
        out[out == LV_MYO] = 0
        out[region & (out != LV_BLOOD)] = LV_MYO
    elif border == "RV endocardium":
        out[out == RV_BLOOD] = 0
        out[inside & (out == 0)] = RV_BLOOD
    else:
        raise ValueError(f"unknown border {border!r}; known: {', '.join(BORDERS)}")
    return out
