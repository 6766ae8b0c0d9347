"""DICOM reading: find studies on disk, then load a series as a volume.

>>> result = scan("/data/incoming")                      # doctest: +SKIP
>>> volume = load_series(result.studies[0].series[0])    # doctest: +SKIP
>>> volume = load("/data/one_ct_series")                 # doctest: +SKIP

Values come out in physical units (rescale slope and intercept applied; ``int16``
kept when exact), planes sorted along the slice normal, geometry in DICOM LPS mm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.study import FrameRef, Series
from workstation.core.volume import Volume, VolumeSeries
from workstation.io.dicom_decode import Allocator, read_planes, rescale
from workstation.io.dicom_geometry import NO_TIMES, TIMES_OUT_OF_ORDER, GeometryPlan, plan_series
from workstation.io.dicom_header import ImageHeader, read_header
from workstation.io.dicom_layout import FrameExtra, frame_key
from workstation.io.dicom_scan import EXTRAS_KEY, ScanResult, scan
from workstation.io.errors import DicomReadError

__all__ = ["DicomReadError", "ScanResult", "load", "load_series", "load_time_series", "scan"]

META_KEYS = (
    "series_uid",
    "study_uid",
    "modality",
    "kvp",
    "slice_thickness",
    "convolution_kernel",
    "manufacturer",
    "patient_age_years",
    "patient_sex",
    "patient_ethnic_group",
    "study_date",
    "window_center",
    "window_width",
    "heart_rate_bpm",
    "nominal_interval_ms",
    "cardiac_number_of_images",
    "patient_height_m",
    "patient_weight_kg",
)
Extras = dict[tuple[str, Optional[int]], FrameExtra]


def _extras_and_meta(series: Series) -> tuple[Extras, dict[str, Any]]:
    """Per-plane decode facts (from the scan, or read again for a hand-built series)."""
    if not series.frames:
        raise DicomReadError(Path(series.uid), "series holds no image planes")
    extras: Extras = dict(series.meta.get(EXTRAS_KEY, {}))
    meta = {k: v for k, v in series.meta.items() if k != EXTRAS_KEY}
    for f in series.frames:
        if frame_key(f) in extras:
            continue
        header = read_header(f.path)
        if not isinstance(header, ImageHeader):
            raise DicomReadError(f.path, "not an image object")
        extras.update({frame_key(r): e for r, e in zip(header.frames, header.extras)})
        for k, v in header.series_meta.items():
            meta.setdefault(k, v)
        if frame_key(f) not in extras:
            raise DicomReadError(f.path, f"frame {f.frame} not found in the file")
    return extras, meta


def _hint(meta: dict[str, Any]) -> Optional[float]:
    return meta.get("spacing_between_slices") or meta.get("slice_thickness")


def _plan(series: Series, meta: dict[str, Any]) -> GeometryPlan:
    return plan_series(series.frames, slice_spacing_hint=_hint(meta))


@dataclass
class _Decoded:
    """Physical values of the planes of ``plan`` (in its order), and what was left out."""

    plan: GeometryPlan
    values: np.ndarray
    applied: bool
    notes: list[str]
    skipped: list[tuple[str, str]]


def _decode(
    plan: GeometryPlan, everything: bool, extras: Extras, meta: dict[str, Any], progress: Optional[ProgressFn],
    workers: Optional[int], allocate: Allocator = np.empty,
) -> _Decoded:
    """Decode the planes of ``plan`` (every time point, or the first); files that fail are left out.

    The planes of the other files are planned again, so a left-out plane shows as a
    gap (a "missing slices" issue), never as a shifted volume.
    """
    frames = _planes(plan, everything)
    raw, notes, failed = read_planes(frames, extras, progress=scaled(progress, 0.0, 0.9), workers=workers,
                                     allocate=allocate)
    skipped = sorted(failed.items())
    if failed:
        kept = [f for f in frames if str(f.path) not in failed]
        if not kept:
            path, reason = skipped[0]
            raise DicomReadError(path, reason)
        row = {frame_key(f): i for i, f in enumerate(frames)}
        again = plan_series(kept, slice_spacing_hint=_hint(meta))
        plan = replace(again, issues=tuple(dict.fromkeys(plan.issues + again.issues)))  # both plans' findings
        frames = _planes(plan, everything)
        survivors = allocate((len(frames), *raw.shape[1:]), raw.dtype)
        np.take(raw, [row[frame_key(f)] for f in frames], axis=0, out=survivors)
        raw = survivors
    chosen = [extras[frame_key(f)] for f in frames]
    values, applied = rescale(raw, [e.slope for e in chosen], [e.intercept for e in chosen], workers=workers,
                              allocate=allocate)
    return _Decoded(plan, values, applied, notes, skipped)


def _planes(plan: GeometryPlan, everything: bool) -> tuple[FrameRef, ...]:
    return tuple(f for planes in plan.time_points for f in planes) if everything else plan.frames


def _skipped_issue(skipped: list[tuple[str, str]]) -> list[str]:
    if not skipped:
        return []
    named = "; ".join(f"{Path(p).name}: {reason}" for p, reason in skipped)
    return [f"{len(skipped)} file(s) left out, their pixels could not be read ({named})"]


def _volume_meta(
    meta: dict[str, Any], extras: Extras, decoded: _Decoded, issues: list[str]
) -> dict[str, Any]:
    out = {k: meta.get(k) for k in META_KEYS}
    window = extras[frame_key(decoded.plan.frames[0])].window
    if window is not None and out.get("window_center") is None:
        out["window_center"], out["window_width"] = window
    out["rescale_applied"] = decoded.applied
    out["issues"] = list(issues) + _skipped_issue(decoded.skipped) + decoded.notes
    out["skipped_files"] = list(decoded.skipped)
    return out


def _plane_offsets(plan: GeometryPlan) -> list[float]:
    """Each stacked plane's distance (mm) from the first along the slice normal: shows gaps the grid hides."""
    normal = plan.direction[:, 2]
    first = np.asarray(plan.origin, dtype=float)
    return [float(np.dot(np.asarray(f.position, dtype=float) - first, normal)) if f.position is not None
            else float(k * plan.spacing[0]) for k, f in enumerate(plan.frames)]


def _sources(frames: tuple[FrameRef, ...]) -> dict[str, Any]:
    """The files and instances a volume was decoded from (derived objects, provenance)."""
    files = tuple(dict.fromkeys(str(f.path) for f in frames))
    instances = tuple(f.sop_instance_uid if f.frame is None else f"{f.sop_instance_uid}/{f.frame}" for f in frames)
    return {"source_files": files, "source_instances": instances}


def _make_volume(array: np.ndarray, plan: GeometryPlan, modality: str, meta: dict[str, Any]) -> Volume:
    return Volume(
        array=array,
        spacing=plan.spacing,
        origin=plan.origin,
        direction=plan.direction,
        modality=modality,
        meta=meta,
    )


def load_series(
    series: Series, progress: Optional[ProgressFn] = None, *, workers: Optional[int] = None
) -> Volume:
    """Decode one image series into a :class:`Volume` in physical units.

    The planes of the majority image size and orientation are stacked in order along
    the slice normal; the others, missing slices, uneven spacing, gantry tilt and
    duplicates are listed in ``volume.meta['issues']``.  A file whose pixels cannot be
    read or decoded is left out (the rest still loads, with a gap where its planes
    were): ``volume.meta['skipped_files']`` lists ``(path, reason)`` for each.  A
    dynamic series loads its first time point (see :func:`load_time_series`).

    Raises
    ------
    DicomReadError
        Naming the file and the fault when no plane at all can be read or decoded,
        or the series holds no image planes.  Nothing else is raised for a bad file.
    """
    extras, meta = _extras_and_meta(series)
    first = _plan(series, meta)
    decoded = _decode(first, False, extras, meta, progress, workers)
    plan = decoded.plan
    issues = list(plan.issues)
    if first.is_dynamic:
        issues.append(f"dynamic series: {len(first.time_points)} time points; the first is loaded")
    report(progress, 1.0, "Series loaded")
    volume_meta = _volume_meta(meta, extras, decoded, issues)
    volume_meta.update(_sources(plan.frames))
    volume_meta["slice_positions_mm"] = _plane_offsets(plan)
    return _make_volume(decoded.values, plan, series.modality or str(meta.get("modality") or ""), volume_meta)


def load_time_series(
    series: Series, progress: Optional[ProgressFn] = None, *, workers: Optional[int] = None,
    allocate: Allocator = np.empty, clock: str = "acquisition",
) -> VolumeSeries:
    """Decode a dynamic series into one volume per time point.

    Time points are the planes sharing a position ordered by TemporalPositionIndex
    (or acquisition time); ``times`` are seconds from the first time point, taken
    from the earliest plane of each (FrameReferenceDateTime, AcquisitionDateTime,
    AcquisitionTime or ContentTime), falling back to the nominal trigger delay.
    Uneven sampling is kept as is.  ``allocate(shape, dtype)`` makes the one block
    all time points share (page-locked memory when the series is bound for a GPU).
    ``clock="trigger"`` (a cardiac cine, whose phases share a breath-hold's acquisition
    times) takes the trigger delays after the R wave first, acquisition times second.
    ``meta["times_from"]`` says which gave the times: ``trigger``, ``acquisition`` or
    ``index`` (none did).
    """
    extras, meta = _extras_and_meta(series)
    decoded = _decode(_plan(series, meta), True, extras, meta, progress, workers, allocate)
    plan, values = decoded.plan, decoded.values
    issues = list(plan.issues)
    n_z = len(plan.frames)
    trigger = _trigger_times(plan, extras)
    order = [(trigger, "trigger"), (plan.times_s, "acquisition")]
    times, source = next(((t, name) for t, name in (order if clock == "trigger" else order[::-1]) if t), (None, ""))
    if source == "trigger" and clock == "trigger":  # the acquisition times were not needed
        issues = [i for i in issues if i not in (NO_TIMES, TIMES_OUT_OF_ORDER)]
    if times is None:
        times, source = tuple(float(k) for k in range(len(plan.time_points))), "index"
        issues.append("no usable times: time points numbered 0, 1, 2... s")
    volume_meta = _volume_meta(meta, extras, decoded, issues)
    volume_meta["times_from"] = source
    volume_meta.update(_sources(tuple(f for planes in plan.time_points for f in planes)))
    volume_meta["slice_positions_mm"] = _plane_offsets(plan)
    modality = series.modality or str(meta.get("modality") or "")
    volumes = tuple(
        _make_volume(values[k * n_z : (k + 1) * n_z], plan, modality, volume_meta)
        for k in range(len(plan.time_points))
    )
    report(progress, 1.0, "Series loaded")
    return VolumeSeries(volumes=volumes, times=times, meta=volume_meta)


def _trigger_times(plan: GeometryPlan, extras: Extras) -> Optional[tuple[float, ...]]:
    starts = []
    for planes in plan.time_points:
        values = [extras[frame_key(f)].trigger_time_s for f in planes]
        if any(v is None for v in values):
            return None
        starts.append(min(values))  # type: ignore[type-var]
    rel = np.asarray(starts, dtype=float) - starts[0]
    return tuple(float(t) for t in rel) if np.all(np.diff(rel) > 0) else None


def load(path: Union[str, Path], progress: Optional[ProgressFn] = None) -> Volume:
    """Load the single image series held by a file or folder.

    Raises
    ------
    DicomReadError
        When ``path`` holds no image series or more than one.
    """
    path = Path(path)
    result = scan(path, progress=scaled(progress, 0.0, 0.2))
    found = result.series
    if not found:
        why = f" ({result.problems[0].reason})" if result.problems else ""
        raise DicomReadError(path, f"no readable image series found{why}")
    if len(found) > 1:
        raise DicomReadError(path, f"holds {len(found)} image series; choose one with scan()")
    return load_series(found[0], progress=scaled(progress, 0.2, 1.0))
