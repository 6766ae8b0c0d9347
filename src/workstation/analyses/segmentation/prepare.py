"""Pick and load the CT series of a study to segment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.base import InputError
from workstation.analyses.inputs import source_files, source_instances
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import Volume


@dataclass(frozen=True)
class SegmentationInput:
    """A CT volume and, when it came from DICOM, its series (for DICOM SEG export)."""

    volume: Volume
    series: Optional[Series] = None

    @property
    def source_files(self) -> tuple[Path, ...]:
        files = source_files(self.volume)
        if not files and self.series is not None:
            files = tuple(dict.fromkeys(f.path for f in self.series.frames))
        return files

    @property
    def source_instances(self) -> tuple[str, ...]:
        found = source_instances(self.volume)
        if not found and self.series is not None:
            found = tuple(f.sop_instance_uid for f in self.series.frames)
        return found

    @property
    def pixel_arrays(self) -> tuple[Any, ...]:
        return (self.volume.array,)


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


def example_study(folder: Path) -> None:
    """A small synthetic chest CT (the demo phantom at 128 x 128, 2.8 mm pixels), as DICOM."""
    from workstation.demo.chest_ct import write_chest_ct

    write_chest_ct(folder, seed=0, n_slices=30, size=128, pixel_mm=2.8)
