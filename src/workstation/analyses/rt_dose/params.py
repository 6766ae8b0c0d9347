"""Parameters of the DVH analysis of an RT dose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from workstation.core.params import Params, param


@dataclass(frozen=True)
class RtDoseParams(Params):
    """How DVHs are computed.

    Attributes
    ----------
    bin_width_gy
        Width of the DVH dose bins (the cumulative curve is exact at the bin edges).
    subsample
        In-plane samples per voxel edge when the contours are rasterised (``n x n`` per voxel).
    z_subsample
        Samples per voxel along the slice normal (each takes the nearest contour plane's slab).
    prescription_gy
        Prescription for % of prescription, conformity and isodose levels; ``None``: the
        plan's target prescription, else the maximum dose of the first target.
    v_levels_gy
        Doses whose ``V_x`` (volume receiving at least ``x`` Gy) every structure reports.
    structures
        Names of the structures to analyse (empty: all with closed contours).
    """

    bin_width_gy: float = param(0.01, unit="Gy", lo=0.001, hi=1.0, step=0.005, label="Bin width")
    subsample: int = param(4, lo=1, hi=8, label="In-plane samples per voxel")
    z_subsample: int = param(2, lo=1, hi=8, label="Samples per voxel along z")
    prescription_gy: Optional[float] = param(None, unit="Gy", lo=0.01, hi=200.0, step=0.5, label="Prescription",
                                             none_text="from plan")
    v_levels_gy: tuple[float, ...] = param((5.0, 10.0, 20.0, 30.0), unit="Gy", lo=0.0, hi=500.0, panel=False)
    structures: tuple[str, ...] = param((), panel=False)
