"""Dose operators kept resident on the backend: ``d = A x`` and its adjoint ``g = A^T y``.

On the GPU the matrix lives as ``cupyx.scipy.sparse.csr_matrix`` for the whole
compression or optimisation, with a *stored* CSR of ``A^T`` beside it: a product through
the transposed view is a CSC product, two to four times slower there.  On the CPU it is
the other way round: SciPy's CSC product through the view reads ``y`` once and adds into
an output that stays in cache, while a CSR of ``A^T`` gathers ``y`` at random (34 ms
against 55-81 ms at 4e5 x 2e3 with 2.6e7 non-zeros, one thread), so the view is used.  :class:`LowRankOperator` is the
compressed form ``A ~ S + H W`` (sparse plus rank ``r``).
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

import numpy as np

from workstation.compute.backend import Backend


class DoseOperator(Protocol):
    """What optimisation needs of a dose matrix."""

    backend: Backend

    @property
    def shape(self) -> tuple[int, int]: ...

    def dose(self, x: Any) -> Any: ...

    def adjoint(self, y: Any) -> Any: ...

    def nbytes(self) -> int: ...


def to_backend_csr(matrix: Any, backend: Backend) -> Any:
    """A sparse matrix (SciPy's, or CuPy's already on the device) as float32 CSR on ``backend``."""
    import scipy.sparse as sp

    on_device = type(matrix).__module__.startswith("cupyx")
    if not backend.is_gpu:
        return sp.csr_matrix(matrix.get() if on_device else matrix, dtype=np.float32)
    import cupyx.scipy.sparse as csp

    with backend.xp.cuda.Device(backend.device_id):
        if on_device:
            return matrix.tocsr().astype(np.float32)
        return csp.csr_matrix(sp.csr_matrix(matrix, dtype=np.float32))


def adjoint_matrix(matrix: Any, backend: Backend) -> Any:
    """What ``A^T @ y`` runs through: a stored CSR of ``A^T`` on the GPU (made there), the CSC view on the CPU."""
    if backend.is_gpu:
        with backend.xp.cuda.Device(backend.device_id):
            return matrix.T.tocsr()
    return matrix.T


def _csr_bytes(m: Any) -> int:
    return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)


class SparseOperator:
    """``A`` and its adjoint on the backend (a stored CSR of ``A^T`` on the GPU)."""

    def __init__(self, matrix: Any, backend: Backend) -> None:
        self.backend = backend
        self.A = to_backend_csr(matrix, backend)
        self.AT = adjoint_matrix(self.A, backend)

    @property
    def shape(self) -> tuple[int, int]:
        r, c = self.A.shape
        return (int(r), int(c))

    def dose(self, x: Any) -> Any:
        return self.A @ x

    def adjoint(self, y: Any) -> Any:
        return self.AT @ y

    def nbytes(self) -> int:
        return _csr_bytes(self.A) + (_csr_bytes(self.AT) if self.backend.is_gpu else 0)


class LowRankOperator:
    """``A ~ S + H W``: a sparse part and a rank-``r`` correction, on the backend."""

    def __init__(self, sparse: Any, h: Optional[Any], w: Optional[Any], backend: Backend) -> None:
        self.backend = backend
        self.S = to_backend_csr(sparse, backend)
        self.ST = adjoint_matrix(self.S, backend)
        xp = backend.xp
        self.H = None if h is None else backend.asarray(np.asarray(h, dtype=np.float32))
        self.W = None if w is None else backend.asarray(np.asarray(w, dtype=np.float32))
        self.HT = None if self.H is None else xp.ascontiguousarray(self.H.T)
        self.WT = None if self.W is None else xp.ascontiguousarray(self.W.T)

    @property
    def shape(self) -> tuple[int, int]:
        r, c = self.S.shape
        return (int(r), int(c))

    @property
    def rank(self) -> int:
        return 0 if self.W is None else int(self.W.shape[0])

    def dose(self, x: Any) -> Any:
        d = self.S @ x
        if self.H is not None and self.W is not None:
            d = d + self.H @ (self.W @ x)
        return d

    def adjoint(self, y: Any) -> Any:
        g = self.ST @ y
        if self.HT is not None and self.WT is not None:
            g = g + self.WT @ (self.HT @ y)
        return g

    def nbytes(self) -> int:
        dense = sum(int(a.nbytes) for a in (self.H, self.W, self.HT, self.WT) if a is not None)
        return _csr_bytes(self.S) + (_csr_bytes(self.ST) if self.backend.is_gpu else 0) + dense
