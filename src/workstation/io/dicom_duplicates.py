"""Choose one file among several holding the same SOP instance.

Folders often hold an instance twice: a second export, a copy in a sub-folder, a copy
damaged on the way.  Keeping whichever sorts first can drop a good original for a
damaged copy, silently.  So, of the files sharing a SOP Instance UID:

1. byte-identical copies are plain duplicates (the first by path is kept);
2. otherwise each copy is decoded: one that decodes beats one that does not;
3. then the copy in the larger series (its instances agreeing with the rest) wins,
   then the older file (an original predates its copies), then path order.

Every copy left out is reported with its reason; copies whose content differs also
leave an issue on the series, so the choice is never silent.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from workstation.core.study import FrameRef, LoadProblem
from workstation.io.dicom_decode import read_planes
from workstation.io.dicom_header import ImageHeader
from workstation.io.dicom_layout import frame_key


@dataclass
class Resolution:
    """The headers kept, the copies left out, and issues per (study, series) key."""

    kept: list[ImageHeader] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    issues: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))


def instance_key(header: ImageHeader) -> str:
    """The SOP Instance UID of a file (its path when it has none)."""
    uid = header.frames[0].sop_instance_uid if header.frames else ""
    return uid or f"path:{header.path}"


def series_key(header: ImageHeader) -> tuple[str, str]:
    return (header.study_uid, header.series_uid)


def resolve(headers: list[ImageHeader]) -> Resolution:
    """Keep one header per SOP instance, in the order the headers came."""
    groups: dict[str, list[ImageHeader]] = defaultdict(list)
    for h in headers:
        groups[instance_key(h)].append(h)
    sizes = Counter(series_key(h) for h in headers)
    shapes = _series_shapes(headers)
    out = Resolution()
    chosen: dict[str, ImageHeader] = {}
    for key, group in groups.items():
        chosen[key] = group[0] if len(group) == 1 else _choose(group, sizes, shapes, out)
    out.kept = [h for h in headers if chosen[instance_key(h)] is h]
    return out


def _shape(ref: FrameRef) -> tuple[object, ...]:
    orientation = None if ref.orientation is None else tuple(round(v, 3) for v in ref.orientation)
    return (ref.rows, ref.columns, ref.pixel_spacing, orientation)


def _series_shapes(headers: list[ImageHeader]) -> dict[tuple[str, str], Counter[tuple[object, ...]]]:
    shapes: dict[tuple[str, str], Counter[tuple[object, ...]]] = defaultdict(Counter)
    for h in headers:
        shapes[series_key(h)][_shape(h.frames[0])] += 1
    return shapes


def _digest(header: ImageHeader) -> tuple[int, str] | None:
    """(size, SHA-256) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(header.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            return fh.tell(), digest.hexdigest()
    except OSError:
        return None


def _decoded(header: ImageHeader) -> tuple[np.ndarray | None, str]:
    """The stored values of a file's planes, or None and why they cannot be decoded."""
    extras = {frame_key(r): e for r, e in zip(header.frames, header.extras)}
    raw, _, failed = read_planes(header.frames, extras, workers=1)
    if failed:
        return None, next(iter(failed.values()))
    return raw, ""


def _mtime(header: ImageHeader) -> int:
    try:
        return os.stat(header.path).st_mtime_ns
    except OSError:
        return 2**63


def _choose(
    group: list[ImageHeader], sizes: Counter[tuple[str, str]],
    shapes: dict[tuple[str, str], Counter[tuple[object, ...]]], out: Resolution,
) -> ImageHeader:
    digests = [_digest(h) for h in group]
    if digests[0] is not None and all(d == digests[0] for d in digests):
        for h in group[1:]:
            out.problems.append(LoadProblem(h.path, f"duplicate of an instance already found ({group[0].path.name})"))
        return group[0]
    decoded = [_decoded(h) for h in group]

    def rank(i: int) -> tuple[object, ...]:
        h = group[i]
        shape_votes = shapes[series_key(h)][_shape(h.frames[0])]
        return (decoded[i][0] is None, -sizes[series_key(h)], -shape_votes, _mtime(h), str(h.path))

    best_index = min(range(len(group)), key=rank)
    best, best_values = group[best_index], decoded[best_index][0]
    differing = 0
    for i, h in enumerate(group):
        if i == best_index:
            continue
        values, fault = decoded[i]
        if values is None:
            reason = f"damaged copy of an instance also in {best.path.name} ({fault}); left out"
        elif _same(h, best, values, best_values):
            reason = f"duplicate of an instance already found ({best.path.name})"
        else:
            differing += 1
            reason = f"differs from another copy of the same instance ({best.path.name}, kept); left out"
        out.problems.append(LoadProblem(h.path, reason))
    if differing:
        out.issues[series_key(best)].append(
            f"{differing + 1} differing copies of one instance: kept {best.path.name}, left out the other(s) "
            "(see the load report)")
    return best


def _same(a: ImageHeader, b: ImageHeader, va: np.ndarray, vb: np.ndarray | None) -> bool:
    """Same study and series, same planes (geometry and rescale) and the same stored values."""
    if series_key(a) != series_key(b) or vb is None or va.shape != vb.shape or not np.array_equal(va, vb):
        return False
    strip = [(frame_key(r)[1], _shape(r), r.position, e.slope, e.intercept)
             for r, e in zip(a.frames, a.extras)]
    other = [(frame_key(r)[1], _shape(r), r.position, e.slope, e.intercept)
             for r, e in zip(b.frames, b.extras)]
    return strip == other
