"""DVHs of every structure of a structure set in a dose grid: the pure computation (no Qt).

Per structure: rasterise the contours onto the dose grid (:mod:`.rasterise`), then the
cumulative DVH and its metrics (:mod:`.dvh`) on the backend; targets also get the
homogeneity and Paddick conformity indices at the prescription.  Where the RT Dose
carries the planning system's DVHs, ours are compared with theirs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.inputs import provenance
from workstation.analyses.rt_dose.dvh import (
    Dvh, DvhMetrics, cumulative, curve_difference_pct, dose_at_volume, metrics, paddick_ci,
    structure_doses,
)
from workstation.analyses.rt_dose.params import RtDoseParams
from workstation.analyses.rt_dose.prepare import RtDoseInputs
from workstation.analyses.rt_dose.rasterise import Coverage, Planes, contour_volume_cc, coverage, planes_of
from workstation.analyses.rt_dose.result import TARGET_TYPES, EmbeddedComparison, RtDoseResult, StructureDvh
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report
from workstation.core.rt import DoseVolumeHistogram, StructureRoi, StructureSet
from workstation.core.volume import Volume

DEFAULT_COLOUR = (200, 200, 200)


def prescription(inputs: RtDoseInputs, params: RtDoseParams) -> Optional[float]:
    """The prescription (Gy): the parameter, else the plan's target dose."""
    if params.prescription_gy is not None:
        return float(params.prescription_gy)
    if inputs.plan is not None and inputs.plan.prescription_dose_gy is not None:
        return float(inputs.plan.prescription_dose_gy)
    return None


def chosen_rois(structure_set: StructureSet, names: Sequence[str]) -> list[StructureRoi]:
    """ROIs with closed contours, limited to ``names`` (case-insensitive) when given."""
    wanted = {n.lower() for n in names}
    return [r for r in structure_set.rois if r.contours and any(c.closed for c in r.contours)
            and (not wanted or r.name.lower() in wanted)]


def curve_statistics(dose: NDArray[np.float64], volume: NDArray[np.float64]) -> tuple[float, float, float]:
    """(min, mean, max) dose read off a cumulative curve (volume receiving at least each dose)."""
    total = float(volume[0]) if volume.size else 0.0
    if total <= 0 or dose.size < 2:
        return (float("nan"),) * 3
    shares = -np.diff(volume)
    mids = (dose[:-1] + dose[1:]) / 2.0
    mean = float(np.sum(shares * mids) + volume[-1] * dose[-1]) / total
    below = np.flatnonzero(volume < total * (1.0 - 1e-9))
    reached = np.flatnonzero(volume > 0)
    low = float(dose[max(int(below[0]) - 1, 0)]) if below.size else float(dose[-1])
    high = float(dose[min(int(reached[-1]) + 1, len(dose) - 1)]) if reached.size else 0.0
    return low, mean, high


def embedded_comparison(ours: Dvh, theirs: DoseVolumeHistogram, total_cc: float) -> Optional[EmbeddedComparison]:
    """Our cumulative DVH against a planning system's, in its units (Gy and cm^3 or %).

    Minimum, mean and maximum are read off their curve: the DVH Minimum/Mean/Maximum
    Dose attributes are left aside, since planning systems write them in other units
    (one writes them in % of the normalisation dose).
    """
    if theirs.dose_units.upper() != "GY":
        return None
    dose, volume = theirs.cumulative()
    if volume.size == 0:
        return None
    their_total = float(volume[0])
    pct = volume / their_total * 100.0 if their_total > 0 else volume * 0.0
    if theirs.volume_units.upper() == "PERCENT":
        pct, their_total = volume.astype(np.float64), total_cc
    low, mean, high = curve_statistics(dose, volume)
    return EmbeddedComparison(
        volume_cc=their_total, mean_gy=mean, min_gy=low, max_gy=high,
        d95_gy=dose_at_volume(dose, pct, 95.0), max_curve_difference_pct=curve_difference_pct(ours, dose, pct))


def structure_coverages(xp: Any, rois: Sequence[StructureRoi], grid: Volume, params: RtDoseParams
                        ) -> tuple[dict[int, tuple[Planes, Coverage]], list[str]]:
    """Planes and coverage of each ROI on the grid, with the rasterisation warnings."""
    out: dict[int, tuple[Planes, Coverage]] = {}
    warnings: list[str] = []
    for roi in rois:
        planes = planes_of(roi, grid)
        warnings += planes.warnings
        if planes.empty:
            continue
        out[roi.number] = (planes, coverage(xp, planes, grid.shape, subsample=params.subsample,
                                             z_subsample=params.z_subsample))
    return out, warnings


def structure_result(xp: Any, roi: StructureRoi, planes: Planes, cov: Coverage, dose_flat: Any, grid: Volume,
                     params: RtDoseParams, n_bins: int, rx: Optional[float], external: Optional[Coverage]
                     ) -> tuple[StructureDvh, list[str]]:
    """DVH, metrics, indices of one structure (and a warning when it leaves the grid)."""
    voxel_cc = grid.voxel_volume_mm3 / 1000.0
    doses, weights = structure_doses(xp, dose_flat, cov)
    m: DvhMetrics = metrics(xp, doses, weights, voxel_cc, params.v_levels_gy)
    curve = cumulative(xp, doses, weights, voxel_cc, n_bins, params.bin_width_gy)
    drawn = contour_volume_cc(planes, grid)
    warnings = []
    if drawn > 0 and abs(m.volume_cc - drawn) > 0.05 * drawn:
        warnings.append(f"{roi.name}: its rasterised volume ({m.volume_cc:.1f} cm3) differs from its contours' "
                        f"({drawn:.1f} cm3) by more than 5 %: a small structure on a coarse dose grid, or contours "
                        "beyond the grid (left out of the DVH)")
    ci = None
    if roi.roi_type.upper() in TARGET_TYPES and rx is not None and cov.voxels:
        ci = paddick_ci(xp, dose_flat, cov, rx, voxel_cc, external)
    return StructureDvh(roi.number, roi.name, roi.roi_type, roi.colour or DEFAULT_COLOUR, m, curve, drawn, ci), warnings


def run(inputs: RtDoseInputs, params: RtDoseParams, backend: Backend,
        progress: Optional[ProgressFn] = None) -> RtDoseResult:
    """DVHs and metrics of the chosen structures in the dose grid.

    Parameters
    ----------
    inputs
        Structure set with contours, dose grid, plan (:func:`.prepare.prepare`).
    params
        Bin width, rasterisation sampling, prescription, ``V_x`` levels.
    backend
        Where the grid and the coverages live (NumPy or CuPy).
    progress
        ``progress(fraction, message)``; raise from it to cancel.
    """
    xp = backend.xp
    timings: dict[str, float] = {}
    warnings: list[str] = []
    units = inputs.dose.units or str(inputs.grid.meta.get("dose_units") or "")
    if units != "GY":
        warnings.append(f"dose units are {units or 'not given'}, not Gy: doses are reported in those units")
    t0 = time.perf_counter()
    grid = inputs.grid
    dose_flat = backend.asarray(np.asarray(grid.array, dtype=np.float32).reshape(-1))
    dose_max = float(to_host(dose_flat.max())) if dose_flat.shape[0] else 0.0
    n_bins = int(np.floor(dose_max / params.bin_width_gy)) + 2
    rois = chosen_rois(inputs.structure_set, params.structures)
    report(progress, 0.1, f"rasterising {len(rois)} structures")
    covered, notes = structure_coverages(xp, rois, grid, params)
    warnings += notes
    backend.synchronize()
    timings["rasterise"] = time.perf_counter() - t0
    rx = prescription(inputs, params)
    external = next((covered[r.number][1] for r in rois if r.roi_type.upper() == "EXTERNAL" and r.number in covered),
                    None)
    embedded = {d.referenced_roi_number: d for d in inputs.dose.dvhs}
    t0 = time.perf_counter()
    out = []
    for i, roi in enumerate(r for r in rois if r.number in covered):
        report(progress, 0.5 + 0.5 * i / max(len(covered), 1), f"DVH of {roi.name}")
        planes, cov = covered[roi.number]
        s, notes = structure_result(xp, roi, planes, cov, dose_flat, grid, params, n_bins, rx, external)
        warnings += notes
        theirs = embedded.get(roi.number)
        if theirs is not None:
            s = replace(s, embedded=embedded_comparison(s.dvh, theirs, s.metrics.volume_cc))
        out.append(s)
    timings["dvh"] = time.perf_counter() - t0
    if rx is None:
        targets = [s for s in out if s.is_target]
        if targets:
            warnings.append("no prescription in the plan or parameters: % of prescription uses the first "
                            f"target's D50 ({targets[0].metrics.d(50.0):.2f})")
            rx = targets[0].metrics.d(50.0)
    report(progress, 1.0, "done")
    return RtDoseResult(tuple(out), rx, units or "unknown", dose_max, backend.label,
                        provenance("rt-dose", params, backend.label, inputs), tuple(warnings), timings)


def _structure_bytes(planes: Planes, grid: Volume, params: RtDoseParams) -> tuple[int, int]:
    """(bytes kept for a structure's coverage, peak bytes while rasterising and histogramming it)."""
    from workstation.analyses.rt_dose.rasterise import MAX_SAMPLES

    pts = np.concatenate([p for polys in planes.polygons for p in polys])
    rows = float(np.ptp(pts[:, 0])) + 4.0
    cols = float(np.ptp(pts[:, 1])) + 4.0
    frames = float(planes.k[-1] - planes.k[0]) + planes.thickness + 2.0
    plane_px = rows * cols
    s2 = params.subsample ** 2
    chunk = min(len(planes.k), max(1, MAX_SAMPLES // max(int(plane_px * s2), 1)))
    sampling = chunk * plane_px * (3 * s2 + 10) + len(planes.k) * plane_px * 4
    voxels = contour_volume_cc(planes, grid) * 1000.0 / grid.voxel_volume_mm3 * 1.1 + 2 * (rows + cols) * frames
    depth = frames * plane_px * 13 + voxels * 36
    return int(voxels * 12), int(max(sampling, depth, voxels * 64))


def estimate_memory(inputs: RtDoseInputs, params: RtDoseParams, backend: Backend) -> int:
    """Peak bytes: every structure's coverage (kept for the run) plus the largest one's sampling or DVH step."""
    grid = inputs.grid
    kept, peak = 0, 0
    for roi in chosen_rois(inputs.structure_set, params.structures):
        planes = planes_of(roi, grid)
        if planes.empty:
            continue
        held, working = _structure_bytes(planes, grid, params)
        kept += held
        peak = max(peak, working)
    n_bins = int(np.floor(float(np.max(grid.array, initial=0.0)) / params.bin_width_gy)) + 2
    copy = 0 if backend.is_gpu is False and inputs.grid.array.dtype == np.float32 else grid.array.size * 4
    return int(1.1 * (kept + peak + n_bins * 8 * 4 + copy))


__all__ = ["estimate_memory", "run"]
