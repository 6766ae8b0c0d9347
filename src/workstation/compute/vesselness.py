"""Multi-scale Frangi vesselness of bright tubes, one fused CUDA kernel beside its NumPy twin.

At each scale the scale-normalised Hessian (:mod:`.hessian`) is computed, then one
pass per voxel finds its eigenvalues ``|l1| <= |l2| <= |l3|`` (:mod:`.eigen3`) and
Frangi's measure (Frangi et al., MICCAI 1998, LNCS 1496:130)::

    V = (1 - exp(-Ra^2 / 2 alpha^2)) exp(-Rb^2 / 2 beta^2) (1 - exp(-S^2 / 2 c^2))

with ``Ra = |l2|/|l3|`` (line versus plate), ``Rb = |l1|/sqrt(|l2 l3|)`` (line versus
blob) and ``S = sqrt(l1^2 + l2^2 + l3^2)`` (structure versus noise); ``V = 0`` unless
``l2 < 0`` and ``l3 < 0`` (a bright tube on a darker background).  The response is
the maximum over scales, kept in place, and the scale of the maximum is returned too.
``c`` is given in the image's units (HU for CT: the structure strength that counts as
half-way between noise and vessel) or, when ``None``, half the largest Hessian norm
of each scale, as Frangi proposed and scikit-image does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Sequence

import numpy as np

from workstation.compute.arrays import array_module
from workstation.compute.eigen3 import CHUNK, CUDA_SOURCE, eigenvalues_numpy
from workstation.compute.hessian import Hessian, frobenius_norm, hessian

_FRANGI_CUDA = CUDA_SOURCE + r"""
__device__ __forceinline__ double frangi_response(double l1, double l2, double l3,
                                                 double a2, double b2, double c2) {
    if (l2 >= 0.0 || l3 >= 0.0) return 0.0;
    const double ra = fabs(l2) / fabs(l3);
    const double rb2 = (l1 * l1) / fabs(l2 * l3);
    const double s2 = l1 * l1 + l2 * l2 + l3 * l3;
    return (1.0 - exp(-ra * ra / a2)) * exp(-rb2 / b2) * (1.0 - exp(-s2 / c2));
}
"""


@lru_cache(maxsize=1)
def _frangi_kernel() -> Any:
    import cupy

    return cupy.ElementwiseKernel(
        "float32 a, float32 b, float32 c, float32 d, float32 e, float32 f, float64 a2, float64 b2, float64 c2, "
        "float32 scale",
        "float32 best, float32 best_scale",
        """
        double u, v, w;
        sym3_eigenvalues(a, b, c, d, e, f, &u, &v, &w);
        const float r = (float)frangi_response(u, v, w, a2, b2, c2);
        if (r > best) { best = r; best_scale = scale; }
        """,
        "workstation_frangi_max",
        preamble=_FRANGI_CUDA,
    )


def frangi_numpy(l1: np.ndarray, l2: np.ndarray, l3: np.ndarray, a2: float, b2: float, c2: float) -> np.ndarray:
    """Frangi's measure of float64 eigenvalue arrays (the twin of ``frangi_response``)."""
    tube = (l2 < 0.0) & (l3 < 0.0)
    l2s = np.where(tube, l2, -1.0)
    l3s = np.where(tube, l3, -1.0)
    ra = np.abs(l2s) / np.abs(l3s)
    rb2 = (l1 * l1) / np.abs(l2s * l3s)
    s2 = l1 * l1 + l2 * l2 + l3 * l3
    v = (1.0 - np.exp(-ra * ra / a2)) * np.exp(-rb2 / b2) * (1.0 - np.exp(-s2 / c2))
    return np.where(tube, v, 0.0)


def _accumulate_numpy(h: Hessian, consts: tuple[float, float, float], scale: float, best: np.ndarray,
                      best_scale: np.ndarray) -> None:
    flat = [np.ascontiguousarray(x).reshape(-1) for x in (h.zz, h.zy, h.zx, h.yy, h.yx, h.xx)]
    b, s = best.reshape(-1), best_scale.reshape(-1)
    trace = flat[0] + flat[3] + flat[5]
    # a bright tube (l2, l3 < 0 and |l1| <= |l2|) has a negative trace: the rest answers 0
    candidates = np.flatnonzero(trace < 0)
    for start in range(0, candidates.size, CHUNK):
        idx = candidates[start: start + CHUNK]
        response = frangi_numpy(*eigenvalues_numpy(*(x[idx] for x in flat)), *consts).astype(np.float32)
        better = response > b[idx]
        b[idx[better]] = response[better]
        s[idx[better]] = np.float32(scale)


def frangi(volume: Any, spacing: Sequence[float], sigmas_mm: Sequence[float], *, alpha: float = 0.5,
           beta: float = 0.5, c: Optional[float] = None) -> tuple[Any, Any]:
    """Multi-scale vesselness of bright tubes in ``volume`` (NumPy or CuPy, ``(z, y, x)``).

    Parameters
    ----------
    spacing
        Voxel spacing ``(dz, dy, dx)``, mm.
    sigmas_mm
        Gaussian scales, mm (a blurred tube of radius ``r`` answers best near ``sigma = 0.65 r``).
    alpha, beta
        Frangi's sensitivities to ``Ra`` (plate) and ``Rb`` (blob).
    c
        Sensitivity to the structure strength, in the image's units; ``None``: half the
        largest Hessian norm of each scale.

    Returns
    -------
    vesselness, scale_mm
        float32 arrays on the volume's device: the best response in [0, 1] and the
        scale (mm) that gave it (0 where no scale responded).
    """
    if not sigmas_mm:
        raise ValueError("vesselness needs at least one scale")
    xp = array_module(volume)
    best = xp.zeros(volume.shape, dtype=xp.float32)
    best_scale = xp.zeros(volume.shape, dtype=xp.float32)
    for sigma in sigmas_mm:
        h = hessian(volume, float(sigma), spacing)
        if c is None:
            half_max = 0.5 * float(frobenius_norm(h).max())
            c_scale = half_max if half_max > 0 else 1.0
        else:
            c_scale = float(c)
        consts = (2.0 * alpha * alpha, 2.0 * beta * beta, 2.0 * c_scale * c_scale)
        if xp is np:
            _accumulate_numpy(h, consts, float(sigma), best, best_scale)
        else:
            entries = [xp.ascontiguousarray(x) for x in (h.zz, h.zy, h.zx, h.yy, h.yx, h.xx)]
            _frangi_kernel()(*entries, *consts, np.float32(sigma), best, best_scale)
        del h
    return best, best_scale
