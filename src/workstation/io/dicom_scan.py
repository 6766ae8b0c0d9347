"""Find DICOM files under paths and group them into patients, studies and series.

Only headers are read.  Every file ends up in exactly one place: a series (images),
``ScanResult.other`` (SR, RTSTRUCT, RTPLAN, SEG...) or ``ScanResult.problems`` (not
DICOM, corrupt, truncated, an image without pixel data); a DICOMDIR is followed to
the files it references.  The records of non-image objects (and of RT Dose grids, which
are also image series) are filed under their study (``Study.objects``,
:mod:`workstation.io.objects`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Union

from workstation.core.progress import ProgressFn, report
from workstation.core.study import LoadProblem, Patient, Series, Study
from workstation.io.dicom_geometry import plan_series
from workstation.io.dicom_header import DirectoryFile, ImageHeader, OtherObject, read_header
from workstation.io.dicom_layout import frame_key
from workstation.io.errors import DicomReadError
from workstation.io.objects import FoundObject, attach_objects, read_object

PathLike = Union[str, Path]
EXTRAS_KEY = "_frame_extras"


@dataclass
class ScanResult:
    """What a scan found: image studies, other DICOM objects and unreadable files."""

    patients: list[Patient] = field(default_factory=list)
    studies: list[Study] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    other: list[OtherObject] = field(default_factory=list)

    @property
    def series(self) -> list[Series]:
        """Every image series of every study."""
        return [s for study in self.studies for s in study.series]


def _walk(paths: Iterable[PathLike]) -> tuple[list[Path], list[LoadProblem]]:
    files: list[Path] = []
    problems: list[LoadProblem] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            # Hidden files and folders (markers, OS metadata) are never DICOM data.
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(LoadProblem(path, "no such file or folder"))
    return files, problems


def scan(paths: Union[PathLike, Iterable[PathLike]], progress: Optional[ProgressFn] = None) -> ScanResult:
    """Read the headers of every file under ``paths`` and group the images.

    Parameters
    ----------
    paths
        Files and folders (searched recursively); file names need no suffix.
    progress
        ``progress(fraction, message)``; raising ``Cancelled`` from it stops the scan.

    Returns
    -------
    ScanResult
        Patients (by PatientID), studies and series with their planes and geometry
        issues; other DICOM objects; a problem per file that could not be used.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files, problems = _walk(paths)
    seen = {os.path.realpath(f) for f in files}
    headers: list[ImageHeader] = []
    objects: list[FoundObject] = []
    result = ScanResult(problems=problems)
    report(progress, 0.0, "Reading DICOM headers")
    i = 0
    while i < len(files):
        path = files[i]
        i += 1
        try:
            header = read_header(path)
        except DicomReadError as exc:
            result.problems.append(LoadProblem(path, exc.reason))
        else:
            if isinstance(header, DirectoryFile):
                for ref in header.referenced:
                    real = os.path.realpath(ref)
                    if real not in seen:
                        seen.add(real)
                        files.append(ref)
            elif isinstance(header, OtherObject):
                if _add_object(path, objects, result.problems, ""):
                    result.other.append(header)
            else:
                headers.append(header)
                if header.modality == "RTDOSE":
                    _add_object(path, objects, result.problems, "as an RT Dose: ")
        report(progress, 0.95 * i / len(files), f"Reading DICOM headers ({i} of {len(files)})")
    _group(headers, result)
    attach_objects(objects, result.studies, result.patients)
    report(progress, 1.0, f"Found {len(result.series)} series in {len(result.studies)} studies")
    return result


def _add_object(path: Path, found: list[FoundObject], problems: list[LoadProblem], prefix: str) -> bool:
    """Read the record of a non-image object (or RT Dose); a fault becomes a problem."""
    try:
        found.append(read_object(path))
    except DicomReadError as exc:
        problems.append(LoadProblem(path, prefix + exc.reason))
        return False
    return True


def _group(headers: list[ImageHeader], result: ScanResult) -> None:
    patients: dict[str, Patient] = {}
    studies: dict[str, Study] = {}
    series: dict[tuple[str, str], Series] = {}
    seen_frames: set[tuple[str, Optional[int]]] = set()
    for h in headers:
        study = studies.get(h.study_uid)
        if study is None:
            study = Study(
                uid=h.study_uid,
                patient_id=h.patient_id,
                patient_name=h.patient_name,
                patient_birth_date=h.patient_birth_date,
                patient_sex=h.patient_sex,
                patient_age_years=h.patient_age_years,
                study_date=h.study_date,
                description=h.study_description,
                accession_number=h.accession_number,
            )
            studies[h.study_uid] = study
            patient = patients.setdefault(h.patient_id, Patient(patient_id=h.patient_id, name=h.patient_name))
            patient.studies.append(study)
        key = (h.study_uid, h.series_uid)
        s = series.get(key)
        if s is None:
            s = Series(
                uid=h.series_uid,
                study_uid=h.study_uid,
                modality=h.modality,
                number=h.series_number,
                description=h.series_description,
                meta={**h.series_meta, EXTRAS_KEY: {}},
            )
            series[key] = s
            study.series.append(s)
        for ref, extra in zip(h.frames, h.extras):
            ident = (ref.sop_instance_uid or str(ref.path), ref.frame)
            if ident in seen_frames:
                result.problems.append(LoadProblem(ref.path, "duplicate of an instance already found"))
                break
            seen_frames.add(ident)
            s.frames.append(ref)
            s.meta[EXTRAS_KEY][frame_key(ref)] = extra
    for s in series.values():
        hint = s.meta.get("spacing_between_slices") or s.meta.get("slice_thickness")
        s.issues = list(plan_series(s.frames, slice_spacing_hint=hint).issues)
        s.frames.sort(key=lambda f: (f.instance_number is None, f.instance_number or 0, str(f.path), f.frame or 0))
    result.studies = list(studies.values())
    result.patients = list(patients.values())
