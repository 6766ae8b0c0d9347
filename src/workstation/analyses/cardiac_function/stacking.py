"""A cine stored as several series: one series per slice position, or one per cardiac phase.

Scanners often export a short-axis cine as one series per slice (each holding every
phase of that slice), and retrospectively gated CT reconstructed in phases as one
series per phase (each a stack of slices).  :func:`stacked_cines` finds such groups in
a study (same modality, frame of reference, orientation, matrix and pixel size) and
joins each into one :class:`~workstation.core.study.Series` whose frames the loader
sorts by slice position and phase like any cine.

Per-phase series are put in phase order by their trigger delay, else by the cardiac
phase percentage their description states ("Cardiac 75%", as CT consoles name phase
reconstructions), else by series number; their acquisition times, shared by every
reconstruction of one scan, are dropped so they are not read as the phases' times.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Optional

from workstation.core.study import FrameRef, Series, Study

PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")
JOINED = "joined_series"  # meta key of a joined series: what was joined


def _positions(series: Series) -> set[tuple[float, ...]]:
    return {tuple(round(v, 1) for v in f.position) for f in series.frames if f.position is not None}


def _geometry(series: Series) -> Optional[tuple[Any, ...]]:
    """What series of one stack share: modality, frame of reference, orientation, matrix, pixel size."""
    first = series.frames[0] if series.frames else None
    if first is None or first.orientation is None or first.pixel_spacing is None:
        return None
    return (series.modality.upper(), series.frame_of_reference_uid, tuple(round(v, 3) for v in first.orientation),
            first.rows, first.columns, tuple(round(v, 3) for v in first.pixel_spacing))


def phase_percent(series: Series) -> Optional[float]:
    """The cardiac phase (% of the R-R interval) named in the series description, if any."""
    found = PERCENT.search(series.description or "")
    value = float(found.group(1)) if found else None
    return value if value is not None and 0.0 <= value <= 100.0 else None


def _trigger_s(series: Series) -> Optional[float]:
    values = [f.trigger_time_s for f in series.frames]
    return None if any(v is None for v in values) else min(float(v or 0.0) for v in values)


def _phase_order(group: list[Series]) -> tuple[list[Series], str]:
    """``group`` in phase order and what ordered it."""
    for key, what in ((_trigger_s, "trigger delay"), (phase_percent, "phase percentage")):
        values = {s.uid: key(s) for s in group}
        if None not in values.values() and len(set(values.values())) == len(group):
            return sorted(group, key=lambda s: float(values[s.uid] or 0.0)), what
    return sorted(group, key=lambda s: (s.number is None, s.number or 0, s.uid)), "series number"


def _joined(group: list[Series], frames: list[FrameRef], what: str) -> Series:
    from workstation.io.dicom_scan import EXTRAS_KEY

    first = group[0]
    extras: dict[Any, Any] = {}
    for s in group:
        extras.update(s.meta.get(EXTRAS_KEY, {}))
    numbers = [s.number for s in group if s.number is not None]
    span = f" (series {min(numbers)}-{max(numbers)})" if numbers else ""
    joined = f"{len(group)} series joined, {what}{span}"
    return Series(uid=first.uid, study_uid=first.study_uid, modality=first.modality, number=first.number,
                  description=joined, frames=frames, issues=[i for s in group for i in s.issues],
                  meta={**first.meta, EXTRAS_KEY: extras, JOINED: joined})


def _by_geometry(series: list[Series]) -> list[list[Series]]:
    groups: dict[tuple[Any, ...], list[Series]] = {}
    for s in series:
        key = _geometry(s)
        if key is not None and key[0] in ("MR", "CT"):
            groups.setdefault(key, []).append(s)
    return [g for g in groups.values() if len(g) >= 2]


def stacked_cines(study: Study) -> list[Series]:
    """Every cine of ``study`` stored as one series per slice or one series per phase, joined."""
    out = []
    single_slice = [s for s in study.series if len(_positions(s)) == 1 and s.n_frames >= 2]
    for group in _by_geometry(single_slice):
        if len({next(iter(_positions(s))) for s in group}) == len(group):  # one series per slice position
            out.append(_joined(group, [f for s in group for f in s.frames], "one per slice"))
    single_phase = [s for s in study.series if len(_positions(s)) >= 2 and len(_positions(s)) == s.n_frames]
    for group in _by_geometry(single_phase):
        by_slices: dict[frozenset[tuple[float, ...]], list[Series]] = {}
        for s in group:
            by_slices.setdefault(frozenset(_positions(s)), []).append(s)
        for phases in by_slices.values():
            if len(phases) < 2:
                continue
            ordered, by = _phase_order(phases)
            frames = [replace(f, temporal_index=t, time_s=None) for t, s in enumerate(ordered) for f in s.frames]
            out.append(_joined(ordered, frames, f"one per phase, ordered by {by}"))
    return out
