"""Stroke summary volumes as perfusion software (RAPID-like) reports them.

* hypoperfusion: tissue voxels with ``Tmax > 6 s``;
* core: tissue voxels with relative CBF below 30 %, relative to the median CBF of the
  tissue in the other hemisphere (the normal side);
* mismatch volume = hypoperfusion - core, mismatch ratio = hypoperfusion / core.

The hemispheres are split at the centre column of the image (the midline of a
head positioned straight in the scanner); the affected side is the one holding the
larger Tmax > 6 s volume, and its opposite gives the normal CBF reference.  When no
hypoperfusion is found the reference is the median over all tissue.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class StrokeSummary:
    """Summary volumes in ml and the reference used for relative CBF."""

    tmax_threshold_s: float
    rcbf_threshold: float
    hypoperfused_ml: float
    core_ml: float
    mismatch_ml: float
    mismatch_ratio: Optional[float]
    reference_cbf: float
    affected_side: str
    tissue_ml: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stroke_summary(
    cbf: NDArray[np.floating],
    tmax: NDArray[np.floating],
    tissue: NDArray[np.bool_],
    voxel_ml: float,
    *,
    tmax_threshold_s: float = 6.0,
    rcbf_threshold: float = 0.3,
    xp: Any = np,
) -> StrokeSummary:
    """Hypoperfusion, core and mismatch of ``(z, y, x)`` maps (see module doc).

    ``voxel_ml`` is the volume of one voxel in ml (mm^3 / 1000).  Voxels outside
    ``tissue`` or with non-finite values are ignored.  ``xp``: the arrays' module
    (NumPy or CuPy); only scalars leave the device.
    """
    valid = tissue & xp.isfinite(cbf) & xp.isfinite(tmax)
    hypo = valid & (tmax > tmax_threshold_s)
    nx = cbf.shape[2]
    half = xp.zeros(cbf.shape, dtype=bool)
    half[:, :, : nx // 2] = True  # low column index: image left
    left_hypo = int(xp.count_nonzero(hypo & half))
    right_hypo = int(xp.count_nonzero(hypo & ~half))
    if left_hypo == 0 and right_hypo == 0:
        side, normal = "none", valid
    elif left_hypo >= right_hypo:
        side, normal = "image left", valid & ~half
    else:
        side, normal = "image right", valid & half
    if not bool(xp.any(normal)):
        normal = valid
    reference = float(xp.median(cbf[normal])) if bool(xp.any(normal)) else float("nan")
    core = valid & (cbf < rcbf_threshold * reference) if math.isfinite(reference) else xp.zeros_like(valid)
    hypo_ml = float(xp.count_nonzero(hypo)) * voxel_ml
    core_ml = float(xp.count_nonzero(core)) * voxel_ml
    return StrokeSummary(
        tmax_threshold_s=float(tmax_threshold_s),
        rcbf_threshold=float(rcbf_threshold),
        hypoperfused_ml=hypo_ml,
        core_ml=core_ml,
        mismatch_ml=max(hypo_ml - core_ml, 0.0),
        mismatch_ratio=(hypo_ml / core_ml) if core_ml > 0 else None,
        reference_cbf=reference,
        affected_side=side,
        tissue_ml=float(xp.count_nonzero(valid)) * voxel_ml,
    )
