"""Export whole series or slice ranges of a study: images, one cine per series, or DICOM.

Used by ``workstation-batch export`` and the export dialog's series choices.  One
:class:`Deidentifier` serves the whole study, so its new UIDs match across series.
A series that cannot be loaded is listed as failed (with the reason) and the others
go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workstation.compute.backend import Backend
from workstation.compute.windowing import default_window
from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.study import FrameRef, Series, Study
from workstation.export.cine import export_cine
from workstation.export.deidentify import Deidentifier, DeidOptions
from workstation.export.dicom_export import export_dicom
from workstation.export.frames import frame_name, parse_range, volume_frames
from workstation.export.images import ExportResult, export_images
from workstation.export.options import ImageOptions
from workstation.io.errors import DicomReadError


@dataclass(frozen=True)
class SeriesExport:
    """What to write per series: ``options`` for images or a cine (``None``: DICOM),
    ``slices`` a 1-based ``A-B`` range, ``deid`` the de-identification of DICOM output
    (``None``: copied as is), ``mapping_file`` where its key goes (only if given)."""

    options: ImageOptions | None = None
    slices: str | None = None
    annotate: bool = False
    deid: DeidOptions | None = None
    mapping_file: Path | None = None

    @property
    def kind(self) -> str:
        if self.options is None:
            return "dicom"
        return "cine" if self.options.cine else "images"


def ordered_planes(series: Series) -> tuple[FrameRef, ...]:
    """The planes of ``series`` in the order :func:`workstation.io.dicom.load_series` stacks them."""
    from workstation.io.dicom_geometry import plan_series

    return plan_series(series.frames).frames


def _image_window(series_meta: dict[str, object], request: SeriesExport) -> tuple[float, float] | None:
    if request.options is not None and request.options.window is not None:
        return request.options.window
    centre, width = series_meta.get("window_center"), series_meta.get("window_width")
    if isinstance(centre, (int, float)) and isinstance(width, (int, float)) and width >= 1:
        return float(width), float(centre)
    return None


def _export_images(series: Series, planes: tuple[FrameRef, ...], indices: list[int], out: Path,
                   request: SeriesExport, backend: Backend, result: ExportResult,
                   progress: ProgressFn | None) -> None:
    from workstation.io.dicom import load_series

    assert request.options is not None
    volume = load_series(series, progress=scaled(progress, 0.0, 0.3))
    window = _image_window(dict(volume.meta), request) or default_window(volume.array, volume.modality)
    frames = volume_frames(volume, indices, series_number=series.number,
                           instance_numbers=[p.instance_number for p in planes], window=window,
                           annotate=request.annotate)
    if request.kind == "cine":
        cine = export_cine(frames, request.options, out / f"{frame_name(series.number, 'cine', len(frames))}",
                           backend, modality=volume.modality, progress=scaled(progress, 0.3, 1.0))
        result.files += cine.files
        result.notices += [n for n in cine.notices if n not in result.notices]
    else:
        export_images(frames, request.options, out, backend, modality=volume.modality,
                      progress=scaled(progress, 0.3, 1.0), result=result)


def export_study(study: Study, out: Path, request: SeriesExport, backend: Backend, *,
                 series_uids: set[str] | None = None, progress: ProgressFn | None = None) -> ExportResult:
    """Export the image series of ``study`` (those in ``series_uids`` if given) into ``out``
    and write its ``export.json``."""
    options = request.options.to_json() if request.options is not None else {
        "deidentified": request.deid is not None, "dates": None if request.deid is None else request.deid.dates}
    result = ExportResult(out, request.kind, options, backend.label if request.kind != "dicom" else "cpu")
    deidentifier = Deidentifier(request.deid) if request.deid is not None else None
    chosen = [s for s in study.series if s.frames and (series_uids is None or s.uid in series_uids)]
    for k, series in enumerate(chosen):
        step = scaled(progress, k / max(len(chosen), 1), (k + 1) / max(len(chosen), 1))
        label = frame_name(series.number, "slices", series.n_frames)
        try:
            planes = ordered_planes(series)
            indices = parse_range(request.slices, len(planes)) if request.slices else list(range(len(planes)))
            if request.kind == "dicom":
                part = export_dicom([planes[i].path for i in indices], out, deidentifier=deidentifier,
                                    progress=step)
                result.files += part.files
                result.refused += part.refused
            else:
                _export_images(series, planes, indices, out, request, backend, result, step)
        except (DicomReadError, OSError) as exc:
            result.failed.append({"series": label, "reason": str(exc)})
        report(step, 1.0, f"series {k + 1} of {len(chosen)} done")
    if deidentifier is not None and request.mapping_file is not None:
        from workstation.io.export_files import write_json

        write_json(request.mapping_file, deidentifier.mapping())
    result.write_manifest()
    return result
