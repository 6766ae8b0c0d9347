"""One record per image plane of a file: single-frame, enhanced or legacy multi-frame.

Enhanced objects (Enhanced CT/MR/PET...) carry per-plane geometry, timing and rescale
in the Per-frame Functional Groups, with defaults in the Shared Functional Groups.
Legacy multi-frame objects (RT Dose, NM, old US) give one position and, for RT Dose,
a Grid Frame Offset Vector along the slice normal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from pydicom.dataset import Dataset

from workstation.core.study import FrameRef
from workstation.io.dicom_layout import FrameExtra, PixelLayout
from workstation.io.dicom_values import as_float, as_floats, as_int, dt_seconds, first_text, optional, tm_seconds, value
from workstation.io.errors import DicomReadError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def _item(ds: Optional[Dataset], keyword: str) -> Optional[Dataset]:
    seq = optional(ds, keyword)
    if not seq or not isinstance(seq[0], Dataset):
        return None
    return seq[0]


def n_frames_of(path: Path, ds: Dataset) -> int:
    """NumberOfFrames (1 when absent); any other value than a positive integer is a fault."""
    raw = value(ds, "NumberOfFrames")
    if raw is None or raw == "":
        return 1
    number = as_float(raw)
    if number is None or number < 1 or number != int(number):
        raise DicomReadError(path, f"NumberOfFrames {first_text(raw)!r} is not a positive integer")
    return int(number)


class _Groups:
    """Look-up of a functional group macro for one frame: per-frame first, then shared."""

    def __init__(self, ds: Dataset, n_frames: int) -> None:
        self.n_frames = n_frames
        self.shared = _item(ds, "SharedFunctionalGroupsSequence")
        per_frame = value(ds, "PerFrameFunctionalGroupsSequence")
        self.per_frame = per_frame if per_frame is not None and len(per_frame) == n_frames else None

    def get(self, index: int, macro: str) -> Optional[Dataset]:
        if self.per_frame is not None:
            found = _item(self.per_frame[index], macro)
            if found is not None:
                return found
        return _item(self.shared, macro)


def _time_of(ds: Dataset) -> Optional[float]:
    """Acquisition time (s since midnight) of a single-frame header, best source first."""
    for keyword, parse in (
        ("AcquisitionDateTime", dt_seconds),
        ("AcquisitionTime", tm_seconds),
        ("ContentTime", tm_seconds),
    ):
        found = parse(optional(ds, keyword))
        if found is not None:
            return found
    return None


def _number(path: Path, ds: Dataset, keyword: str) -> Optional[float]:
    """A finite number, None when absent; present but unusable (NaN, text) is a fault."""
    raw = value(ds, keyword)
    if raw is None or raw == "" or raw == []:
        return None
    number = as_float(raw)
    if number is None:
        raise DicomReadError(path, f"{keyword} {first_text(raw)!r} is not a finite number")
    return number


def _numbers(path: Path, ds: Optional[Dataset], keyword: str, n: int) -> Optional[tuple[float, ...]]:
    """Exactly ``n`` finite numbers, None when absent; present but malformed is a fault."""
    raw = optional(ds, keyword) if ds is not None else None
    if raw is None or raw == "" or raw == []:
        return None
    numbers = as_floats(raw, n)
    if numbers is None:
        raise DicomReadError(path, f"{keyword} is not {n} finite numbers")
    return numbers


def _rescale_of(path: Path, ds: Optional[Dataset], modality: str) -> tuple[Optional[float], Optional[float]]:
    if ds is None:
        return None, None
    slope = _number(path, ds, "RescaleSlope")
    intercept = _number(path, ds, "RescaleIntercept")
    if slope is None and modality == "RTDOSE":
        slope = _number(path, ds, "DoseGridScaling")
    return slope, intercept


def _check_rescale(path: Path, layout: PixelLayout, slope: float, intercept: float) -> None:
    """Stored values times ``slope`` plus ``intercept`` must be finite float32 numbers."""
    if slope == 0:
        raise DicomReadError(path, "RescaleSlope 0 would make every value equal")
    bits = layout.bits_stored
    lo, hi = (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1)) if layout.pixel_representation else (0.0, 2.0 ** bits)
    if max(abs(lo * slope + intercept), abs(hi * slope + intercept)) > FLOAT32_MAX:
        raise DicomReadError(
            path, f"RescaleSlope {slope:g} and RescaleIntercept {intercept:g} give values beyond the float32 range")


def _window_of(ds: Optional[Dataset]) -> Optional[tuple[float, float]]:
    if ds is None:
        return None
    center, width = as_float(optional(ds, "WindowCenter")), as_float(optional(ds, "WindowWidth"))
    if center is None or width is None or width <= 0 or max(abs(center), width) > FLOAT32_MAX:
        return None
    return center, width


def _grid_offsets(ds: Dataset, n_frames: int) -> Optional[np.ndarray]:
    offsets = optional(ds, "GridFrameOffsetVector")
    values = as_floats(offsets, n_frames) if offsets is not None else None
    if values is None:
        return None
    # Relative form: the first offset is 0.  Absolute form: offsets are the frames' z
    # (the first equal to ImagePositionPatient's); both become offsets from the first frame.
    return np.asarray(values) - values[0]


def frame_records(path: Path, ds: Dataset, layout: PixelLayout) -> list[tuple[FrameRef, FrameExtra]]:
    """Every plane of ``ds`` (read from ``path``) with its geometry, time and rescale."""
    n = layout.n_frames
    modality = first_text(optional(ds, "Modality"))
    groups = _Groups(ds, n)
    sop_uid = first_text(optional(ds, "SOPInstanceUID"))
    instance = as_int(optional(ds, "InstanceNumber"))
    multi = "NumberOfFrames" in ds
    base_pos = _numbers(path, ds, "ImagePositionPatient", 3)
    base_ori = _numbers(path, ds, "ImageOrientationPatient", 6)
    base_spacing = as_floats(optional(ds, "PixelSpacing"), 2) or as_floats(optional(ds, "ImagerPixelSpacing"), 2)
    base_thickness = as_float(optional(ds, "SliceThickness"))
    base_time = _time_of(ds)
    base_trigger = as_float(optional(ds, "TriggerTime"))
    base_temporal = as_int(optional(ds, "TemporalPositionIdentifier")) or as_int(optional(ds, "TemporalPositionIndex"))
    base_slope, base_intercept = _rescale_of(path, ds, modality)
    base_window = _window_of(ds)
    offsets = _grid_offsets(ds, n) if multi and base_pos and base_ori else None
    out: list[tuple[FrameRef, FrameExtra]] = []
    checked: tuple[float, float] = (1.0, 0.0)
    for i in range(n):
        position = _position(path, groups, i, base_pos, base_ori, offsets)
        orientation = _get(path, groups, i, "PlaneOrientationSequence", "ImageOrientationPatient", 6) or base_ori
        measures = groups.get(i, "PixelMeasuresSequence")
        spacing = (as_floats(optional(measures, "PixelSpacing"), 2) if measures else None) or base_spacing
        thickness = (as_float(optional(measures, "SliceThickness")) if measures else None) or base_thickness
        content = groups.get(i, "FrameContentSequence")
        time_s, temporal = base_time, base_temporal
        if content is not None:
            time_s = (
                dt_seconds(optional(content, "FrameReferenceDateTime"))
                or dt_seconds(optional(content, "FrameAcquisitionDateTime"))
                or time_s
            )
            temporal = as_int(optional(content, "TemporalPositionIndex")) or temporal
        cardiac = groups.get(i, "CardiacSynchronizationSequence")
        trigger = as_float(optional(cardiac, "NominalCardiacTriggerDelayTime")) if cardiac else base_trigger
        slope, intercept = _rescale_of(path, groups.get(i, "PixelValueTransformationSequence"), modality)
        slope = slope if slope is not None else (base_slope if base_slope is not None else 1.0)
        intercept = intercept if intercept is not None else (base_intercept or 0.0)
        if (slope, intercept) != checked:
            _check_rescale(path, layout, slope, intercept)
            checked = (slope, intercept)
        window = _window_of(groups.get(i, "FrameVOILUTSequence")) or base_window
        ref = FrameRef(
            path=path,
            sop_instance_uid=sop_uid,
            frame=i if multi else None,
            position=position,
            orientation=orientation,  # type: ignore[arg-type]
            rows=layout.rows,
            columns=layout.columns,
            pixel_spacing=spacing,  # type: ignore[arg-type]
            slice_thickness=thickness,
            instance_number=instance,
            time_s=time_s,
            temporal_index=temporal,
            trigger_time_s=None if trigger is None else trigger / 1000.0,
        )
        extra = FrameExtra(
            layout=layout,
            slope=slope,
            intercept=intercept,
            window=window,
            trigger_time_s=None if trigger is None else trigger / 1000.0,
        )
        out.append((ref, extra))
    return out


def _get(path: Path, groups: _Groups, index: int, macro: str, keyword: str, n: int) -> Optional[tuple[float, ...]]:
    return _numbers(path, groups.get(index, macro), keyword, n)


def _position(
    path: Path,
    groups: _Groups,
    index: int,
    base_pos: Optional[tuple[float, ...]],
    base_ori: Optional[tuple[float, ...]],
    offsets: Optional[np.ndarray],
) -> Any:
    found = _get(path, groups, index, "PlanePositionSequence", "ImagePositionPatient", 3)
    if found is not None:
        return found
    if offsets is not None and base_pos is not None and base_ori is not None:
        row, col = np.asarray(base_ori[:3]), np.asarray(base_ori[3:])
        normal = np.cross(row, col)
        return tuple(float(v) for v in np.asarray(base_pos) + offsets[index] * normal)
    # One position for many frames (cine, NM) places no frame: order by frame number.
    return base_pos if groups.n_frames == 1 else None
