"""Pick and load the CT angiogram of a study: the thinnest multi-slice CT series."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.base import InputError
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import Volume

#: A CTA series has at least this many slices.
MIN_SLICES = 16


def _choice(series: Series) -> tuple[float, int]:
    thickness = series.meta.get("slice_thickness")
    return (-float(thickness) if thickness is not None else -99.0, series.n_frames)


def pick_series(study: Study) -> Series:
    """The CT series best suited to coronary CTA: the thinnest slices, then the most of them."""
    ct = [s for s in study.series if s.modality.upper() == "CT" and s.n_frames >= MIN_SLICES]
    if not ct:
        raise InputError(f"study {study.uid} holds no CT series of {MIN_SLICES} or more slices for coronary CTA")
    return max(ct, key=_choice)


def with_study(volume: Volume, study: Optional[Study]) -> Volume:
    """``volume`` with the study's UID and patient ID in its meta (what the header lacks stays unknown)."""
    if study is None:
        return volume
    meta: dict[str, Any] = dict(volume.meta)
    meta.setdefault("study_uid", study.uid)
    if not meta.get("patient_id"):
        meta["patient_id"] = study.patient_id
    return replace(volume, meta=meta)


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> Volume:
    """Load the CTA series of ``study``."""
    from workstation.io.dicom import load_series

    return with_study(load_series(pick_series(study), progress), study)


def example_study(folder: Path) -> None:
    """A small synthetic coronary CTA (the demo phantom on a coarser grid: 1 mm voxels), as DICOM."""
    from workstation.demo.coronary_cta import write_coronary_cta

    write_coronary_cta(folder, seed=0, size=150, pixel_mm=1.0, n_slices=100, slice_mm=1.0)
