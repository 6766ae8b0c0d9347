"""Arterial input (AIF) and venous output (VOF) functions: automatic choice and ROI.

Automatic AIF (after Mouridsen et al., MRM 55, 2006, simplified):

1. candidates are the voxels with the highest peak concentration (a pool kept while
   the series is scanned, see :class:`CandidatePool`);
2. arteries fill first: candidates whose time to peak is within the earliest quarter
   of the pool are kept;
3. a high, narrow bolus scores best: ``score = peak / width`` with
   ``width = area / peak`` (s);
4. the best ``n_best`` are split in two clusters of curve shape (k-means, k = 2) and
   the cluster with the higher mean score is averaged into the AIF.

VOF: the candidates peaking at least two samples after the AIF with a peak above a
fifth of the AIF's, largest area first (the sagittal sinus), averaged over the best
40 (a wide average, so the noise favoured by the ranking cancels).  Partial volume shrinks an AIF but
the area of a large vein survives, so the AIF can be scaled to the VOF area
(:func:`vof_scale`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.concentration import trapezoid_weights


@dataclass(frozen=True, eq=False)
class VascularCurve:
    """A chosen AIF or VOF: mean concentration curve and the voxels averaged.

    ``curve`` is on the acquisition times; ``voxels`` are ``(k, 3)`` z-y-x indices and
    ``location`` the most representative voxel.
    """

    curve: NDArray[np.float64]
    voxels: NDArray[np.intp]
    location: tuple[int, int, int]
    source: str = "auto"
    scale: float = 1.0

    @property
    def peak(self) -> float:
        return float(np.max(self.curve))


@dataclass
class CandidatePool:
    """The ``size`` voxels with the highest peak enhancement seen so far (host arrays).

    ``signals`` are the raw signal curves ``(k, time)``, so concentrations can be
    recomputed once the baseline is final.
    """

    size: int = 400
    keys: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    voxels: NDArray[np.intp] = field(default_factory=lambda: np.empty((0, 3), dtype=np.intp))
    signals: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 0)))

    def offer(self, keys: NDArray[Any], voxels: NDArray[np.intp], signals: NDArray[Any]) -> None:
        """Merge a block's best voxels (``keys`` ranks them, higher is better)."""
        if keys.size == 0:
            return
        if self.signals.size == 0:
            self.signals = np.empty((0, signals.shape[1]))
        keys_all = np.concatenate([self.keys, np.asarray(keys, dtype=np.float64)])
        vox_all = np.concatenate([self.voxels, np.asarray(voxels, dtype=np.intp)])
        sig_all = np.concatenate([self.signals, np.asarray(signals, dtype=np.float64)])
        keep = np.argsort(-keys_all, kind="stable")[: self.size]
        self.keys, self.voxels, self.signals = keys_all[keep], vox_all[keep], sig_all[keep]


def curve_features(curves: NDArray[np.float64], times: NDArray[np.float64]) -> tuple[NDArray[Any], ...]:
    """Peak, time to peak (s) and width = area / peak (s) of curves ``(k, time)``."""
    peak = curves.max(axis=1)
    ttp = times[np.argmax(curves, axis=1)]
    area = curves @ trapezoid_weights(times)
    width = np.where(peak > 0, area / np.where(peak > 0, peak, 1.0), np.inf)
    return peak, ttp, width


def _two_means(curves: NDArray[np.float64], iterations: int = 20) -> NDArray[np.intp]:
    """Labels 0/1 of a 2-cluster k-means on curve shapes (seeded by the extremes)."""
    if curves.shape[0] < 2:
        return np.zeros(curves.shape[0], dtype=np.intp)
    centres = curves[[0, -1]].copy()
    labels = np.zeros(curves.shape[0], dtype=np.intp)
    for _ in range(iterations):
        dist = ((curves[:, None, :] - centres[None]) ** 2).sum(axis=2)
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for k in (0, 1):
            if np.any(labels == k):
                centres[k] = curves[labels == k].mean(axis=0)
    return labels


def _similar_clusters(curves: NDArray[np.float64], labels: NDArray[np.intp], tolerance: float = 0.15) -> bool:
    """True when the two cluster means differ by less than ``tolerance`` of their norm."""
    if labels.min() == labels.max():
        return True
    c0, c1 = curves[labels == 0].mean(axis=0), curves[labels == 1].mean(axis=0)
    scale = max(float(np.linalg.norm(c0 + c1) / 2), 1e-12)
    return float(np.linalg.norm(c0 - c1)) < tolerance * scale


def select_aif(
    conc: NDArray[np.float64], voxels: NDArray[np.intp], times: NDArray[np.float64], *, n_best: int = 20
) -> VascularCurve:
    """Automatic AIF from candidate concentration curves ``(k, time)`` (see module doc)."""
    if conc.shape[0] == 0:
        raise ValueError("no AIF candidates: the series shows no contrast enhancement")
    peak, ttp, width = curve_features(conc, times)
    valid = peak > 0
    if not np.any(valid):
        raise ValueError("no AIF candidate enhances: the series shows no bolus")
    early = valid & (ttp <= np.quantile(ttp[valid], 0.25))
    score = np.where(early, peak / np.maximum(width, 1e-6), -np.inf)
    order = np.argsort(-score, kind="stable")[: max(1, min(n_best, int(early.sum())))]
    labels = _two_means(conc[order])
    if _similar_clusters(conc[order], labels):
        chosen = order  # one population split by noise only: average all
    else:
        means = [score[order][labels == k].mean() if np.any(labels == k) else -np.inf for k in (0, 1)]
        chosen = order[labels == int(np.argmax(means))]
    best = chosen[np.argmax(score[chosen])]
    return VascularCurve(
        curve=conc[chosen].mean(axis=0),
        voxels=voxels[chosen],
        location=tuple(int(v) for v in voxels[best]),  # type: ignore[arg-type]
        source="auto",
    )


def select_vof(
    conc: NDArray[np.float64], voxels: NDArray[np.intp], times: NDArray[np.float64], aif: VascularCurve,
    *, n_best: int = 40,
) -> Optional[VascularCurve]:
    """Automatic VOF: late-peaking candidates of largest area; ``None`` when none qualifies."""
    if conc.shape[0] == 0:
        return None
    peak, ttp, _width = curve_features(conc, times)
    aif_ttp = times[int(np.argmax(aif.curve))]
    step = float(np.median(np.diff(times)))
    area = conc @ trapezoid_weights(times)
    late = (peak > 0.2 * aif.peak) & (ttp >= aif_ttp + 2 * step)
    if not np.any(late):
        return None
    # rank by area, but average a wide set so noise picked by the ranking averages out
    order = np.argsort(-np.where(late, area, -np.inf), kind="stable")[: min(n_best, int(late.sum()))]
    return VascularCurve(
        curve=conc[order].mean(axis=0),
        voxels=voxels[order],
        location=tuple(int(v) for v in voxels[order[0]]),  # type: ignore[arg-type]
        source="auto",
    )


def roi_curve(conc: NDArray[np.float64], voxels: NDArray[np.intp], source: str = "roi") -> VascularCurve:
    """A user-drawn AIF/VOF: the mean of the ROI's concentration curves ``(k, time)``."""
    if conc.shape[0] == 0:
        raise ValueError("the ROI for the AIF holds no voxel")
    centre = voxels[np.argmax(conc.max(axis=1))]
    return VascularCurve(conc.mean(axis=0), voxels, tuple(int(v) for v in centre), source)  # type: ignore[arg-type]


def vof_scale(aif: VascularCurve, vof: VascularCurve, times: NDArray[np.float64]) -> float:
    """Partial-volume factor ``area(VOF) / area(AIF)`` (trapezoid over the acquisition)."""
    w = trapezoid_weights(times)
    a_area = float(aif.curve @ w)
    v_area = float(vof.curve @ w)
    if a_area <= 0:
        raise ValueError("the AIF has no positive area")
    return v_area / a_area
