"""Load a series the way it is read: a volume, a dynamic (4D) series, or a stack of 2D images.

:func:`reading_kind` decides from the headers alone (no pixels):

* ``images``: projection modalities (MG, CR, DX, XA, US ...), images without a place in
  patient space (secondary captures, cine loops), and series whose planes lie in
  several orientations or sizes (localizers, scouts): each orientation becomes an image
  of its own instead of one plane kept and the rest left out;
* ``dynamic``: planes repeating at the same positions over time (perfusion, cardiac);
* ``volume``: everything else.

:func:`load_images` decodes each image through :func:`~workstation.io.dicom.load_series`
(the same hardened path, so one bad file costs that image only) and adds what the
header says about its display (:mod:`.dicom_display`) and its colour (:mod:`.dicom_colour`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from workstation.core.images import PROJECTION_MODALITIES, ImageFacts, ImageStack, StackImage
from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.study import FrameRef, Series
from workstation.core.volume import Volume
from workstation.io.dicom_colour import colour_planes, supplemental_palette
from workstation.io.dicom_display import read_facts
from workstation.io.dicom_geometry import _orientation_key, _size_key, plan_series
from workstation.io.dicom_layout import frame_key
from workstation.io.dicom_scan import EXTRAS_KEY
from workstation.io.errors import DicomReadError

KINDS = ("volume", "dynamic", "images")


def _positioned(f: FrameRef) -> bool:
    return f.position is not None and f.orientation is not None


def plane_groups(frames: list[FrameRef]) -> list[list[FrameRef]]:
    """Frames grouped by image size and orientation, in order of their first instance number."""
    groups: dict[tuple[str, str], list[FrameRef]] = {}
    for f in frames:
        groups.setdefault((_size_key(f), _orientation_key(f)), []).append(f)
    return sorted(groups.values(), key=lambda g: min(_order(f) for f in g))


def _order(f: FrameRef) -> tuple[float, float, str]:
    return (float(f.instance_number or 0), float(f.frame or 0), str(f.path))


def reading_kind(series: Series) -> str:
    """``volume``, ``dynamic`` or ``images`` (see the module notes); headers only."""
    frames = series.frames
    if not frames:
        return "volume"
    if series.modality.upper() in PROJECTION_MODALITIES or not all(_positioned(f) for f in frames):
        return "images"
    if len(plane_groups(frames)) > 1:
        return "images"
    try:
        plan = plan_series(frames)
    except ValueError:
        return "volume"
    return "dynamic" if plan.is_dynamic else "volume"


def reading_issues(series: Series) -> list[str]:
    """The series' issues as they stand for reading: planes of other orientations or sizes are
    not left out when the series reads as separate images, so those notes say so instead."""
    if reading_kind(series) != "images" or series.modality.upper() in PROJECTION_MODALITIES:
        return list(series.issues)
    mixed = [i for i in series.issues if i.startswith(("mixed orientations", "mixed image sizes"))]
    if not mixed:
        return list(series.issues)
    n = len(plane_groups(list(series.frames)))
    kept = [i for i in series.issues if i not in mixed]
    return [f"planes in {n} orientations or sizes: shown as {n} images", *kept]


def _image_groups(series: Series) -> list[list[FrameRef]]:
    """One group per file for projection images (a multi-frame file is one cine loop), else per orientation."""
    frames = list(series.frames)
    if series.modality.upper() in PROJECTION_MODALITIES or not any(_positioned(f) for f in frames):
        by_file: dict[Path, list[FrameRef]] = {}
        for f in sorted(frames, key=_order):
            by_file.setdefault(Path(f.path), []).append(f)
        return [sorted(g, key=lambda f: f.frame or 0) for g in by_file.values()]
    return plane_groups(frames)


def _ordered_frames(series: Series, volume: Volume) -> list[FrameRef]:
    """The frames of ``series`` in the plane order of ``volume`` (from its source instances)."""
    lookup = {(f.sop_instance_uid, f.frame): f for f in series.frames}
    out = []
    for entry in volume.meta.get("source_instances", ()):
        uid, _, frame = str(entry).partition("/")
        found = lookup.get((uid, int(frame) if frame else None))
        if found is not None:
            out.append(found)
    return out


def with_display(series: Series, volume: Volume, facts: Optional[ImageFacts] = None) -> Volume:
    """``volume`` with its display colour and the header facts the viewer needs in ``meta``
    (``photometric``, ``voi_lut_function``, ``supplemental_palette``)."""
    frames = _ordered_frames(series, volume)
    if facts is None:
        facts = read_facts(frames[0].path) if frames else ImageFacts()
    meta = dict(volume.meta)
    meta["photometric"] = facts.photometric
    meta["voi_lut_function"] = facts.voi_lut_function
    rgb = None
    if len(frames) == volume.shape[0]:
        rgb = colour_planes(frames, facts.photometric)
        extras = series.meta.get(EXTRAS_KEY, {}).get(frame_key(frames[0]))
        slope, intercept = (extras.slope, extras.intercept) if extras is not None else (1.0, 0.0)
        palette = supplemental_palette(frames[0].path, slope, intercept) if rgb is None else None
        if palette is not None:
            meta["supplemental_palette"] = palette.to_meta()
    return replace(volume, meta=meta, rgb=rgb)


def load_display_volume(series: Series, progress: Optional[ProgressFn] = None) -> Volume:
    """:func:`~workstation.io.dicom.load_series` plus the display colour and facts."""
    from workstation.io.dicom import load_series

    volume = load_series(series, progress=scaled(progress, 0.0, 0.95))
    return with_display(series, volume)


def load_images(series: Series, progress: Optional[ProgressFn] = None) -> ImageStack:
    """The images of ``series`` as a stack; an image that cannot be read is left out and named.

    Raises
    ------
    DicomReadError
        When no image of the series can be read.
    """
    from workstation.io.dicom import load_series

    groups = _image_groups(series)
    images: list[StackImage] = []
    issues: list[str] = []
    failures: list[DicomReadError] = []
    for k, group in enumerate(groups):
        part = replace(series, frames=list(group), issues=[])
        try:
            volume = load_series(part, progress=scaled(progress, k / len(groups), (k + 0.9) / len(groups)))
            facts = read_facts(group[0].path)
            images.append(StackImage(with_display(part, volume, facts), facts))
        except DicomReadError as exc:
            failures.append(exc)
            issues.append(f"{exc.path.name}: {exc.reason}")
        report(progress, (k + 1) / len(groups), f"Image {k + 1} of {len(groups)}")
    if not images:
        raise failures[0] if failures else DicomReadError(Path(series.uid), "series holds no image planes")
    if len(groups) > 1 and series.modality.upper() not in PROJECTION_MODALITIES:
        issues.insert(0, f"planes in {len(groups)} orientations or sizes: shown as {len(groups)} images")
    return ImageStack(tuple(images), series_uid=series.uid, modality=series.modality, issues=tuple(issues))
