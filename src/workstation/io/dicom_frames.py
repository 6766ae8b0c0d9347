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
from workstation.io.dicom_values import as_float, as_floats, as_int, dt_seconds, first_text, tm_seconds, value


def _item(ds: Optional[Dataset], keyword: str) -> Optional[Dataset]:
    if ds is None:
        return None
    seq = ds.get(keyword)
    return seq[0] if seq else None


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
        value = parse(ds.get(keyword))
        if value is not None:
            return value
    return None


def _rescale_of(ds: Optional[Dataset], modality: str) -> tuple[Optional[float], Optional[float]]:
    if ds is None:
        return None, None
    slope = as_float(value(ds, "RescaleSlope"))
    intercept = as_float(value(ds, "RescaleIntercept"))
    if slope is None and modality == "RTDOSE":
        slope = as_float(value(ds, "DoseGridScaling"))
    return slope, intercept


def _window_of(ds: Optional[Dataset]) -> Optional[tuple[float, float]]:
    if ds is None:
        return None
    center, width = as_float(value(ds, "WindowCenter")), as_float(value(ds, "WindowWidth"))
    return None if center is None or width is None else (center, width)


def _grid_offsets(ds: Dataset, n_frames: int) -> Optional[np.ndarray]:
    offsets = value(ds, "GridFrameOffsetVector")
    values = as_floats(offsets, n_frames) if offsets is not None else None
    if values is None:
        return None
    # Relative form: the first offset is 0.  Absolute form: offsets are the frames' z
    # (the first equal to ImagePositionPatient's); both become offsets from the first frame.
    return np.asarray(values) - values[0]


def frame_records(path: Path, ds: Dataset, layout: PixelLayout) -> list[tuple[FrameRef, FrameExtra]]:
    """Every plane of ``ds`` (read from ``path``) with its geometry, time and rescale."""
    n = layout.n_frames
    modality = first_text(value(ds, "Modality"))
    groups = _Groups(ds, n)
    sop_uid = first_text(value(ds, "SOPInstanceUID"))
    instance = as_int(value(ds, "InstanceNumber"))
    multi = "NumberOfFrames" in ds
    base_pos = as_floats(value(ds, "ImagePositionPatient"), 3)
    base_ori = as_floats(value(ds, "ImageOrientationPatient"), 6)
    base_spacing = as_floats(value(ds, "PixelSpacing"), 2) or as_floats(value(ds, "ImagerPixelSpacing"), 2)
    base_thickness = as_float(value(ds, "SliceThickness"))
    base_time = _time_of(ds)
    base_trigger = as_float(value(ds, "TriggerTime"))
    base_temporal = as_int(value(ds, "TemporalPositionIdentifier")) or as_int(value(ds, "TemporalPositionIndex"))
    base_slope, base_intercept = _rescale_of(ds, modality)
    base_window = _window_of(ds)
    offsets = _grid_offsets(ds, n) if multi and base_pos and base_ori else None
    out: list[tuple[FrameRef, FrameExtra]] = []
    for i in range(n):
        position = _position(groups, i, base_pos, base_ori, offsets)
        orientation = _get(groups, i, "PlaneOrientationSequence", "ImageOrientationPatient", 6) or base_ori
        measures = groups.get(i, "PixelMeasuresSequence")
        spacing = (as_floats(value(measures, "PixelSpacing"), 2) if measures else None) or base_spacing
        thickness = (as_float(value(measures, "SliceThickness")) if measures else None) or base_thickness
        content = groups.get(i, "FrameContentSequence")
        time_s, temporal = base_time, base_temporal
        if content is not None:
            time_s = (
                dt_seconds(value(content, "FrameReferenceDateTime"))
                or dt_seconds(value(content, "FrameAcquisitionDateTime"))
                or time_s
            )
            temporal = as_int(value(content, "TemporalPositionIndex")) or temporal
        cardiac = groups.get(i, "CardiacSynchronizationSequence")
        trigger = as_float(value(cardiac, "NominalCardiacTriggerDelayTime")) if cardiac else base_trigger
        slope, intercept = _rescale_of(groups.get(i, "PixelValueTransformationSequence"), modality)
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
        )
        extra = FrameExtra(
            layout=layout,
            slope=slope if slope is not None else (base_slope if base_slope is not None else 1.0),
            intercept=intercept if intercept is not None else (base_intercept or 0.0),
            window=window,
            trigger_time_s=None if trigger is None else trigger / 1000.0,
        )
        out.append((ref, extra))
    return out


def _get(groups: _Groups, index: int, macro: str, keyword: str, n: int) -> Optional[tuple[float, ...]]:
    item = groups.get(index, macro)
    return as_floats(item.get(keyword), n) if item is not None else None


def _position(
    groups: _Groups,
    index: int,
    base_pos: Optional[tuple[float, ...]],
    base_ori: Optional[tuple[float, ...]],
    offsets: Optional[np.ndarray],
) -> Any:
    found = _get(groups, index, "PlanePositionSequence", "ImagePositionPatient", 3)
    if found is not None:
        return found
    if offsets is not None and base_pos is not None and base_ori is not None:
        row, col = np.asarray(base_ori[:3]), np.asarray(base_ori[3:])
        normal = np.cross(row, col)
        return tuple(float(v) for v in np.asarray(base_pos) + offsets[index] * normal)
    # One position for many frames (cine, NM) places no frame: order by frame number.
    return base_pos if groups.n_frames == 1 else None
