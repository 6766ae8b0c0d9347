"""Organ segmentation of CT with an ONNX model from the model registry.

Decision support only, not for clinical use: the bundled model was trained on
synthetic chest phantoms.  Users can add their own models (see docs/models.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.base import Analysis, InputError
from workstation.analyses.segmentation.logic import (SegmentationInput, SegmentationParams, SegmentationResult,
                                                     run)
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study

log = logging.getLogger(__name__)


def pick_series(study: Study) -> Series:
    """The CT series with the most image planes (raises :class:`InputError` when none)."""
    cts = [s for s in study.series if s.modality.upper() == "CT" and s.n_frames >= 2]
    if not cts:
        raise InputError(f"study {study.uid} holds no CT series of two or more slices to segment")
    return max(cts, key=lambda s: s.n_frames)


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> SegmentationInput:
    """Load the study's main CT series."""
    from workstation.io.dicom import load_series

    series = pick_series(study)
    return SegmentationInput(volume=load_series(series, progress), series=series)


def write_artifacts(result: SegmentationResult, data: Any, out_dir: Path) -> list[Path]:
    """``labels.nii.gz`` always; ``seg.dcm`` (DICOM SEG) when the source DICOM files are known."""
    from workstation.analyses.segmentation.export import write_dicom_seg, write_nifti

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    volume = data.volume if isinstance(data, SegmentationInput) else data
    written = [write_nifti(result.labels, volume, out_dir / "labels.nii.gz")]
    series = data.series if isinstance(data, SegmentationInput) else None
    if series is not None and series.frames:
        if any(f.frame is not None for f in series.frames):
            log.warning("DICOM SEG export skipped: multi-frame source images are not supported")
        else:
            paths = sorted({f.path for f in series.frames})
            written.append(write_dicom_seg(result.labels, volume, paths, result.names, out_dir / "seg.dcm",
                                           model=result.model, version=result.version))
    return written


ANALYSIS = Analysis(
    name="segmentation",
    title="Organ segmentation",
    params_type=SegmentationParams,
    run=run,
    prepare=prepare,
    write_artifacts=write_artifacts,
    panel="workstation.analyses.segmentation.panel:SegmentationPanel",
    description="Segments body, lungs, heart, aorta and bone on chest CT with an ONNX model and reports "
                "volumes and mean HU (synthetic-data model, not for clinical use).",
)
