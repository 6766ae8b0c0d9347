"""Slice limits, summation of discs and the volume-time curve (host arrays, one value per slice and phase).

Summation of discs: a ventricle's volume is the sum over the slices between its basal
and apical limit of (area x slice spacing), the spacing being the distance between
slice centres, i.e. slice thickness plus gap.  Where the stack misses a slice (a step
larger than 1.5 x the median), the gap between the two neighbours is filled with the
mean of their areas, so a missing slice costs accuracy, not a slice's worth of volume.

Automatic LV limits, per phase: the run of slices holding LV blood pool that contains
the largest section; at its basal end, slices are dropped until the blood pool is
surrounded by myocardium over ``basal_coverage`` of its circumference (a section
through the mitral annulus is mostly atrium); the apical limit is the last slice with
blood pool.  The base is the end of the run whose half holds the larger areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

GAP_FACTOR = 1.5
MIN_AREA_MM2 = 20.0


@dataclass(frozen=True)
class Limits:
    """Included slices of one phase, ``basal`` and ``apical`` inclusive (``None``: the ventricle was not found)."""

    basal: Optional[int]
    apical: Optional[int]

    def slices(self) -> range:
        if self.basal is None or self.apical is None:
            return range(0)
        lo, hi = sorted((self.basal, self.apical))
        return range(lo, hi + 1)


def base_at_high_index(areas: np.ndarray) -> bool:
    """Whether the base lies at the high slice numbers: the half of the LV's run with the larger areas."""
    present = np.flatnonzero(areas > 0)
    if present.size < 2:
        return True
    run = areas[present[0]:present[-1] + 1]
    half = run.size // 2
    return float(run[run.size - half:].sum()) >= float(run[:half].sum())


def _main_run(present: np.ndarray, areas: np.ndarray) -> Optional[tuple[int, int]]:
    """First and last slice of the run of present slices that holds the largest area."""
    if not present.any():
        return None
    peak = int(np.argmax(np.where(present, areas, -1.0)))
    lo = hi = peak
    while lo > 0 and present[lo - 1]:
        lo -= 1
    while hi < present.size - 1 and present[hi + 1]:
        hi += 1
    return lo, hi


def auto_limits(areas_mm2: np.ndarray, coverage: np.ndarray, base_high: bool, min_coverage: float,
                min_area_mm2: float = MIN_AREA_MM2) -> list[Limits]:
    """LV limits of every phase from its blood-pool areas ``(phases, slices)`` and myocardial coverage."""
    out = []
    for area, cover in zip(areas_mm2, coverage):
        run = _main_run(area >= min_area_mm2, area)
        if run is None:
            out.append(Limits(None, None))
            continue
        lo, hi = run
        basal, apical = (hi, lo) if base_high else (lo, hi)
        step = -1 if base_high else 1
        while basal != apical and cover[basal] < min_coverage:
            basal += step
        out.append(Limits(basal, apical))
    return out


def present_limits(areas_mm2: np.ndarray, base_high: bool, min_area_mm2: float = MIN_AREA_MM2) -> list[Limits]:
    """Limits of a ventricle that is measured wherever it is found (the RV): its main run per phase."""
    out = []
    for area in areas_mm2:
        run = _main_run(area >= min_area_mm2, area)
        if run is None:
            out.append(Limits(None, None))
        else:
            out.append(Limits(run[1], run[0]) if base_high else Limits(run[0], run[1]))
    return out


def disc_volume_ml(areas_mm2: np.ndarray, positions_mm: ArrayLike, limits: Limits) -> float:
    """Summation of discs over ``limits`` (one phase): areas (mm^2) x slice spacing, gaps filled."""
    index = list(limits.slices())
    if not index:
        return 0.0
    pos = np.asarray(positions_mm, dtype=float)
    step = spacing_mm(pos)
    total = float(np.sum(areas_mm2[index])) * step
    for a, b in zip(index[:-1], index[1:]):
        extra = abs(pos[b] - pos[a]) - step
        if extra > (GAP_FACTOR - 1.0) * step:
            total += extra * 0.5 * float(areas_mm2[a] + areas_mm2[b])
    return total / 1000.0


def spacing_mm(positions_mm: ArrayLike) -> float:
    """Median distance between neighbouring slice centres."""
    pos = np.asarray(positions_mm, dtype=float)
    return float(np.median(np.abs(np.diff(pos)))) if pos.size > 1 else 1.0


def gaps(positions_mm: ArrayLike) -> list[tuple[int, float]]:
    """``(slice before the gap, gap in mm)`` wherever a step exceeds 1.5 x the median."""
    pos = np.asarray(positions_mm, dtype=float)
    step = spacing_mm(pos)
    steps = np.abs(np.diff(pos))
    return [(int(i), float(steps[i])) for i in np.flatnonzero(steps > GAP_FACTOR * step)]


def ed_es(curve_ml: np.ndarray, ed: Optional[int], es: Optional[int]) -> tuple[int, int]:
    """End-diastole (largest volume) and end-systole (smallest), unless given."""
    n = len(curve_ml)
    for name, value in (("ED", ed), ("ES", es)):
        if value is not None and not 0 <= value < n:
            raise ValueError(f"{name} phase {value} is outside the cine's {n} phases (0 to {n - 1})")
    return (int(np.argmax(curve_ml)) if ed is None else ed, int(np.argmin(curve_ml)) if es is None else es)


def check_slice(name: str, value: Optional[int], n_slices: int) -> None:
    if value is not None and not 0 <= value < n_slices:
        raise ValueError(f"{name} {value} is outside the stack's {n_slices} slices (0 to {n_slices - 1})")
