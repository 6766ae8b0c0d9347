"""From labels on every slice and phase to volumes, function, mass and segments (NumPy or CuPy).

The label stack is cropped to where anything is labelled, cleaned (:mod:`.kernel`),
counted per plane, and its LV blood pool probed along rays for the myocardial coverage
that sets the basal limit; the rest (limits, discs, curves) works on small host
tables (:mod:`.volumes`), then the AHA segments at ED and ES (:mod:`.regional`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np

from workstation.analyses.cardiac_function import kernel, volumes
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import CineInput
from workstation.analyses.cardiac_function.regional import Segment, segments
from workstation.analyses.cardiac_function.result import Ventricle
from workstation.analyses.cardiac_function.volumes import Limits
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend

COVERAGE_RAYS = 36
PAPILLARY_MM = 7.0  # concavities of the blood pool this deep are papillary muscles (blood pool)
MARGIN_PX = 3
ELONGATED = 2.0  # LV section axis ratio above which the stack is probably not short-axis


@dataclass(frozen=True)
class Measurement:
    """What :func:`measure` finds (the run adds model and provenance)."""

    lv: Ventricle
    rv: Ventricle
    lv_curve_ml: tuple[float, ...]
    rv_curve_ml: tuple[float, ...]
    myo_curve_ml: tuple[float, ...]
    lv_limits: tuple[Limits, ...]
    rv_limits: tuple[Limits, ...]
    base_high: bool
    segments: tuple[Segment, ...]
    labels: np.ndarray
    warnings: tuple[str, ...]
    method: dict[str, Any]


def bsa_m2(height_m: Optional[float], weight_kg: Optional[float]) -> Optional[float]:
    """Body surface area (Mosteller 1987): sqrt(height cm x weight kg / 3600)."""
    if not height_m or not weight_kg or not 0.3 < height_m < 2.8 or not 1.0 < weight_kg < 500.0:
        return None
    return float(np.sqrt(height_m * 100.0 * weight_kg / 3600.0))


def _crop(labels: Any) -> tuple[tuple[slice, slice], bool]:
    """Rows and columns holding any label (plus a margin), and whether there are any."""
    any_r = to_host((labels > 0).any(axis=(0, 1, 3)))
    any_c = to_host((labels > 0).any(axis=(0, 1, 2)))
    if not any_r.any():
        return (slice(0, 1), slice(0, 1)), False
    r, c = np.flatnonzero(any_r), np.flatnonzero(any_c)
    rows, cols = labels.shape[2:]
    return ((slice(max(r[0] - MARGIN_PX, 0), min(r[-1] + MARGIN_PX + 1, rows)),
             slice(max(c[0] - MARGIN_PX, 0), min(c[-1] + MARGIN_PX + 1, cols))), True)


def measure(labels: Any, cine: CineInput, params: CardiacParams, backend: Backend) -> Measurement:
    """Volumes, function, mass and segments from raw labels ``(phases, slices, rows, cols)`` on ``backend``."""
    n_t, n_z, rows, cols = labels.shape
    for name in ("basal_slice_ed", "apical_slice_ed", "basal_slice_es", "apical_slice_es"):
        volumes.check_slice(name.replace("_", " "), getattr(params, name), n_z)
    window, found = _crop(labels)
    cropped = backend.asarray(labels)[:, :, window[0], window[1]]
    dy, dx = cine.pixel_spacing
    papillary = int(round(PAPILLARY_MM / min(dy, dx)))
    clean = kernel.clean_labels(cropped.reshape(n_t * n_z, *cropped.shape[2:]), backend.ndimage, papillary)
    areas = kernel.pixel_counts(clean).reshape(n_t, n_z, 4).astype(np.float64) * dy * dx
    centres = kernel.centroids(clean, kernel.LV_BLOOD)
    coverage = np.zeros(n_t * n_z)
    ok = np.all(np.isfinite(centres), axis=1)
    if ok.any():
        theta = np.linspace(-np.pi, np.pi, COVERAGE_RAYS, endpoint=False)
        samples = kernel.ray_samples(clean, np.flatnonzero(ok), centres[ok], theta, np.arange(0.0, 60.0, 0.5),
                                     (dy, dx))
        coverage[ok] = kernel.myocardial_coverage(samples)
    coverage = coverage.reshape(n_t, n_z)
    warnings: list[str] = [] if found else ["the model found no ventricle in the cine"]
    lv_area, myo_area, rv_area = areas[..., kernel.LV_BLOOD], areas[..., kernel.LV_MYO], areas[..., kernel.RV_BLOOD]
    fullest = int(np.argmax(lv_area.sum(axis=1)))
    base_high = volumes.base_at_high_index(lv_area[fullest])
    auto = volumes.auto_limits(lv_area, coverage, base_high, params.basal_coverage)
    pos = cine.positions_mm
    auto_curve = np.array([volumes.disc_volume_ml(a, pos, lim) for a, lim in zip(lv_area, auto)])
    ed, es = volumes.ed_es(auto_curve, params.ed_phase, params.es_phase)
    lv_limits = list(auto)
    for phase, basal, apical in ((ed, params.basal_slice_ed, params.apical_slice_ed),
                                 (es, params.basal_slice_es, params.apical_slice_es)):
        if basal is not None or apical is not None:
            lv_limits[phase] = Limits(auto[phase].basal if basal is None else basal,
                                      auto[phase].apical if apical is None else apical)
    lv_curve = np.array([volumes.disc_volume_ml(a, pos, lim) for a, lim in zip(lv_area, lv_limits)])
    myo_limits = [_with_apical_cap(lim, m, base_high) for lim, m in zip(lv_limits, myo_area)]
    myo_curve = np.array([volumes.disc_volume_ml(m, pos, lim) for m, lim in zip(myo_area, myo_limits)])
    rv_limits = volumes.present_limits(rv_area, base_high)
    rv_curve = np.array([volumes.disc_volume_ml(a, pos, lim) for a, lim in zip(rv_area, rv_limits)])
    rv_es = int(np.argmin(np.where(rv_curve > 0, rv_curve, np.inf))) if (rv_curve > 0).any() else es
    bsa = bsa_m2(cine.height_m, cine.weight_kg)
    hr = cine.heart_rate_bpm
    lv = Ventricle(float(lv_curve[ed]), float(lv_curve[es]), ed, es, float(myo_curve[ed]) * params.density_g_per_ml,
                   hr, bsa)
    rv = Ventricle(float(rv_curve[ed]), float(rv_curve[rv_es]), ed, rv_es, None, hr, bsa)
    full = backend.xp.zeros((n_t * n_z, rows, cols), dtype=backend.xp.uint8)
    full[:, window[0], window[1]] = clean
    full = full.reshape(n_t, n_z, rows, cols)
    matched = sorted(set(lv_limits[ed].slices()) & set(lv_limits[es].slices()))  # slices in both limits
    regional = segments(full[ed], full[es], matched, base_high, (dy, dx), cine.reference.direction)
    warnings += _checks(lv, rv, lv_limits, to_host(full[ed]), cine, base_high)
    return Measurement(lv, rv, tuple(lv_curve), tuple(rv_curve), tuple(myo_curve), tuple(lv_limits),
                       tuple(rv_limits), base_high, regional, backend.asnumpy(full).astype(np.uint8, copy=False),
                       tuple(warnings), _method(cine, params, bsa))


def _with_apical_cap(limits: Limits, myo_area: np.ndarray, base_high: bool) -> Limits:
    """The LV limits extended over the slices beyond the cavity's apex that still hold myocardium (the cap)."""
    if limits.apical is None:
        return limits
    step = -1 if base_high else 1
    apical = limits.apical
    while 0 <= apical + step < len(myo_area) and myo_area[apical + step] >= volumes.MIN_AREA_MM2:
        apical += step
    return replace(limits, apical=apical)


def _elongation(plane: np.ndarray) -> Optional[float]:
    """Axis ratio of the LV blood pool in one label plane (second moments); None when absent."""
    r, c = np.nonzero(plane == kernel.LV_BLOOD)
    if r.size < 20:
        return None
    eig = np.linalg.eigvalsh(np.cov(np.stack([r, c]).astype(float)))
    return float(np.sqrt(eig[-1] / max(eig[0], 1e-9)))


def _checks(lv: Ventricle, rv: Ventricle, lv_limits: list[Limits], ed_labels: np.ndarray, cine: CineInput,
            base_high: bool) -> list[str]:
    """Warnings about what was measured (the input's own notes come first)."""
    out = list(cine.notes)
    n_z = ed_labels.shape[0]
    if lv.edv_ml <= 0:
        out.append("no LV blood pool found: LV volumes are zero")
    if rv.edv_ml <= 0:
        out.append("no RV blood pool found: RV volumes are zero")
    limits = lv_limits[lv.ed_phase]
    basal_edge, apical_edge = (n_z - 1, 0) if base_high else (0, n_z - 1)
    if limits.basal is not None and limits.basal == basal_edge:
        out.append("the LV blood pool reaches the most basal slice: the stack may not cover the base")
    if limits.apical is not None and limits.apical == apical_edge:
        out.append("the LV blood pool reaches the most apical slice: the stack may not cover the apex")
    middle = [k for k in limits.slices()][len(limits.slices()) // 3:max(2 * len(limits.slices()) // 3, 1)]
    ratios = [r for r in (_elongation(ed_labels[k]) for k in middle) if r is not None]
    if ratios and float(np.median(ratios)) > ELONGATED:
        out.append(f"the LV sections are elongated (axis ratio {float(np.median(ratios)):.1f}): the slices may not be "
                   "short-axis, and summation of discs would be wrong")
    for after, gap in volumes.gaps(cine.positions_mm):
        out.append(f"gap in the stack: {gap:.1f} mm between slices {after} and {after + 1} (spacing "
                   f"{volumes.spacing_mm(cine.positions_mm):.1f} mm); areas interpolated across it")
    return out


def _method(cine: CineInput, params: CardiacParams, bsa: Optional[float]) -> dict[str, Any]:
    spacing = volumes.spacing_mm(cine.positions_mm)
    gap = spacing - cine.thickness_mm
    return {
        "volumes": f"summation of discs: area x slice spacing {spacing:.2f} mm (slice thickness "
                   f"{cine.thickness_mm:.2f} mm + gap {gap:.2f} mm)",
        "papillary_muscles": f"included in the blood pool (volume; holes and concavities up to {PAPILLARY_MM:g} mm "
                             "of the blood pool), excluded from the mass",
        "mass": f"LV myocardial volume at end-diastole x {params.density_g_per_ml:g} g/ml",
        "ed_es": "largest and smallest LV volume" if params.ed_phase is None and params.es_phase is None
                 else "set by the reader",
        "bsa": "Mosteller" if bsa else "no height and weight in the header: not indexed",
        "regional": "AHA 17-segment model, wall thickness along 120 rays from the LV blood pool centre",
    }
