"""The Hessian of a volume at a physical scale, by separable Gaussian derivative filters.

Each second derivative is a product of three 1D Gaussian filters (orders 0, 1 or 2 along
z, y and x), so the six distinct components need 15 one-dimensional passes when the
passes along z and y are shared between components:

=========  =====  =====  =====
component    z      y      x
=========  =====  =====  =====
``xx``       0      0      2
``yy``       0      2      0
``yx``       0      1      1
``zx``       1      0      1
``zy``       1      1      0
``zz``       2      0      0
=========  =====  =====  =====

Derivatives are taken in millimetres (index derivatives divided by the spacing), so
anisotropic voxels give the same Hessian as isotropic ones, and scaled by ``sigma**2``
(Lindeberg's normalisation with gamma = 2), so responses of structures of different
size are comparable across scales.  Written once against the array's namespace: NumPy
with ``scipy.ndimage``, CuPy with ``cupyx.scipy.ndimage`` (the same kernel weights).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from workstation.compute.arrays import array_module, ndimage_module

#: Gaussian kernels reach this many standard deviations (at 3 the truncated tail of the
#: second-derivative kernel still costs 3 % of the response, at 4 0.1 %).
TRUNCATE = 4.0


class Hessian(NamedTuple):
    """The six distinct components of the symmetric Hessian, each shaped like the volume."""

    zz: Any
    zy: Any
    zx: Any
    yy: Any
    yx: Any
    xx: Any


def hessian(volume: Any, sigma_mm: float, spacing: Sequence[float], *, normalise: bool = True,
            truncate: float = TRUNCATE) -> Hessian:
    """Second derivatives of ``volume`` smoothed by a Gaussian of ``sigma_mm`` (float32).

    Parameters
    ----------
    volume
        ``(z, y, x)`` NumPy or CuPy array (any real dtype; computed in float32).
    sigma_mm
        Standard deviation of the Gaussian, mm.
    spacing
        Voxel spacing ``(dz, dy, dx)``, mm.
    normalise
        Multiply by ``sigma_mm ** 2`` (scale-normalised derivatives).

    Returns
    -------
    Hessian
        Components in value units per mm^2 (times mm^2 when normalised), on the
        volume's device.
    """
    xp = array_module(volume)
    ndi = ndimage_module(volume)
    data = xp.asarray(volume, dtype=xp.float32)
    sigmas = [float(sigma_mm) / float(d) for d in spacing]

    def d(a: Any, axis: int, order: int) -> Any:
        out = ndi.gaussian_filter1d(a, sigmas[axis], axis=axis, order=order, mode="nearest", truncate=truncate,
                                    output=xp.float32)
        if order:
            out *= np.float32(1.0 / float(spacing[axis]) ** order)
        return out

    z0 = d(data, 0, 0)
    y0 = d(z0, 1, 0)
    xx = d(y0, 2, 2)
    del y0
    yy = d(d(z0, 1, 2), 2, 0)
    yx = d(d(z0, 1, 1), 2, 1)
    del z0
    z1 = d(data, 0, 1)
    zx = d(d(z1, 1, 0), 2, 1)
    zy = d(d(z1, 1, 1), 2, 0)
    del z1
    zz = d(d(d(data, 0, 2), 1, 0), 2, 0)
    h = Hessian(zz, zy, zx, yy, yx, xx)
    if normalise:
        scale = np.float32(float(sigma_mm) ** 2)
        for component in h:
            component *= scale
    return h


def frobenius_norm(h: Hessian) -> Any:
    """``sqrt(sum of squares of all nine entries)`` per voxel (the eigenvalues' Euclidean norm)."""
    xp = array_module(h.zz)
    total = h.zz * h.zz + h.yy * h.yy + h.xx * h.xx
    total += 2.0 * (h.zy * h.zy + h.zx * h.zx + h.yx * h.yx)
    return xp.sqrt(total, out=total)
