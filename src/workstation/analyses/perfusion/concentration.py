"""Time grids, bolus arrival, signal -> concentration and the tissue mask.

Curves are stored time-major, ``(time, voxel)``, as a dynamic series is acquired; every
kernel here works on NumPy or CuPy arrays (``xp``) and keeps that layout.

Concentration
-------------
CT
    ``C = S - S0``: the HU rise over the pre-bolus baseline ``S0``.  Iodine
    concentration is proportional to the HU rise; the proportionality constant cancels
    between tissue and AIF, so CBF/CBV need no conversion and curves stay in HU.
MR (DSC)
    ``C = -ln(S / S0) / TE`` (1/s), with TE from the header (EchoTime, ms).  Signal
    at or below 0 is clipped to 1e-3 * S0 first.

The large-to-small vessel haematocrit correction ``k_H = (1 - 0.45) / (1 - 0.25)`` is
applied with the maps (see :mod:`.maps`).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

#: CT tissue range for the baseline image (HU): below excludes air, fat and CSF,
#: above excludes bone and calcification.
CT_TISSUE_HU = (10.0, 80.0)
#: MR tissue: baseline signal above this fraction of the 99th percentile of the head.
MR_TISSUE_FRACTION = 0.1


def uniform_grid(times: Any, dt: Optional[float] = None) -> tuple[NDArray[np.float64], float]:
    """Uniform sampling times spanning ``times`` (s).

    The step is ``dt`` when given, else the smallest acquisition step (which keeps the
    finest temporal detail the scanner recorded; uneven protocols are interpolated up
    to it, never down).
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 3:
        raise ValueError(f"a perfusion series needs at least 3 time points, got {t.size}")
    steps = np.diff(t)
    if np.any(steps <= 0):
        raise ValueError("acquisition times must be strictly increasing")
    step = float(steps.min()) if dt is None else float(dt)
    if step <= 0:
        raise ValueError(f"time step must be positive, got {step}")
    n = int(np.floor((t[-1] - t[0]) / step + 1e-6)) + 1
    return t[0] + step * np.arange(n), step


def interpolation_matrix(times: Any, grid: Any) -> NDArray[np.float64]:
    """``(len(grid), len(times))`` matrix of linear interpolation from ``times`` to ``grid``."""
    t = np.asarray(times, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    idx = np.clip(np.searchsorted(t, g, side="right") - 1, 0, t.size - 2)
    w = np.clip((g - t[idx]) / (t[idx + 1] - t[idx]), 0.0, 1.0)
    m = np.zeros((g.size, t.size))
    rows = np.arange(g.size)
    m[rows, idx] = 1.0 - w
    m[rows, idx + 1] += w
    return m


def trapezoid_weights(times: Any) -> NDArray[np.float64]:
    """Weights ``w`` with ``w @ curve`` = trapezoid area of ``curve`` over ``times`` (s)."""
    t = np.asarray(times, dtype=np.float64)
    steps = np.diff(t)
    w = np.zeros(t.size)
    w[:-1] += steps / 2
    w[1:] += steps / 2
    return w


def detect_arrival(curve: Any, *, fraction: float = 0.1, n_sd: float = 3.0) -> int:
    """Index of the first sample of the bolus in an enhancement curve (rising = contrast).

    The baseline level is the median of the first three samples and its noise the
    median absolute successive difference before the peak.  Arrival is the first
    sample above ``level + max(n_sd * noise, fraction * (peak - level))``.
    """
    c = np.asarray(curve, dtype=np.float64)
    peak_i = int(np.argmax(c))
    level = float(np.median(c[: max(1, min(3, peak_i))]))
    pre = c[: max(peak_i, 2)]
    noise = 1.4826 * float(np.median(np.abs(np.diff(pre)))) / np.sqrt(2) if pre.size > 1 else 0.0
    rise = float(c[peak_i]) - level
    if rise <= 0:
        return 0
    limit = level + max(n_sd * noise, fraction * rise)
    above = np.nonzero(c[: peak_i + 1] > limit)[0]
    return int(above[0]) if above.size else peak_i


def baseline_frames(curve: Any, *, margin: int = 1, **kwargs: Any) -> int:
    """Number of pre-bolus frames: those before the arrival less ``margin`` (at least 1)."""
    return max(1, detect_arrival(curve, **kwargs) - margin)


def enhancement(signal: Any, modality: str) -> Any:
    """Signal rewritten so that contrast raises it (MR DSC signal drops): for detection only."""
    return -signal if modality.upper() == "MR" else signal


def to_concentration(signal: Any, n_baseline: int, modality: str, te_s: Optional[float], xp: Any = np) -> tuple[Any, Any]:
    """Concentration curves and the baseline image from ``(time, voxel)`` signal.

    Returns ``(conc, s0)``; CT: HU rise, MR: ``-ln(S/S0)/TE`` in 1/s.
    """
    s0 = signal[:n_baseline].mean(axis=0)
    if modality.upper() != "MR":
        return signal - s0, s0
    if te_s is None or te_s <= 0:
        raise ValueError("MR DSC concentration needs the echo time (EchoTime) in the header or parameters")
    floor = xp.maximum(s0, 1e-6) * 1e-3
    ratio = xp.maximum(signal, floor) / xp.maximum(s0, 1e-6)
    return -xp.log(ratio) / te_s, s0


def tissue_range_mask(s0: Any, modality: str, mr_reference: Optional[float] = None) -> Any:
    """Voxels whose baseline is brain parenchyma: CT in :data:`CT_TISSUE_HU`; MR above
    :data:`MR_TISSUE_FRACTION` of ``mr_reference`` (the 99th percentile of the head)."""
    if modality.upper() == "MR":
        ref = float(mr_reference) if mr_reference is not None else float(s0.max())
        return s0 > MR_TISSUE_FRACTION * ref
    lo, hi = CT_TISSUE_HU
    return (s0 >= lo) & (s0 <= hi)


def smooth_frames(block: Any, sigma_mm: float, spacing_yx: tuple[float, float], ndimage: Any) -> Any:
    """In-plane Gaussian smoothing of a ``(time, z, y, x)`` block (sigma in mm, 0 = off).

    Slices are smoothed independently (perfusion slices are thick), so slabs of whole
    slices can be processed one at a time without halos.
    """
    if sigma_mm <= 0:
        return block
    sy, sx = sigma_mm / spacing_yx[0], sigma_mm / spacing_yx[1]
    return ndimage.gaussian_filter(block, sigma=(0.0, 0.0, sy, sx), mode="nearest")
