"""Pick and load the CT series of a study to score, with the patient facts the percentile needs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.base import InputError
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import Volume


def _score_series_choice(series: Series) -> tuple[int, float, int]:
    thickness = series.meta.get("slice_thickness")
    near_3mm = -abs(float(thickness) - 3.0) if thickness is not None else -99.0
    return (1 if series.modality.upper() == "CT" else 0, near_3mm, series.n_frames)


def pick_series(study: Study) -> Series:
    """The CT series best suited for calcium scoring (closest to 3 mm, then most slices)."""
    ct = [s for s in study.series if s.modality.upper() == "CT" and s.n_frames > 1]
    if not ct:
        raise InputError(f"study {study.uid} holds no multi-slice CT series for calcium scoring")
    return max(ct, key=_score_series_choice)


def with_study_facts(volume: Volume, study: Optional[Study]) -> Volume:
    """``volume`` with the patient ID, age, sex and study date of ``study`` in its meta.

    What the header left out stays unknown (``None``), never an error.
    """
    if study is None:
        return volume
    meta: dict[str, Any] = dict(volume.meta)
    if not meta.get("patient_id"):
        meta["patient_id"] = study.patient_id
    if meta.get("patient_age_years") is None and study.patient_age_years is not None:
        meta["patient_age_years"] = study.patient_age_years
    if not meta.get("patient_sex") and study.patient_sex:
        meta["patient_sex"] = study.patient_sex
    if not meta.get("study_date") and study.study_date is not None:
        meta["study_date"] = study.study_date.isoformat()
    if not meta.get("study_uid"):
        meta["study_uid"] = study.uid
    return replace(volume, meta=meta)


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> Volume:
    """Load the CT series of ``study`` to score, with patient facts in ``meta``."""
    from workstation.io.dicom import load_series

    return with_study_facts(load_series(pick_series(study), progress), study)


def example_study(folder: Path) -> None:
    """A small synthetic chest CT with coronary calcium (the demo phantom at 2.8 mm pixels), as DICOM."""
    from workstation.demo.chest_ct import write_chest_ct

    write_chest_ct(folder, seed=0, n_slices=24, size=128, pixel_mm=2.8)
