"""Compression of an influence matrix for faster optimisation, on CuPy or NumPy/SciPy.

Two methods (after the CompressRTP papers, re-implemented on sparse matrices throughout;
a dense ``A`` is never formed):

* ``sparse`` (randomized minor rectification, RMR): with ``tau = max(A) * p / 100``, the
  entries of each row at or below ``tau`` are zeroed and their sum ``s`` is put back on
  ``k = ceil(s / tau)`` of them, drawn with replacement with probability proportional to
  their value, ``s / k`` per draw.  Row sums, and so the dose of a uniform fluence, are
  kept exactly (to float32 rounding).
* ``sparse+lowrank``: ``S`` keeps the entries above ``tau`` (``p`` = 1 % by default); the
  rest ``R = A - S`` (sparse) is approximated by a randomized SVD of rank ``r`` with
  ``q`` power iterations (Halko, Martinsson and Tropp 2011), ``R ~ H W``, so
  ``d ~ S x + H (W x)``.

Random numbers (RMR's draws, the SVD's Gaussian test matrix) come from one seeded NumPy
generator on the host and are sent to the device, so the CPU and GPU paths make the same
selection; only float rounding differs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.kernels import bincount, csr_rows, scatter_add, segment_ids
from workstation.analyses.rt_dose.operators import LowRankOperator, adjoint_matrix, SparseOperator, to_backend_csr
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend

METHODS = ("sparse", "sparse+lowrank")
DEFAULT_THRESHOLD_PCT = {"sparse": 10.0, "sparse+lowrank": 1.0}


@dataclass(frozen=True, eq=False)
class Compressed:
    """A compressed influence matrix: ``S`` (SciPy CSR, host) and, for ``sparse+lowrank``, ``H`` and ``W``."""

    method: str
    sparse: Any
    h: Optional[NDArray[np.float32]]
    w: Optional[NDArray[np.float32]]
    threshold_pct: float
    tau: float
    nnz_before: int
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return 0 if self.w is None else int(self.w.shape[0])

    @property
    def nnz_after(self) -> int:
        return int(self.sparse.nnz)

    def operator(self, backend: Backend) -> LowRankOperator:
        return LowRankOperator(self.sparse, self.h, self.w, backend)


class _Clock:
    """Stage timings with the device synchronised at each mark."""

    def __init__(self, backend: Backend) -> None:
        self.backend, self._t = backend, time.perf_counter()
        self.timings: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        self.backend.synchronize()
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self._t
        self._t = now


def _backend_csr(data: Any, indices: Any, indptr: Any, shape: tuple[int, int], backend: Backend) -> Any:
    if backend.is_gpu:
        import cupyx.scipy.sparse as csp

        return csp.csr_matrix((data, indices, indptr), shape=shape)
    import scipy.sparse as sp

    return sp.csr_matrix((data, indices, indptr), shape=shape)


def _host_csr(m: Any) -> Any:
    import scipy.sparse as sp

    if hasattr(m, "get"):
        m = m.get()
    out = sp.csr_matrix(m, dtype=np.float32)
    out.eliminate_zeros()
    return out


def _keep(a: Any, mask: Any, backend: Backend) -> Any:
    """The entries of CSR ``a`` where ``mask`` (per stored entry) holds, as a CSR on the backend."""
    xp = backend.xp
    rows = csr_rows(xp, a.indptr, int(a.data.shape[0]))
    counts = bincount(xp, rows[mask], a.shape[0])
    indptr = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(counts)]).astype(a.indptr.dtype)
    return _backend_csr(a.data[mask], a.indices[mask], indptr, a.shape, backend)


def rmr(matrix: Any, threshold_pct: float, rng: np.random.Generator, backend: Backend,
        clock: Optional[_Clock] = None) -> tuple[Any, float]:
    """Randomized minor rectification of ``matrix`` (host SciPy CSR); returns the host CSR ``S``."""
    xp = backend.xp
    clock = clock or _Clock(backend)
    a = to_backend_csr(matrix, backend)
    clock.mark("upload")
    data = a.data
    tau = float(to_host(data.max())) * threshold_pct / 100.0 if data.shape[0] else 0.0
    rows = csr_rows(xp, a.indptr, int(data.shape[0]))
    small = (data <= tau) & (data != 0)
    where = xp.flatnonzero(small)
    values = data[where].astype(xp.float64)
    small_rows = rows[where]
    sums = bincount(xp, small_rows, a.shape[0], values)
    draws = xp.where(sums > 0, xp.ceil(sums / tau * (1.0 - 1e-9)), 0).astype(xp.int64) if tau > 0 else sums * 0
    total = int(to_host(draws.sum()))
    clock.mark("threshold")
    u = backend.asarray(rng.random(total))  # one seeded host generator: CPU and GPU draw alike
    draw_rows = segment_ids(xp, draws, total)
    filled = xp.cumsum(values)
    before = xp.cumsum(sums) - sums
    first = xp.searchsorted(small_rows, xp.arange(a.shape[0], dtype=xp.int64))
    last = xp.searchsorted(small_rows, xp.arange(a.shape[0], dtype=xp.int64), side="right") - 1
    target = before[draw_rows] + u * sums[draw_rows]
    chosen = xp.clip(xp.searchsorted(filled, target, side="right"), first[draw_rows], last[draw_rows])
    new = xp.zeros(where.shape[0], dtype=xp.float64)
    share = (sums / xp.maximum(draws, 1))[draw_rows]
    scatter_add(xp, new, chosen, share)
    out_data = data.copy()
    out_data[where] = new.astype(xp.float32)
    clock.mark("redistribute")
    s = _keep(_backend_csr(out_data, a.indices, a.indptr, a.shape, backend), out_data != 0, backend)
    host = _host_csr(s)
    clock.mark("download")
    return host, tau


def randomized_svd(residual: Any, rank: int, rng: np.random.Generator, backend: Backend, *,
                   oversample: int = 5, power_iterations: int = 2) -> tuple[Any, Any]:
    """``R ~ H W`` of a sparse ``R`` (backend CSR; ``R^T`` as :func:`adjoint_matrix` gives it); returns backend ``H`` (m x r), ``W`` (r x n)."""
    xp = backend.xp
    rt = adjoint_matrix(residual, backend)
    m, n = residual.shape
    width = min(rank + oversample, n, m)
    omega = backend.asarray(rng.standard_normal((n, width)).astype(np.float32))
    y = residual @ omega
    for _ in range(power_iterations):
        q, _r = xp.linalg.qr(y)
        z, _r = xp.linalg.qr(rt @ q)
        y = residual @ z
    q, _r = xp.linalg.qr(y)
    b = (rt @ q).T  # (width, n) = Q^T R
    u, s, vt = xp.linalg.svd(b, full_matrices=False)
    r = min(rank, width)
    h = (q @ u[:, :r]) * s[None, :r]
    return xp.ascontiguousarray(h.astype(xp.float32)), xp.ascontiguousarray(vt[:r].astype(xp.float32))


def compress(matrix: Any, method: str, backend: Backend, *, threshold_pct: Optional[float] = None, rank: int = 5,
             power_iterations: int = 2, seed: int = 0,
             progress: Optional[Callable[[float, str], None]] = None) -> Compressed:
    """Compress a host SciPy CSR influence matrix with ``method`` (one of :data:`METHODS`)."""
    if method not in METHODS:
        raise ValueError(f"unknown compression method {method!r}; use {' or '.join(METHODS)}")
    pct = DEFAULT_THRESHOLD_PCT[method] if threshold_pct is None else float(threshold_pct)
    if not 0.0 < pct < 100.0:
        raise ValueError(f"threshold_pct must lie between 0 and 100 %, got {pct}")
    rng = np.random.default_rng(seed)
    clock = _Clock(backend)
    if progress:
        progress(0.0, f"{method} compression on {backend.label}")
    if method == "sparse":
        host, tau = rmr(matrix, pct, rng, backend, clock)
        return Compressed(method, host, None, None, pct, tau, int(matrix.nnz), clock.timings)
    a = to_backend_csr(matrix, backend)
    clock.mark("upload")
    tau = float(to_host(a.data.max())) * pct / 100.0 if a.data.shape[0] else 0.0
    big = a.data > tau
    s = _keep(a, big, backend)
    residual = _keep(a, ~big, backend)
    clock.mark("threshold")
    if progress:
        progress(0.3, f"rank-{rank} randomized SVD of the remainder")
    h, w = randomized_svd(residual, rank, rng, backend, power_iterations=power_iterations)
    clock.mark("svd")
    host = _host_csr(s)
    out = Compressed(method, host, to_host(h), to_host(w), pct, tau, int(matrix.nnz), clock.timings)
    clock.mark("download")
    return out


def relative_dose_errors(full: SparseOperator, compressed: LowRankOperator, seed: int = 0) -> dict[str, float]:
    """``||A x - A~ x|| / ||A x||`` for a uniform fluence and a random one (seeded, uniform in [0, 1))."""
    backend = full.backend
    xp = backend.xp
    n = full.shape[1]
    out = {}
    random = np.random.default_rng(seed + 1).random(n).astype(np.float32)
    for name, x_host in (("uniform", np.ones(n, dtype=np.float32)), ("random", random)):
        x = backend.asarray(x_host)
        exact = full.dose(x)
        diff = exact - compressed.dose(x)
        out[name] = float(to_host(xp.linalg.norm(diff) / xp.maximum(xp.linalg.norm(exact), 1e-30)))
    return out
