"""Dose-volume histograms and their metrics, one body for NumPy and CuPy.

A structure is a :class:`~workstation.analyses.rt_dose.rasterise.Coverage` (voxels and
the fraction of each it covers); each voxel counts with its fraction of the voxel
volume at the dose of its centre.  Conventions:

* the cumulative DVH ``V(D)`` is the volume receiving *at least* ``D``, given at the
  bin edges ``0, w, 2w, ...`` (bin width ``w``); it is exact at the edges (a voxel
  counts for edge ``k`` when ``floor(dose / w) >= k``);
* the differential DVH is the volume per bin, ``V(edge k) - V(edge k+1)``;
* ``D_x`` is the lowest dose of the hottest ``x`` % of the volume (from the voxel doses
  sorted high to low, no binning), ``V_x`` the volume receiving at least ``x`` Gy;
* homogeneity index (ICRU 83) ``HI = (D2 - D98) / D50``; conformity index (Paddick)
  ``CI = TV_PIV^2 / (TV * PIV)``, with ``PIV`` the volume (in the external contour
  when there is one) receiving the prescription.

Sums run in float64 on both backends, so CPU and GPU agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.kernels import bincount
from workstation.analyses.rt_dose.rasterise import Coverage
from workstation.compute.arrays import to_host

DOSE_LEVELS = (98.0, 95.0, 50.0, 2.0)  # the D_x of every structure, % of its volume


@dataclass(frozen=True, eq=False)
class Dvh:
    """Cumulative DVH of one structure on a shared dose axis (Gy), volumes in cm^3."""

    dose_gy: NDArray[np.float64]  # bin edges from 0
    cumulative_cc: NDArray[np.float64]  # volume receiving at least each edge

    @property
    def volume_cc(self) -> float:
        return float(self.cumulative_cc[0]) if self.cumulative_cc.size else 0.0

    def differential_cc(self) -> NDArray[np.float64]:
        """Volume per bin ``[edge k, edge k+1)`` (the last bin is open above)."""
        return np.append(-np.diff(self.cumulative_cc), self.cumulative_cc[-1:])

    def cumulative_pct(self) -> NDArray[np.float64]:
        total = self.volume_cc
        return self.cumulative_cc / total * 100.0 if total > 0 else np.zeros_like(self.cumulative_cc)

    def volume_at(self, dose_gy: float) -> float:
        """``V(D)`` interpolated between edges, cm^3."""
        return float(np.interp(dose_gy, self.dose_gy, self.cumulative_cc))


@dataclass(frozen=True)
class DvhMetrics:
    """Dose statistics of one structure (Gy; volumes in cm^3)."""

    volume_cc: float
    min_gy: float
    mean_gy: float
    max_gy: float
    d_gy: Mapping[float, float]  # D_x by x (% of the volume)
    v_cc: Mapping[float, float] = field(default_factory=dict)  # V_x by x (Gy)

    def d(self, pct: float) -> float:
        return float(self.d_gy[pct])

    @property
    def homogeneity_index(self) -> float:
        """ICRU 83: ``(D2 - D98) / D50``."""
        d50 = self.d(50.0)
        return (self.d(2.0) - self.d(98.0)) / d50 if d50 > 0 else float("nan")

    def v_pct(self, gy: float) -> float:
        return self.v_cc[gy] / self.volume_cc * 100.0 if self.volume_cc > 0 else float("nan")


def structure_doses(xp: ModuleType, dose_flat: Any, cov: Coverage) -> tuple[Any, Any]:
    """(dose of each covered voxel, its covered fraction) on the backend."""
    return dose_flat[cov.index].astype(xp.float64), cov.fraction.astype(xp.float64)


def cumulative(xp: ModuleType, doses: Any, weights: Any, voxel_cc: float, n_bins: int, bin_gy: float) -> Dvh:
    """The cumulative DVH of ``doses`` weighted by ``weights`` (voxel fractions) on ``n_bins`` edges."""
    index = xp.clip(xp.floor(doses / bin_gy), 0, n_bins - 1).astype(xp.int64)
    per_bin = bincount(xp, index, n_bins, weights)
    received = xp.cumsum(per_bin[::-1])[::-1] * voxel_cc
    edges = np.arange(n_bins, dtype=np.float64) * bin_gy
    return Dvh(edges, to_host(received).astype(np.float64))


def metrics(xp: ModuleType, doses: Any, weights: Any, voxel_cc: float,
            v_levels_gy: Sequence[float] = ()) -> DvhMetrics:
    """Min, mean, max, ``D_x`` for :data:`DOSE_LEVELS` and ``V_x`` for ``v_levels_gy``."""
    if int(doses.shape[0]) == 0:
        nan = float("nan")
        return DvhMetrics(0.0, nan, nan, nan, {p: nan for p in DOSE_LEVELS}, {g: 0.0 for g in v_levels_gy})
    order = xp.argsort(-doses, kind="stable")
    sorted_d = doses[order]
    filled = xp.cumsum(weights[order])
    total = filled[-1]
    wanted = xp.asarray([p / 100.0 for p in DOSE_LEVELS], dtype=xp.float64) * total
    at = xp.clip(xp.searchsorted(filled, wanted * (1.0 - 1e-12)), 0, int(doses.shape[0]) - 1)
    head = xp.stack([total, xp.sum(weights * doses) / total, sorted_d[-1], sorted_d[0]])
    v = xp.stack([xp.sum(weights * (doses >= g)) for g in v_levels_gy]) if v_levels_gy else xp.zeros(0)
    stats = xp.concatenate([head, sorted_d[at], v])
    host = to_host(stats).astype(np.float64)  # one transfer for every number
    n = len(DOSE_LEVELS)
    return DvhMetrics(
        volume_cc=float(host[0]) * voxel_cc, mean_gy=float(host[1]), min_gy=float(host[2]), max_gy=float(host[3]),
        d_gy={p: float(host[4 + i]) for i, p in enumerate(DOSE_LEVELS)},
        v_cc={g: float(host[4 + n + i]) * voxel_cc for i, g in enumerate(v_levels_gy)},
    )


def paddick_ci(xp: ModuleType, dose_flat: Any, target: Coverage, prescription_gy: float, voxel_cc: float,
               external: Optional[Coverage] = None) -> float:
    """Paddick's conformity index ``TV_PIV^2 / (TV * PIV)`` of a target at ``prescription_gy``."""
    d, w = structure_doses(xp, dose_flat, target)
    tv = float(to_host(w.sum()))
    tv_piv = float(to_host(xp.sum(w * (d >= prescription_gy))))
    if external is not None and external.voxels:
        de, we = structure_doses(xp, dose_flat, external)
        piv = float(to_host(xp.sum(we * (de >= prescription_gy))))
    else:
        piv = float(to_host(xp.count_nonzero(dose_flat >= prescription_gy)))
    return tv_piv * tv_piv / (tv * piv) if tv > 0 and piv > 0 else float("nan")


def curve_difference_pct(ours: Dvh, theirs_dose: NDArray[np.float64], theirs_pct: NDArray[np.float64]) -> float:
    """Largest difference (percentage points of volume) between two cumulative curves at matched doses."""
    top = min(float(ours.dose_gy[-1]), float(theirs_dose[-1]))
    grid = ours.dose_gy[ours.dose_gy <= top]
    if grid.size == 0:
        return float("nan")
    theirs = np.interp(grid, theirs_dose, theirs_pct)
    mine = np.interp(grid, ours.dose_gy, ours.cumulative_pct())
    return float(np.max(np.abs(mine - theirs)))


def dose_at_volume(dose_gy: NDArray[np.float64], volume_pct: NDArray[np.float64], pct: float) -> float:
    """``D_x`` read off a cumulative curve: the highest dose still reaching ``pct`` % of the volume."""
    reached = np.flatnonzero(volume_pct >= pct)
    if reached.size == 0:
        return float("nan")
    i = int(reached[-1])
    if i + 1 >= len(dose_gy) or volume_pct[i + 1] == volume_pct[i]:
        return float(dose_gy[i])
    t = (volume_pct[i] - pct) / (volume_pct[i] - volume_pct[i + 1])
    return float(dose_gy[i] + t * (dose_gy[i + 1] - dose_gy[i]))
