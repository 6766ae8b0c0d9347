"""Find DICOM files under paths and group them into patients, studies and series.

Only headers are read.  Every file ends up in exactly one place: a series (images),
``ScanResult.other`` (SR, RTSTRUCT, RTPLAN, SEG...) or ``ScanResult.problems`` (not
DICOM, corrupt, truncated, an image without pixel data); a DICOMDIR is followed to
the files it references.  The records of non-image objects (and of RT Dose grids, which
are also image series) are filed under their study (``Study.objects``,
:mod:`workstation.io.objects`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Union

from workstation.core.progress import ProgressFn, report
from workstation.core.study import LoadProblem, Patient, Series, Study
from workstation.io.dicom_duplicates import resolve, series_key
from workstation.io.dicom_geometry import plan_series
from workstation.io.dicom_header import DirectoryFile, Header, ImageHeader, OtherObject, read_header
from workstation.io.dicom_layout import frame_key
from workstation.io.errors import DicomReadError
from workstation.io.objects import FoundObject, attach_objects, read_object

log = logging.getLogger(__name__)
PathLike = Union[str, Path]
EXTRAS_KEY = "_frame_extras"
#: The start of the reason given for a file whose reading failed in a way no check
#: foresaw (the fault is logged with its traceback); the fuzz tests look for it.
UNEXPECTED = "could not be read (unexpected"


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

    Raises
    ------
    Cancelled
        Only when ``progress`` raises it.  A bad file never makes the scan raise: it
        becomes a problem of the result, with its reason.
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
        header = _read(path, result)
        if header is not None:
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


def _read(path: Path, result: ScanResult) -> Optional[Header]:
    """The header of ``path``, or None with the reason added to ``result.problems``."""
    try:
        return read_header(path)
    except DicomReadError as exc:
        result.problems.append(LoadProblem(path, exc.reason))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one file never costs the folder
        log.warning("unexpected fault reading a DICOM header", exc_info=True)
        result.problems.append(LoadProblem(path, f"{UNEXPECTED} {type(exc).__name__})"))
    return None


def _add_object(path: Path, found: list[FoundObject], problems: list[LoadProblem], prefix: str) -> bool:
    """Read the record of a non-image object (or RT Dose); a fault becomes a problem."""
    try:
        found.append(read_object(path))
    except DicomReadError as exc:
        problems.append(LoadProblem(path, prefix + exc.reason))
        return False
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one file never costs the folder
        log.warning("unexpected fault reading a DICOM object", exc_info=True)
        problems.append(LoadProblem(path, f"{prefix}{UNEXPECTED} {type(exc).__name__})"))
        return False
    return True


def _group(headers: list[ImageHeader], result: ScanResult) -> None:
    patients: dict[str, Patient] = {}
    studies: dict[str, Study] = {}
    series: dict[tuple[str, str], Series] = {}
    chosen = resolve(headers)
    result.problems.extend(chosen.problems)
    for h in chosen.kept:
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
        key = series_key(h)
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
            s.frames.append(ref)
            s.meta[EXTRAS_KEY][frame_key(ref)] = extra
    for key, s in series.items():
        hint = s.meta.get("spacing_between_slices") or s.meta.get("slice_thickness")
        s.issues = list(plan_series(s.frames, slice_spacing_hint=hint).issues) + chosen.issues.get(key, [])
        s.frames.sort(key=lambda f: (f.instance_number is None, f.instance_number or 0, str(f.path), f.frame or 0))
    result.studies = list(studies.values())
    result.patients = list(patients.values())
