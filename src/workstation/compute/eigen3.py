"""Eigenvalues of many real symmetric 3x3 matrices, in closed form, on the GPU and the CPU.

The matrices are given as six arrays of their distinct entries::

    | a  b  c |
    | b  d  e |
    | c  e  f |

and the eigenvalues come from the trigonometric solution of the characteristic cubic
(Smith, Commun. ACM 4(4):168, 1961): with ``q = tr/3``, ``p = sqrt(|A - qI|_F^2 / 6)``
and ``r = det((A - qI)/p)/2``, they are ``q + 2p cos(acos(r)/3 + 2k pi/3)``.  No
iteration, no branch but the degenerate ``p = 0`` (all three equal), so one GPU thread
per matrix and a vectorised NumPy twin give the same numbers (both compute in float64).
They are returned ordered by absolute value, ``|l1| <= |l2| <= |l3|``, the order
vesselness filters use.

:data:`CUDA_SOURCE` is the device function; other kernels (:mod:`.vesselness`) include it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from workstation.compute.arrays import array_module

#: ``sym3_eigenvalues(a, b, c, d, e, f, &l1, &l2, &l3)``: sorted by absolute value.
CUDA_SOURCE = r"""
__device__ __forceinline__ void sym3_swap_if(double& u, double& v) {
    if (fabs(u) > fabs(v)) { double t = u; u = v; v = t; }
}

__device__ void sym3_eigenvalues(double a, double b, double c, double d, double e, double f,
                                 double* l1, double* l2, double* l3) {
    const double p1 = b * b + c * c + e * e;
    const double q = (a + d + f) / 3.0;
    const double aq = a - q, dq = d - q, fq = f - q;
    const double p2 = aq * aq + dq * dq + fq * fq + 2.0 * p1;
    double u = q, v = q, w = q;
    if (p2 > 0.0) {
        const double p = sqrt(p2 / 6.0);
        const double s = 1.0 / p;
        const double b00 = aq * s, b11 = dq * s, b22 = fq * s, b01 = b * s, b02 = c * s, b12 = e * s;
        double r = 0.5 * (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02)
                          + b02 * (b01 * b12 - b11 * b02));
        r = fmin(1.0, fmax(-1.0, r));
        const double phi = acos(r) / 3.0;
        u = q + 2.0 * p * cos(phi);
        w = q + 2.0 * p * cos(phi + 2.0943951023931957);
        v = 3.0 * q - u - w;
    }
    sym3_swap_if(u, v);
    sym3_swap_if(v, w);
    sym3_swap_if(u, v);
    *l1 = u; *l2 = v; *l3 = w;
}
"""

#: Elements per NumPy chunk: the float64 temporaries of a chunk (about 20 arrays, with the
#: vesselness measure) stay near 40 MB whatever the volume.
CHUNK = 1 << 18


@lru_cache(maxsize=1)
def _eigen_kernel() -> Any:
    import cupy

    return cupy.ElementwiseKernel(
        "float32 a, float32 b, float32 c, float32 d, float32 e, float32 f",
        "float32 l1, float32 l2, float32 l3",
        "double u, v, w; sym3_eigenvalues(a, b, c, d, e, f, &u, &v, &w); l1 = u; l2 = v; l3 = w;",
        "workstation_sym3_eigenvalues",
        preamble=CUDA_SOURCE,
    )


def _swap_if(u: np.ndarray, v: np.ndarray) -> None:
    swap = np.abs(u) > np.abs(v)
    t = np.where(swap, u, v)
    u[swap] = v[swap]
    v[...] = t


def eigenvalues_numpy(a: Any, b: Any, c: Any, d: Any, e: Any, f: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The NumPy twin of the CUDA kernel on float64 arrays of one chunk (same formulas, same order)."""
    a, b, c, d, e, f = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d, e, f))
    p1 = b * b + c * c + e * e
    q = (a + d + f) / 3.0
    aq, dq, fq = a - q, d - q, f - q
    p2 = aq * aq + dq * dq + fq * fq + 2.0 * p1
    degenerate = ~(p2 > 0.0)
    p = np.sqrt(p2 / 6.0)
    s = 1.0 / np.where(degenerate, 1.0, p)
    b00, b11, b22, b01, b02, b12 = aq * s, dq * s, fq * s, b * s, c * s, e * s
    r = 0.5 * (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02))
    phi = np.arccos(np.clip(r, -1.0, 1.0)) / 3.0
    u = np.where(degenerate, q, q + 2.0 * p * np.cos(phi))
    w = np.where(degenerate, q, q + 2.0 * p * np.cos(phi + 2.0943951023931957))
    v = np.where(degenerate, q, 3.0 * q - u - w)
    _swap_if(u, v)
    _swap_if(v, w)
    _swap_if(u, v)
    return u, v, w


def symmetric_eigenvalues(a: Any, b: Any, c: Any, d: Any, e: Any, f: Any) -> tuple[Any, Any, Any]:
    """Eigenvalues ``(l1, l2, l3)`` (float32, ``|l1| <= |l2| <= |l3|``) of the matrices
    ``[[a, b, c], [b, d, e], [c, e, f]]`` given entry-wise as equally shaped arrays.

    CuPy inputs run one CUDA thread per matrix; NumPy inputs run :func:`eigenvalues_numpy`
    in chunks of :data:`CHUNK` matrices.
    """
    xp = array_module(a, b, c, d, e, f)
    entries = [xp.ascontiguousarray(x, dtype=xp.float32) for x in (a, b, c, d, e, f)]
    if xp is not np:
        l1, l2, l3 = _eigen_kernel()(*entries)
        return l1, l2, l3
    shape = entries[0].shape
    flat = [x.reshape(-1) for x in entries]
    out = [np.empty(flat[0].size, dtype=np.float32) for _ in range(3)]
    for start in range(0, flat[0].size, CHUNK):
        part = slice(start, start + CHUNK)
        for target, values in zip(out, eigenvalues_numpy(*(x[part] for x in flat))):
            target[part] = values
    return out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape)
