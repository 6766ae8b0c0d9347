"""Parameters of the perfusion analysis (defaults follow the literature cited in :mod:`.logic`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from workstation.core.params import Params, param
from workstation.analyses.perfusion.deconvolution import DEFAULT_THRESHOLDS, OSVD_CANDIDATES

Voxels = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class PerfusionParams(Params):
    """Parameters of the perfusion analysis.

    Attributes
    ----------
    method
        ``ssvd``, ``csvd`` or ``osvd`` (:mod:`.deconvolution`).
    threshold
        sSVD/cSVD truncation (fraction of the largest singular value); ``None``: 0.2
        for sSVD, 0.1 for cSVD.
    oi_target, osvd_candidates
        oSVD oscillation-index target and candidate thresholds.
    dt_s
        Uniform grid step (s); ``None``: the smallest acquisition step.
    smoothing_mm
        In-plane Gaussian sigma (mm) applied to every frame (default 2 mm); 0 = off.
    baseline_frames
        Pre-bolus frames; ``None``: detected from the AIF.
    aif_voxels, vof_voxels
        User-chosen (z, y, x) voxels for the AIF / VOF; empty: automatic.
    use_vof
        Scale the AIF to the VOF area when the VOF area is the larger.
    te_ms
        MR echo time (ms) when the header lacks it.
    vessel_fraction, max_cbv
        Voxels peaking above ``vessel_fraction`` x AIF peak, or with CBV above
        ``max_cbv`` ml/100 g, are vessels and leave the tissue mask.
    tmax_threshold_s, rcbf_threshold
        Summary thresholds (Tmax > 6 s; relative CBF < 30 %).
    precision
        ``float64`` (default, any device) or ``float32``.
    pool_size
        AIF/VOF candidate voxels kept by the first pass.
    """

    method: str = param("osvd", choices=("osvd", "csvd", "ssvd"), label="Method")
    threshold: Optional[float] = param(None, lo=0.01, hi=0.9, step=0.005, label="SVD threshold", none_text="auto")
    oi_target: float = param(0.095, lo=0.001, hi=1.0, panel=False)
    osvd_candidates: tuple[float, ...] = param(OSVD_CANDIDATES, lo=0.001, hi=0.99, panel=False)
    dt_s: Optional[float] = param(None, unit="s", lo=0.05, hi=10.0, panel=False)
    smoothing_mm: float = param(2.0, unit="mm", lo=0.0, hi=10.0, step=0.5, label="Smoothing")
    baseline_frames: Optional[int] = param(None, lo=1, hi=1000, panel=False)
    aif_voxels: Voxels = param((), panel=False)
    vof_voxels: Voxels = param((), panel=False)
    use_vof: bool = param(True, panel=False)
    te_ms: Optional[float] = param(None, unit="ms", lo=1.0, hi=500.0, panel=False)
    vessel_fraction: float = param(0.3, lo=0.01, hi=1.0, panel=False)
    max_cbv: float = param(12.0, unit="ml/100g", lo=0.1, hi=100.0, panel=False)
    tmax_threshold_s: float = param(6.0, unit="s", lo=0.0, hi=60.0, panel=False)
    rcbf_threshold: float = param(0.3, lo=0.01, hi=1.0, panel=False)
    precision: str = param("float64", choices=("float64", "float32"), panel=False)
    pool_size: int = param(400, lo=10, hi=100000, panel=False)

    @property
    def effective_threshold(self) -> float:
        return DEFAULT_THRESHOLDS[self.method] if self.threshold is None else float(self.threshold)
