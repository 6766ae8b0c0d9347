"""Sort the planes of a series into a volume and check its geometry.

Planes are ordered by projecting ImagePositionPatient onto the slice normal (the
cross product of the ImageOrientationPatient row and column cosines), never by
InstanceNumber or file name.  The spacing between planes is the median step of the
sorted projections.  What looks wrong (missing slices, uneven spacing, gantry tilt,
mixed sizes or orientations, duplicate positions) is reported as text, not fixed.
Several planes at one position with different times make a dynamic series, split
into time points.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np

from workstation.core.study import FrameRef

POSITION_TOL_MM = 0.01
GAP_FACTOR = 1.5
UNEVEN_REL = 0.01
TILT_MIN_DEG = 0.05
#: Direction cosines: each vector's length within this factor of 1, and the two at most
#: this far (cosine of the angle) from perpendicular; otherwise unusable.
UNIT_TOL = 0.1
PERPENDICULAR_TOL = 0.05
MAX_COORD_MM = 1e6  # 1 km from the origin: beyond any scanner's frame of reference
MAX_SPACING_MM = 1e4
#: What :func:`plan_series` says of a dynamic series whose acquisition times cannot order it.
NO_TIMES = "dynamic series without acquisition times"
TIMES_OUT_OF_ORDER = "acquisition times do not increase with the temporal order"


@dataclass(frozen=True)
class GeometryPlan:
    """How the planes of a series form one volume, or one volume per time point.

    ``time_points[k]`` lists the planes of volume ``k`` in z order; ``times_s`` are
    seconds from the first time point (``None`` when the headers give no times).
    """

    time_points: tuple[tuple[FrameRef, ...], ...]
    times_s: Optional[tuple[float, ...]]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    issues: tuple[str, ...]

    @property
    def frames(self) -> tuple[FrameRef, ...]:
        """The planes of the first (or only) time point, in z order."""
        return self.time_points[0]

    @property
    def is_dynamic(self) -> bool:
        return len(self.time_points) > 1


def _majority(frames: Sequence[FrameRef], key: Any, what: str, issues: list[str]) -> list[FrameRef]:
    counts = Counter(key(f) for f in frames)
    if len(counts) <= 1:
        return list(frames)
    best, n_best = counts.most_common(1)[0]
    others = ", ".join(f"{k} x{n}" for k, n in counts.items() if k != best)
    issues.append(f"mixed {what}: kept {n_best} of {len(frames)} planes ({best}); left out {others}")
    return [f for f in frames if key(f) == best]


def _size_key(f: FrameRef) -> str:
    return f"{f.rows}x{f.columns}"


def _orientation_key(f: FrameRef) -> str:
    if f.orientation is None:
        return "none"
    return "(" + ", ".join(f"{v:.3f}" for v in f.orientation) + ")"


def _order_key(f: FrameRef) -> tuple[Any, ...]:
    def opt(v: Optional[float]) -> tuple[bool, float]:
        return (v is None, 0.0 if v is None else float(v))

    return (opt(f.temporal_index), opt(f.trigger_time_s), opt(f.time_s), opt(f.instance_number), opt(f.frame),
            str(f.path))


def plan_series(
    frames: Sequence[FrameRef], *, slice_spacing_hint: Optional[float] = None
) -> GeometryPlan:
    """Sort ``frames`` into volume order and derive spacing, origin and direction.

    Parameters
    ----------
    frames
        The planes of one series, in any order.
    slice_spacing_hint
        Slice spacing in mm used when positions cannot give one (a single plane, or
        planes without ImagePositionPatient): SpacingBetweenSlices or SliceThickness.

    Returns
    -------
    GeometryPlan
        Planes per time point in z order, spacing (dz, dy, dx) mm, origin (LPS mm
        of the first plane), direction (columns: row, column, slice normal) and the
        geometry issues found.
    """
    if not frames:
        raise ValueError("a series without planes cannot be sorted")
    issues: list[str] = []
    frames = _usable(frames, issues)
    if slice_spacing_hint is not None and not 0 < slice_spacing_hint <= MAX_SPACING_MM:
        slice_spacing_hint = None
    kept = _majority(frames, _size_key, "image sizes", issues)
    kept = _majority(kept, _orientation_key, "orientations", issues)
    in_plane = _in_plane_spacing(kept[0], issues)
    if all(f.position is not None and f.orientation is not None for f in kept):
        return _plan_positioned(kept, in_plane, slice_spacing_hint, issues)
    return _plan_unpositioned(kept, in_plane, slice_spacing_hint, issues)


def usable_orientation(orientation: Optional[Sequence[float]]) -> bool:
    """Whether six direction cosines give two unit, perpendicular vectors (within tolerance).

    Zero, parallel, huge (1e308) or non-finite vectors are not usable: they give no
    slice normal, and dividing by their lengths would make infinities or NaN.
    """
    if orientation is None or len(orientation) != 6:
        return False
    values = np.asarray(orientation, dtype=float)
    if not np.all(np.isfinite(values)) or np.max(np.abs(values)) > 2.0:
        return False
    row, col = values[:3], values[3:]
    lengths = np.array([np.linalg.norm(row), np.linalg.norm(col)])
    if np.any(np.abs(lengths - 1.0) > UNIT_TOL):
        return False
    return abs(float(np.dot(row, col))) / float(lengths.prod()) <= PERPENDICULAR_TOL


def _usable_position(position: Optional[Sequence[float]]) -> bool:
    if position is None:
        return False
    values = np.asarray(position, dtype=float)
    return bool(np.all(np.isfinite(values)) and np.max(np.abs(values)) <= MAX_COORD_MM)


def _usable(frames: Sequence[FrameRef], issues: list[str]) -> list[FrameRef]:
    """``frames`` with unusable orientations and positions dropped to ``None`` (and said so)."""
    bad_orientation = sum(f.orientation is not None and not usable_orientation(f.orientation) for f in frames)
    bad_position = sum(f.position is not None and not _usable_position(f.position) for f in frames)
    if bad_orientation:
        issues.append(f"ImageOrientationPatient unusable in {bad_orientation} plane(s) "
                      "(zero, parallel, non-unit or non-finite direction cosines)")
    if bad_position:
        issues.append(f"ImagePositionPatient unusable in {bad_position} plane(s) (non-finite or over 1 km)")
    if not bad_orientation and not bad_position:
        return list(frames)
    return [
        replace(
            f,
            orientation=f.orientation if usable_orientation(f.orientation) else None,
            position=f.position if _usable_position(f.position) else None,
        )
        for f in frames
    ]


def _in_plane_spacing(f: FrameRef, issues: list[str]) -> tuple[float, float]:
    if f.pixel_spacing and all(0 < v <= MAX_SPACING_MM for v in f.pixel_spacing):
        return (float(f.pixel_spacing[0]), float(f.pixel_spacing[1]))
    issues.append("no usable pixel spacing: 1 mm assumed")
    return (1.0, 1.0)


def _axes(orientation: Sequence[float]) -> np.ndarray:
    """Orthonormal columns (row, column, normal) from usable direction cosines."""
    row = np.asarray(orientation[:3], dtype=float)
    col = np.asarray(orientation[3:], dtype=float)
    row /= np.linalg.norm(row)
    col = col - np.dot(col, row) * row
    col /= np.linalg.norm(col)
    return np.stack([row, col, np.cross(row, col)], axis=1)


def _plan_positioned(
    frames: list[FrameRef], in_plane: tuple[float, float], hint: Optional[float], issues: list[str]
) -> GeometryPlan:
    direction = _axes(frames[0].orientation)  # type: ignore[arg-type]
    normal = direction[:, 2]
    proj = np.array([np.dot(f.position, normal) for f in frames])  # type: ignore[arg-type]
    order = np.lexsort((np.arange(len(frames)), proj))
    groups: list[list[FrameRef]] = []
    group_proj: list[float] = []
    for i in order:
        if groups and proj[i] - group_proj[-1] <= POSITION_TOL_MM:
            groups[-1].append(frames[i])
        else:
            groups.append([frames[i]])
            group_proj.append(float(proj[i]))
    time_points = _split_time(groups, issues)
    positions = np.array([g[0].position for g in groups], dtype=float)
    dz = _check_steps(np.asarray(group_proj), positions, normal, hint, issues)
    return GeometryPlan(
        time_points=time_points,
        times_s=_relative_times(time_points, issues),
        spacing=(dz, in_plane[0], in_plane[1]),
        origin=tuple(float(v) for v in time_points[0][0].position),  # type: ignore[arg-type, union-attr]
        direction=direction,
        issues=tuple(issues),
    )


def _split_time(groups: list[list[FrameRef]], issues: list[str]) -> tuple[tuple[FrameRef, ...], ...]:
    counts = [len(g) for g in groups]
    if max(counts) == 1:
        return (tuple(g[0] for g in groups),)
    for g in groups:
        g.sort(key=_order_key)
    timed = any(len({(f.temporal_index, f.trigger_time_s, f.time_s) for f in g}) > 1 for g in groups)
    if not timed:
        extra = sum(counts) - len(groups)
        issues.append(f"duplicate positions: {extra} plane(s) share a position with another; the first is used")
        return (tuple(g[0] for g in groups),)
    n_t = min(counts)
    if max(counts) != n_t:
        issues.append(
            f"incomplete dynamic series: positions hold {n_t} to {max(counts)} time points; {n_t} used"
        )
    return tuple(tuple(g[k] for g in groups) for k in range(n_t))


def _relative_times(
    time_points: tuple[tuple[FrameRef, ...], ...], issues: list[str]
) -> Optional[tuple[float, ...]]:
    if len(time_points) == 1:
        return (0.0,)
    starts: list[Optional[float]] = []
    for planes in time_points:
        times = [f.time_s for f in planes if f.time_s is not None]
        starts.append(min(times) if times else None)
    if any(t is None for t in starts):
        issues.append(NO_TIMES)
        return None
    values = np.asarray(starts, dtype=float)
    values = np.where(values < values[0] - 43200.0, values + 86400.0, values)  # past midnight
    rel = values - values[0]
    if np.any(np.diff(rel) <= 0):
        issues.append(TIMES_OUT_OF_ORDER)
        return None
    return tuple(float(t) for t in rel)


def _check_steps(
    proj: np.ndarray, positions: np.ndarray, normal: np.ndarray, hint: Optional[float], issues: list[str]
) -> float:
    if len(proj) < 2:
        return float(hint) if hint and hint > 0 else 1.0
    steps = np.diff(proj)
    median = float(np.median(steps))
    gaps = np.flatnonzero(steps > GAP_FACTOR * median)
    for i in gaps:
        missing = int(round(steps[i] / median)) - 1
        issues.append(
            f"missing slices: gap of {steps[i]:.2f} mm after plane {i} "
            f"(median step {median:.2f} mm; about {missing} slice(s) missing)"
        )
    regular = np.delete(steps, gaps)
    if regular.size > 1 and (regular.max() - regular.min()) / median > UNEVEN_REL:
        issues.append(
            f"uneven spacing: steps from {regular.min():.3f} to {regular.max():.3f} mm "
            f"(median {median:.3f} mm)"
        )
    travel = positions[-1] - positions[0]
    cos = abs(float(np.dot(travel, normal))) / max(float(np.linalg.norm(travel)), 1e-12)
    tilt = float(np.degrees(np.arccos(min(cos, 1.0))))
    if tilt > TILT_MIN_DEG:
        issues.append(f"gantry tilt: {tilt:.2f} degrees between slice normal and slice stacking direction")
    return median


def _plan_unpositioned(
    frames: list[FrameRef], in_plane: tuple[float, float], hint: Optional[float], issues: list[str]
) -> GeometryPlan:
    ordered = sorted(frames, key=lambda f: (_order_key(f)[3], _order_key(f)[4], str(f.path)))
    if len(ordered) > 1:
        issues.append("no ImagePositionPatient: planes ordered by instance and frame number")
    first = ordered[0]
    direction = _axes(first.orientation) if first.orientation is not None else np.eye(3)
    origin = tuple(float(v) for v in first.position) if first.position is not None else (0.0, 0.0, 0.0)
    thickness = first.slice_thickness
    dz = hint if hint else (thickness if thickness and 0 < thickness <= MAX_SPACING_MM else 1.0)
    return GeometryPlan(
        time_points=(tuple(ordered),),
        times_s=(0.0,),
        spacing=(float(dz), in_plane[0], in_plane[1]),
        origin=origin,  # type: ignore[arg-type]
        direction=direction,
        issues=tuple(issues),
    )
