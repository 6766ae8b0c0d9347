"""Pick and load the dynamic series of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from workstation.analyses.base import InputError
from workstation.compute.backend import get_backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import VolumeSeries


def time_points(series: Series) -> int:
    """Planes per position: more than 2 marks a dynamic series."""
    positions = {f.position for f in series.frames if f.position is not None}
    return len(series.frames) // max(len(positions), 1)


def dynamic_series(study: Study) -> Series:
    """The CT/MR series of ``study`` with the most time points (at least 3)."""
    candidates = [s for s in study.series if s.modality.upper() in ("CT", "MR", "") and time_points(s) >= 3]
    if not candidates:
        raise InputError("perfusion needs a dynamic CT or MR series (several time points per slice); none found")
    return max(candidates, key=lambda s: (time_points(s), s.n_frames))


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> VolumeSeries:
    """Load the study's dynamic series as a :class:`VolumeSeries`, in page-locked host
    memory when the process computes on a GPU (the upload then needs no staging copy)."""
    from workstation.io.dicom import load_time_series

    return load_time_series(dynamic_series(study), progress, allocate=get_backend().host_empty)


def example_study(folder: Path) -> None:
    """A small synthetic dynamic CT of the head (3 slices of 48 x 48, 28 time points), as DICOM."""
    from workstation.demo.perfusion import write_perfusion

    write_perfusion(folder, shape=(3, 48, 48), n_times=28)
