"""Where the heart is in a cine: the ventricles are what moves.

Blood pools fill and empty over the cardiac cycle, so the signal's standard deviation
over the phases is largest on the ventricles (their blood-myocardium borders sweep
across the pixels); the static chest hardly changes.  Smoothed over ~15 mm and summed
over the middle slices, the weighted centre of its upper half lies between the LV and
the RV: the first guess of the window a 2D model sees (the analysis then centres the
window on what a pilot run of the model finds, :func:`labels_centre`).  NumPy or CuPy.
"""

from __future__ import annotations

from typing import Any, Sequence

from workstation.compute.arrays import array_module, to_host

SMOOTH_MM = 15.0


def heart_centre(cine: Any, pixel_spacing: Sequence[float], ndimage: Any) -> tuple[float, float]:
    """Row and column (study pixels) of the heart's centre in a ``(phases, slices, rows, cols)`` cine.

    With a single phase there is no motion: the image centre is returned.
    """
    xp = array_module(cine)
    n_phases, n_slices, rows, cols = cine.shape
    if n_phases < 2:
        return ((rows - 1) / 2.0, (cols - 1) / 2.0)
    lo, hi = n_slices // 4, max(n_slices - n_slices // 4, n_slices // 4 + 1)
    motion = cine[:, lo:hi].astype(xp.float32, copy=False).std(axis=0).mean(axis=0)
    sigma = (SMOOTH_MM / float(pixel_spacing[0]), SMOOTH_MM / float(pixel_spacing[1]))
    smooth = ndimage.gaussian_filter(motion, sigma, mode="constant")
    weight = xp.where(smooth >= 0.5 * smooth.max(), smooth, 0.0)
    return _centroid(weight, xp)


def labels_centre(labels: Any) -> tuple[float, float] | None:
    """Row and column of the centroid of every labelled pixel of ``(..., rows, cols)`` labels; None if none."""
    xp = array_module(labels)
    weight = (labels > 0).reshape(-1, *labels.shape[-2:]).sum(axis=0).astype(xp.float64)
    return _centroid(weight, xp) if float(to_host(weight.sum())) > 0 else None


def _centroid(weight: Any, xp: Any) -> tuple[float, float]:
    rows, cols = weight.shape
    total = weight.sum()
    r = (weight.sum(axis=1) * xp.arange(rows)).sum() / total
    c = (weight.sum(axis=0) * xp.arange(cols)).sum() / total
    return (float(to_host(r)), float(to_host(c)))

