"""Perfusion maps from deconvolution results and tissue curves.

Constants (Ostergaard 1996; Rempp 1994):

``RHO = 1.04`` g/ml
    brain tissue density, converts per-ml to per-100 g.
``K_H = (1 - 0.45) / (1 - 0.25)``
    haematocrit in large vessels (0.45) vs capillaries (0.25): the AIF measures
    plasma-space tracer in a large artery.

With ``k = CBF * R`` in 1/s (tissue and AIF in the same concentration unit):

* ``CBF = max(k) * 60 * 100 / RHO * K_H``  (ml/100 g/min)
* ``CBV = area(C_tissue) / area(AIF) * 100 / RHO * K_H``  (ml/100 g)
* ``MTT = CBV / CBF * 60``  (s, central volume theorem)
* ``Tmax`` = time of ``max(k)`` (s, parabola-refined) and
  ``TTP`` = time of the tissue curve's peak after the first frame (s).
"""

from __future__ import annotations

from typing import Any

RHO = 1.04
K_H = (1.0 - 0.45) / (1.0 - 0.25)
CBF_SCALE = 60.0 * 100.0 / RHO * K_H
CBV_SCALE = 100.0 / RHO * K_H


def cbf_from_kmax(kmax: Any) -> Any:
    """CBF in ml/100 g/min from the residue peak ``max(CBF * R)`` in 1/s."""
    return kmax * CBF_SCALE


def kmax_from_cbf(cbf: Any) -> Any:
    """Inverse of :func:`cbf_from_kmax`: flow in 1/s for a CBF in ml/100 g/min."""
    return cbf / CBF_SCALE


def cbv_from_areas(tissue_area: Any, aif_area: float) -> Any:
    """CBV in ml/100 g from the tissue and AIF curve areas (same units)."""
    return tissue_area / aif_area * CBV_SCALE


def mtt_from(cbv: Any, cbf: Any, xp: Any) -> Any:
    """MTT in s; NaN where CBF is not positive."""
    safe = xp.where(cbf > 0, cbf, 1.0)
    return xp.where(cbf > 0, cbv / safe * 60.0, xp.nan)


def peak_time(curves: Any, grid_start: float, dt: float, xp: Any) -> Any:
    """Time (s) of the peak of curves ``(N, voxels)`` sampled every ``dt`` from
    ``grid_start`` (s after the first frame), parabola-refined."""
    n = curves.shape[0]
    idx = xp.argmax(curves, axis=0)
    cols = xp.arange(curves.shape[1])
    left = curves[xp.maximum(idx - 1, 0), cols]
    mid = curves[idx, cols]
    right = curves[xp.minimum(idx + 1, n - 1), cols]
    denom = left - 2.0 * mid + right
    safe = xp.where(denom < 0, denom, -1.0)
    offset = xp.where((denom < 0) & (idx > 0) & (idx < n - 1), 0.5 * (left - right) / safe, 0.0)
    return grid_start + (idx + xp.clip(offset, -0.5, 0.5)) * dt
