"""Array helpers shared by the RT kernels, one body for NumPy and CuPy.

CuPy has no ``repeat`` by an array of counts (it would need the total on the host) and
no ``add.at``; these give both backends the same operations.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


def segment_ids(xp: ModuleType, counts: Any, total: int) -> Any:
    """``repeat(arange(len(counts)), counts)`` without a host round trip: the segment of each of ``total`` items."""
    ends = xp.cumsum(counts)
    return xp.searchsorted(ends, xp.arange(total, dtype=ends.dtype), side="right")


def scatter_add(xp: ModuleType, target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` with repeated indices summed (a weighted ``bincount`` / ``cupyx.scatter_add``).

    ``target`` is 1-D; on the host the sums run in float64 (``np.add.at`` is far slower).
    """
    if xp.__name__ == "numpy":
        n = target.shape[0]
        target += xp.bincount(index, weights=values, minlength=n)[:n].astype(target.dtype)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def csr_rows(xp: ModuleType, indptr: Any, nnz: int) -> Any:
    """The row of each stored entry of a CSR matrix with row pointers ``indptr``."""
    if xp.__name__ == "numpy":
        return xp.repeat(xp.arange(indptr.shape[0] - 1, dtype=xp.int64), xp.diff(indptr))
    return (xp.searchsorted(indptr, xp.arange(nnz, dtype=indptr.dtype), side="right") - 1).astype(xp.int64)


def bincount(xp: ModuleType, x: Any, minlength: int, weights: Any = None) -> Any:
    """``bincount`` of non-negative ints ``x`` with exactly ``minlength`` bins (zeros for an empty ``x``)."""
    if int(x.shape[0]) == 0:
        return xp.zeros(minlength, dtype=xp.float64 if weights is not None else xp.int64)
    return xp.bincount(x, weights=weights, minlength=minlength)[:minlength]
