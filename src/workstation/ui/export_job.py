"""The job an :class:`~workstation.ui.export_dialog.ExportDialog` submits.

What is on screen (the current view, the MPR planes, the 3D render) is captured when
the user presses Export; slice ranges, series and cines are read in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workstation.core.progress import ProgressFn
from workstation.export.cine import export_cine
from workstation.export.deidentify import DeidOptions
from workstation.export.frames import frame_name
from workstation.export.images import ExportResult, export_images
from workstation.export.series import SeriesExport, export_study, ordered_planes
from workstation.ui.export_sources import (
    mpr_frames,
    range_frames,
    snapshot_frame,
    view_frame,
)

if TYPE_CHECKING:
    from workstation.ui.export_dialog import ExportDialog

Work = Callable[[Any, ProgressFn], ExportResult]


def build_work(dialog: ExportDialog) -> Work:
    """The job function for the dialog's current choices (raises ``ValueError`` when they
    cannot be exported)."""
    context, area, kind = dialog.context, dialog.area, dialog.kind
    if context.volume is None:
        raise ValueError("nothing is loaded")
    folder = Path(dialog.folder.text()).expanduser()
    fmt = str(dialog.format.currentData())
    annotate, overlays = dialog.annotations.isChecked(), dialog.overlays.isChecked()
    modality = context.volume.modality
    if fmt == "dicom":
        if context.study is None or context.series is None:
            raise ValueError("the series has no DICOM files to export")
        slices = f"{dialog.first.value()}-{dialog.last.value()}" if kind == "range" else None
        request = SeriesExport(slices=slices, deid=DeidOptions() if dialog.anonymize.isChecked() else None)
        study, uid = context.study, context.series.uid
        return lambda backend, progress: export_study(study, folder, request, backend, series_uids={uid},
                                                      progress=progress)
    options = dialog.options()
    if kind in ("view", "mpr", "snapshot"):
        if kind == "view":
            frames = [view_frame(area.axial, context, annotations=annotate, overlays=overlays)]
        elif kind == "mpr":
            frames = mpr_frames(area, context, annotations=annotate, overlays=overlays)
        else:
            frames = [snapshot_frame(area, context)]
        return lambda backend, progress: _images(frames, options, folder, backend, modality, progress)
    series = context.series
    count = context.volume.shape[0]
    first, last = (1, count) if kind == "series" else (dialog.first.value(), dialog.last.value())
    if first > last:
        raise ValueError(f"the slice range {first}-{last} is empty")
    indices = list(range(first - 1, last))

    def work(backend: Any, progress: ProgressFn) -> ExportResult:
        numbers = None
        if series is not None and len(series.frames) >= count:
            planes = ordered_planes(series)
            numbers = [p.instance_number for p in planes] if len(planes) == count else None
        frames = range_frames(area, context, indices, annotations=annotate, overlays=overlays,
                              instance_numbers=numbers)
        if kind == "cine":
            number = series.number if series is not None else None
            result = export_cine(frames, options, folder / frame_name(number, "cine", len(frames)), backend,
                                 modality=modality, progress=progress)
            result.write_manifest()
            return result
        return _images(frames, options, folder, backend, modality, progress)

    return work


def _images(frames: list[Any], options: Any, folder: Path, backend: Any, modality: str,
            progress: ProgressFn) -> ExportResult:
    result = export_images(frames, options, folder, backend, modality=modality, progress=progress)
    result.write_manifest()
    return result
