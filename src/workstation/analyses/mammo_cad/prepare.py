"""Pick the mammograms of a study (its MG series) and read them as an exam."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from workstation.analyses.base import InputError
from workstation.analyses.mammo_cad.loader import MammoExam, load_exam
from workstation.core.progress import ProgressFn
from workstation.core.study import Study


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> MammoExam:
    """The mammograms of ``study`` (its MG series), as :func:`load_exam` reads them."""
    paths = [f.path for s in study.series if s.modality == "MG" for f in s.frames]
    if not paths:
        raise InputError(f"study {study.uid} has no MG series")
    return load_exam(sorted(set(paths)), progress)


def example_study(folder: Path) -> None:
    """A small synthetic four-view screening mammogram (512 x 416 per view) with known findings, as DICOM."""
    from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, write_mammo

    write_mammo(folder, DEMO_SEED, shape=(512, 416), findings=DEMO_FINDINGS)
