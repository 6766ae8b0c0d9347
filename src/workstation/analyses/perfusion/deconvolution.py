"""Model-free deconvolution of tissue curves by one arterial input: sSVD, cSVD, oSVD.

The tissue concentration is the arterial input convolved with the flow-scaled residue
function, ``C(t) = CBF * (AIF * R)(t)``.  On a uniform grid of step ``dt`` this is
``c = A k`` with ``A[i, j] = dt * aif[i - j]`` (rectangle rule, Ostergaard 1996) and
``k = CBF * R``.  Every voxel shares ``A``, so the pseudo-inverse is built once on the
host (an ``N x N`` or ``2N x 2N`` SVD, microseconds) and all voxels are deconvolved by
one matrix product with the ``(time, voxel)`` concentration block: never an SVD per
voxel.

Methods
-------
``ssvd``
    Standard truncated SVD of the lower-triangular ``A`` (Ostergaard et al., MRM 36,
    1996).  Singular values below ``threshold * s_max`` are dropped (default 0.2).
    Underestimates CBF when the tissue bolus arrives later than the AIF.
``csvd``
    Block-circulant SVD (Wu et al., MRM 50, 2003): the AIF is zero-padded to ``L = 2N``
    and ``A`` becomes circulant, which makes the flow estimate insensitive to the
    delay between AIF and tissue (default threshold 0.1).
``osvd``
    cSVD with a threshold chosen per voxel (Wu 2003): for candidate thresholds the
    oscillation index ``OI = 1/(L f_max) * sum_k |f[k] - 2 f[k-1] + f[k-2]|`` of the
    residue is computed and the smallest threshold whose ``OI < oi_target`` (default
    0.095) is kept; when none qualifies the largest candidate is used.  The SVD is
    computed once; the residues of all candidates are accumulated band by band from
    the same factors, so all thresholds together cost one matrix product.

All operators are float64 on the host; :meth:`Deconvolver.apply` runs on any backend
(``xp`` is NumPy or CuPy) in the dtype of its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

METHODS = ("ssvd", "csvd", "osvd")
DEFAULT_THRESHOLDS = {"ssvd": 0.2, "csvd": 0.1, "osvd": 0.1}
#: Candidate thresholds (fractions of the largest singular value) tried by oSVD.
OSVD_CANDIDATES: tuple[float, ...] = (0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def convolution_matrix(aif: NDArray[np.float64], dt: float, method: str) -> NDArray[np.float64]:
    """The matrix ``A`` with ``c = A k`` for ``aif`` sampled every ``dt`` seconds.

    ``ssvd``: lower-triangular Toeplitz, ``N x N``.  ``csvd``/``osvd``: circulant of the
    AIF zero-padded to ``2N``, ``2N x 2N``.
    """
    a = np.asarray(aif, dtype=np.float64)
    n = a.size
    if method == "ssvd":
        i, j = np.indices((n, n))
        return np.where(i >= j, dt * a[np.clip(i - j, 0, n - 1)], 0.0)
    if method in ("csvd", "osvd"):
        length = 2 * n
        padded = np.concatenate([a, np.zeros(n)])
        i, j = np.indices((length, length))
        return dt * padded[(i - j) % length]
    raise ValueError(f"unknown deconvolution method {method!r}; use one of {', '.join(METHODS)}")


def oscillation_index(residue: Any, xp: Any = np) -> Any:
    """Wu 2003 oscillation index of residues ``(L, voxels)``; ``inf`` where max <= 0."""
    length = residue.shape[0]
    second = residue[2:] - 2.0 * residue[1:-1] + residue[:-2]
    total = xp.abs(second).sum(axis=0)
    peak = residue.max(axis=0)
    safe = xp.where(peak > 0, peak, 1.0)
    return xp.where(peak > 0, total / (length * safe), xp.inf)


def residue_peak(residue: Any, dt: float, n_samples: int, circular: bool, xp: Any = np) -> tuple[Any, Any]:
    """Peak height and time of the peak (s, parabola-refined) of residues ``(L, voxels)``.

    For circulant residues an index in the second half means the tissue leads the AIF;
    its time is taken as negative and clipped to 0 s.
    """
    length = residue.shape[0]
    idx = xp.argmax(residue, axis=0)
    cols = xp.arange(residue.shape[1])
    peak = residue[idx, cols]
    if circular:
        left = residue[(idx - 1) % length, cols]
        right = residue[(idx + 1) % length, cols]
    else:
        left = residue[xp.maximum(idx - 1, 0), cols]
        right = residue[xp.minimum(idx + 1, length - 1), cols]
    denom = left - 2.0 * peak + right
    safe = xp.where(denom < 0, denom, -1.0)
    offset = xp.where(denom < 0, 0.5 * (left - right) / safe, 0.0)
    if not circular:
        offset = xp.where((idx == 0) | (idx == length - 1), 0.0, offset)
    position = idx.astype(residue.dtype) + xp.clip(offset, -0.5, 0.5)
    if circular:
        position = xp.where(idx >= n_samples, position - length, position)
    return peak, xp.maximum(position * dt, 0.0)


@dataclass(frozen=True)
class ResidueStats:
    """Per-voxel results of a deconvolution (arrays on the backend's device).

    ``kmax``: peak of ``CBF * R`` in 1/s (concentration units cancel);
    ``tmax_s``: time of that peak; ``threshold``: truncation threshold used.
    """

    kmax: Any
    tmax_s: Any
    threshold: Any


@dataclass(frozen=True)
class Deconvolver:
    """Pseudo-inverse operators for one AIF, ready to apply to ``(time, voxel)`` blocks.

    Build with :meth:`build`.  ``operators`` holds ``(L, n_in)`` float64 matrices:
    one pseudo-inverse for ``ssvd``/``csvd``; for ``osvd`` the projection
    ``diag(1/s) U^T`` followed by ``V`` split into bands between candidate thresholds.
    """

    method: str
    dt: float
    n_samples: int
    thresholds: tuple[float, ...]
    operators: tuple[NDArray[np.float64], ...]
    bands: tuple[int, ...] = ()
    oi_target: float = 0.095
    #: ``operators[0]`` before the input matrix was folded in: ``(L, N)`` on the grid
    grid_operators: tuple[NDArray[np.float64], ...] = ()

    @classmethod
    def build(
        cls,
        aif: NDArray[np.float64],
        dt: float,
        method: str = "csvd",
        *,
        threshold: Optional[float] = None,
        candidates: Sequence[float] = OSVD_CANDIDATES,
        oi_target: float = 0.095,
        input_matrix: Optional[NDArray[np.float64]] = None,
    ) -> "Deconvolver":
        """Factor the AIF matrix once.

        Parameters
        ----------
        aif
            Arterial concentration on the uniform grid (``N`` samples, step ``dt`` s).
        method
            ``ssvd``, ``csvd`` or ``osvd``.
        threshold
            Truncation as a fraction of the largest singular value (``ssvd``/``csvd``);
            defaults 0.2 and 0.1.
        candidates, oi_target
            oSVD candidate thresholds and oscillation-index target.
        input_matrix
            Optional ``(N, n_in)`` matrix applied to the input first (resampling from
            uneven acquisition times onto the grid); folded into the operators.
        """
        if method not in METHODS:
            raise ValueError(f"unknown deconvolution method {method!r}; use one of {', '.join(METHODS)}")
        aif = np.asarray(aif, dtype=np.float64)
        if aif.ndim != 1 or aif.size < 3 or not np.all(np.isfinite(aif)) or aif.max() <= 0:
            raise ValueError("the AIF must be a finite 1D curve of at least 3 samples with a positive peak")
        n = aif.size
        pre = np.eye(n) if input_matrix is None else np.asarray(input_matrix, dtype=np.float64)
        if pre.shape[0] != n:
            raise ValueError(f"input matrix has {pre.shape[0]} rows, the AIF {n} samples")
        a = convolution_matrix(aif, dt, method)
        u, s, vt = np.linalg.svd(a)
        u_in = u[:n, :]  # zero-padded input: only the first N rows of U^T see data
        if method != "osvd":
            thr = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
            _check_fraction(thr, "threshold")
            s_inv = np.where(s >= thr * s[0], 1.0 / s, 0.0)
            pinv = (vt.T * s_inv) @ u_in.T
            return cls(method, float(dt), n, (thr,), (pinv @ pre,), oi_target=oi_target, grid_operators=(pinv,))
        cands = tuple(sorted({float(c) for c in candidates}, reverse=True))
        if not cands:
            raise ValueError("oSVD needs at least one candidate threshold")
        for c in cands:
            _check_fraction(c, "candidate threshold")
        counts = tuple(max(1, int(np.count_nonzero(s >= c * s[0]))) for c in cands)
        projection = (u_in / s).T  # (L, N): diag(1/s) U^T
        return cls(method, float(dt), n, cands, (projection @ pre, vt.T.copy()), counts, float(oi_target),
                   grid_operators=(projection,))

    @property
    def length(self) -> int:
        """Residue length: ``N`` for sSVD, ``2N`` for the circulant methods."""
        return self.operators[-1].shape[0]

    def residues(self, conc: Any, xp: Any = np) -> Any:
        """Residues ``(L, voxels)`` (sSVD/cSVD only; oSVD chooses per voxel, use :meth:`apply`)."""
        if self.method == "osvd":
            raise ValueError("oSVD residues depend on the per-voxel threshold; use apply()")
        return xp.asarray(self.operators[0], dtype=conc.dtype) @ conc

    def apply(self, conc: Any, xp: Any = np) -> ResidueStats:
        """Deconvolve a ``(n_in, voxels)`` block; returns peak, Tmax and threshold per voxel."""
        circular = self.method != "ssvd"
        if self.method != "osvd":
            res = self.residues(conc, xp)
            kmax, tmax = residue_peak(res, self.dt, self.n_samples, circular, xp)
            return ResidueStats(kmax, tmax, xp.full(kmax.shape, self.thresholds[0], dtype=conc.dtype))
        projection = xp.asarray(self.operators[0], dtype=conc.dtype)
        basis = xp.asarray(self.operators[1], dtype=conc.dtype)
        curvature = basis[2:] - 2.0 * basis[1:-1] + basis[:-2]  # second differences of V's columns
        z = projection @ conc  # (L, voxels): singular-basis coefficients
        residue = xp.zeros((self.length, conc.shape[1]), dtype=conc.dtype)
        second = xp.zeros((self.length - 2, conc.shape[1]), dtype=conc.dtype)
        kept = thr = None  # per voxel: components kept and the threshold they stand for
        done = 0
        for cand, count in zip(self.thresholds, self.bands):
            if count > done:  # add the components between the previous and this threshold
                residue += basis[:, done:count] @ z[done:count]
                second += curvature[:, done:count] @ z[done:count]
                done = count
            if kept is None:  # largest threshold: the fallback when no OI meets the target
                kept = xp.full(conc.shape[1], count, dtype=xp.int32)
                thr = xp.full(conc.shape[1], cand, dtype=conc.dtype)
                continue
            peak = residue.max(axis=0)
            oi = xp.abs(second).sum(axis=0) / (self.length * xp.where(peak > 0, peak, 1.0))
            ok = (peak > 0) & (oi < self.oi_target)
            kept = xp.where(ok, count, kept)
            thr = xp.where(ok, cand, thr)
        assert kept is not None  # the thresholds are never empty
        # the chosen residues, rebuilt once from each voxel's leading components
        leading = xp.arange(done, dtype=xp.int32)[:, None] < kept[None]
        chosen = basis[:, :done] @ xp.where(leading, z[:done], 0.0)
        kmax, tmax = residue_peak(chosen, self.dt, self.n_samples, True, xp)
        return ResidueStats(kmax, tmax, thr)


def _check_fraction(value: float, name: str) -> None:
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name} must be a fraction of the largest singular value in (0, 1), got {value}")
