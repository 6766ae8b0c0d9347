"""Post-processing of cine labels, one body for NumPy and CuPy: clean-up, areas, radial profiles.

Every function takes a stack of label planes ``(N, rows, cols)`` (``uint8``: 1 LV blood
pool, 2 LV myocardium, 3 RV blood pool) and works on all planes at once; labelling
uses a 3 x 3 x 3 structure with no neighbours across planes, so the whole stack is
labelled in one call and every plane on its own.  Only small per-component and
per-plane tables cross to the host.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from workstation.compute.arrays import array_module, to_host

LV_BLOOD, LV_MYO, RV_BLOOD = 1, 2, 3


def _plane_structure(xp: Any) -> Any:
    structure = xp.zeros((3, 3, 3), dtype=bool)
    structure[1] = xp.asarray([[False, True, False], [True, True, True], [False, True, False]])
    return structure


def _plane_diamond(xp: Any, steps: int) -> Any:
    """In-plane pixels within ``steps`` 4-connected steps: ``steps`` cross dilations in one."""
    yy, xx = np.mgrid[-steps: steps + 1, -steps: steps + 1]
    return xp.asarray((np.abs(yy) + np.abs(xx) <= steps)[None])


def fill_holes_per_plane(mask: Any, ndimage: Any) -> Any:
    """``mask`` with, in every plane, the background not 4-connected to the plane's edge filled.

    SciPy's ``binary_fill_holes`` with an in-plane structure does this; CuPy's fills every
    plane whole with such a structure, so both take this route: label the background, keep
    what touches an edge.
    """
    xp = array_module(mask)
    background, count = ndimage.label(~mask, structure=_plane_structure(xp))
    edges = xp.concatenate([background[:, 0, :].ravel(), background[:, -1, :].ravel(),
                            background[:, :, 0].ravel(), background[:, :, -1].ravel()])
    outside = xp.zeros(int(count) + 1, dtype=bool)
    outside[edges] = True
    outside[0] = False  # label 0: the mask itself
    return ~outside[background]


def largest_per_plane(mask: Any, ndimage: Any) -> Any:
    """``mask`` keeping, in every plane, only its largest 4-connected component."""
    xp = array_module(mask)
    lab, count = ndimage.label(mask, structure=_plane_structure(xp))
    count = int(count)
    if count <= 1:
        return mask
    flat = lab.reshape(-1)
    fg = xp.flatnonzero(flat)
    comp = flat[fg]
    plane_size = mask.shape[1] * mask.shape[2]
    sizes = to_host(xp.bincount(comp, minlength=count + 1))
    plane_of = xp.zeros(count + 1, dtype=xp.int64)
    plane_of[comp] = fg // plane_size
    plane_h = to_host(plane_of)
    order = np.lexsort((sizes[1:], plane_h[1:])) + 1  # by plane, then size: each plane's largest comes last
    last = np.r_[plane_h[order][1:] != plane_h[order][:-1], True]
    keep = np.zeros(count + 1, dtype=bool)
    keep[order[last]] = True
    return xp.asarray(keep)[lab]


def clean_labels(labels: Any, ndimage: Any, papillary_px: int = 0) -> Any:
    """One LV blood pool, one myocardium, one RV per plane; papillary muscles count as blood pool.

    Holes in the blood pool are filled, and myocardium in its concavities up to
    ``papillary_px`` pixels deep (a closing of the pool, 4-connected steps) becomes blood
    pool: a papillary muscle touching the wall, which a smooth endocardial contour
    leaves inside the cavity.
    """
    xp = array_module(labels)
    lv = largest_per_plane(labels == LV_BLOOD, ndimage)
    lv = fill_holes_per_plane(lv, ndimage)
    if papillary_px > 0:
        # n 4-connected steps as one diamond (CuPy cannot iterate a dilation except brute force,
        # and its brute-force closing differs from SciPy's): dilate, then erode, by it
        diamond = _plane_diamond(xp, papillary_px)
        closed = ndimage.binary_erosion(ndimage.binary_dilation(lv, structure=diamond), structure=diamond)
        lv |= closed & (labels == LV_MYO)
    myo = largest_per_plane((labels == LV_MYO) & ~lv, ndimage)
    rv = largest_per_plane((labels == RV_BLOOD) & ~lv & ~myo, ndimage)
    out = xp.zeros(labels.shape, dtype=xp.uint8)
    out[myo] = LV_MYO
    out[rv] = RV_BLOOD
    out[lv] = LV_BLOOD
    return out


def pixel_counts(labels: Any) -> np.ndarray:
    """``(N, 4)`` pixels of background and each label per plane (host, int64)."""
    xp = array_module(labels)
    flat = labels.reshape(labels.shape[0], -1)
    counts = xp.stack([(flat == k).sum(axis=1) for k in (LV_BLOOD, LV_MYO, RV_BLOOD)], axis=1)
    counts_h = to_host(counts).astype(np.int64)
    return np.concatenate([flat.shape[1] - counts_h.sum(axis=1, keepdims=True), counts_h], axis=1)


def centroids(labels: Any, label: int) -> np.ndarray:
    """``(N, 2)`` row and column of each plane's ``label`` pixels (NaN where a plane has none)."""
    xp = array_module(labels)
    mask = (labels == label).astype(xp.float64)
    n = mask.sum(axis=(1, 2))
    rows = (mask.sum(axis=2) * xp.arange(labels.shape[1])).sum(axis=1)
    cols = (mask.sum(axis=1) * xp.arange(labels.shape[2])).sum(axis=1)
    n_h, r_h, c_h = (to_host(a) for a in (n, rows, cols))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([np.where(n_h > 0, r_h / n_h, np.nan), np.where(n_h > 0, c_h / n_h, np.nan)], axis=1)


def ray_samples(labels: Any, planes: ArrayLike, centres: np.ndarray, angles: np.ndarray, radii_mm: np.ndarray,
                pixel_spacing: Sequence[float]) -> Any:
    """Labels along rays: ``(len(planes), angles, radii)`` from each plane's centre (nearest pixel).

    Angle 0 points along increasing column, 90 degrees along increasing row; radii in mm.
    Samples outside the image are 0.
    """
    xp = array_module(labels)
    _, rows, cols = labels.shape
    dy, dx = float(pixel_spacing[0]), float(pixel_spacing[1])
    c = xp.asarray(centres, dtype=xp.float64)
    sin, cos = xp.asarray(np.sin(angles)), xp.asarray(np.cos(angles))
    radii = xp.asarray(radii_mm, dtype=xp.float64)
    r = xp.rint(c[:, 0, None, None] + sin[None, :, None] * radii[None, None, :] / dy).astype(xp.int64)
    k = xp.rint(c[:, 1, None, None] + cos[None, :, None] * radii[None, None, :] / dx).astype(xp.int64)
    inside = (r >= 0) & (r < rows) & (k >= 0) & (k < cols)
    plane = xp.asarray(np.asarray(planes, dtype=np.int64))[:, None, None]
    values = labels[plane, xp.clip(r, 0, rows - 1), xp.clip(k, 0, cols - 1)]
    return xp.where(inside, values, 0).astype(xp.uint8)


def _exit_index(samples: Any) -> Any:
    """Per ray, the first sample that is not LV blood pool (the endocardial border)."""
    xp = array_module(samples)
    return xp.argmax((samples != LV_BLOOD).astype(xp.int8), axis=-1)


def myocardial_coverage(samples: Any) -> np.ndarray:
    """Per plane, the fraction of rays that leave the LV blood pool into LV myocardium (host)."""
    xp = array_module(samples)
    first = _exit_index(samples)
    value = xp.take_along_axis(samples, first[..., None], axis=-1)[..., 0]
    return to_host((value == LV_MYO).mean(axis=-1))


def wall_thickness(samples: Any, step_mm: float) -> np.ndarray:
    """Per plane and ray, the run of LV myocardium just outside the blood pool, in mm (host).

    Rays along which no myocardium follows the blood pool give 0.
    """
    xp = array_module(samples)
    n_steps = samples.shape[-1]
    first = _exit_index(samples)
    index = xp.minimum(first[..., None] + xp.arange(n_steps)[None, None, :], n_steps - 1)
    run = xp.cumprod((xp.take_along_axis(samples, index, axis=-1) == LV_MYO).astype(xp.int32), axis=-1)
    return to_host(run.sum(axis=-1)).astype(np.float64) * float(step_mm)
