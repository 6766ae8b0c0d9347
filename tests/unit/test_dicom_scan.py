"""scan(): finding files, grouping, DICOMDIR, problems, other objects, progress."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pydicom
import pytest

import dicom_cases as cases
from workstation.core.progress import Cancelled
from workstation.io.dicom import scan

DIRTESTS = Path(cases.data_file("CT_small.dcm")).parent / "dicomdirtests"


def _by_name(problems: list) -> dict[str, str]:
    return {p.path.name: p.reason for p in problems}


def test_scan_groups_written_series_recursively_without_suffix(tmp_path: Path) -> None:
    vol = cases.volume()
    cases.write(vol, tmp_path / "a" / "b", suffix="", series_number=3, series_description="axial")
    result = scan(tmp_path)
    assert result.problems == []
    assert len(result.patients) == 1 and len(result.studies) == 1
    (series,) = result.series
    assert series.n_frames == vol.shape[0]
    assert (series.number, series.modality, series.description) == (3, "CT", "axial")
    assert series.issues == []
    study = result.studies[0]
    assert study.patient_sex == "F"
    assert study.patient_age_years == pytest.approx(61.0)
    assert study.study_date == date(2024, 1, 31)


def test_age_from_birth_date_when_patient_age_missing(tmp_path: Path) -> None:
    cases.write(cases.volume(shape=(2, 8, 8)), tmp_path,
                tags={"PatientBirthDate": "19600301", "StudyDate": "20240229"})
    (study,) = scan(tmp_path).studies
    assert study.patient_age_years == 63.0  # birthday on 1 March not yet reached
    assert study.patient_birth_date == date(1960, 3, 1)


def test_bad_files_become_problems_and_the_rest_loads(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(6, 16, 16)), tmp_path / "ct")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.txt").write_text("not an image\n")
    (bad / "empty.dcm").write_bytes(b"")
    cases.corrupt_bytes(bad / "random.dcm")
    shutil.copy(paths[0], bad / "cut.dcm")
    cases.truncate(bad / "cut.dcm", keep_pixel_bytes=100)
    no_pixels = pydicom.dcmread(paths[1])
    del no_pixels.PixelData
    no_pixels.SOPInstanceUID = no_pixels.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    no_pixels.save_as(bad / "nopix.dcm", enforce_file_format=True)
    result = scan(tmp_path)
    reasons = _by_name(result.problems)
    assert set(reasons) == {"notes.txt", "empty.dcm", "random.dcm", "cut.dcm", "nopix.dcm"}
    assert reasons["nopix.dcm"] == "image object without pixel data"
    assert reasons["notes.txt"] == "not a DICOM file"
    assert reasons["empty.dcm"] == "empty file"
    assert reasons["cut.dcm"] == "truncated pixel data (expected 512 bytes, found 100)"
    assert result.series[0].n_frames == 6  # the copy of slice 0 was cut; the originals all load


def test_non_image_objects_are_listed_as_other(tmp_path: Path) -> None:
    for name in ("rtstruct.dcm", "rtplan.dcm", "test-SR.dcm", "CT_small.dcm"):
        shutil.copy(cases.data_file(name), tmp_path / name)
    result = scan(tmp_path)
    assert result.problems == []
    others = {o.path.name: o for o in result.other}
    assert set(others) == {"rtstruct.dcm", "rtplan.dcm", "test-SR.dcm"}
    assert others["rtstruct.dcm"].modality == "RTSTRUCT"
    assert others["rtplan.dcm"].sop_class_uid == "1.2.840.10008.5.1.4.1.1.481.5"
    assert "SR" in others["test-SR.dcm"].sop_class_name
    assert [s.n_frames for s in result.series] == [1]


def test_dicomdirtests_series_and_dicomdir_is_not_a_problem() -> None:
    result = scan(DIRTESTS)
    names = {p.path.name for p in result.problems}
    assert not any(n.startswith("DICOMDIR") for n in names)
    by_folder = {}
    for s in result.series:
        by_folder.setdefault(s.frames[0].path.parent.name, []).append(s)
    (ct5n,) = by_folder["CT5N"]
    assert ct5n.n_frames == 5 and ct5n.issues == []
    (ct2,) = by_folder["CT2"]
    assert ct2.n_frames == 4
    assert any(i.startswith("missing slices") for i in ct2.issues)


def test_dicomdir_is_followed_to_files_elsewhere(tmp_path: Path) -> None:
    """Scanning only the DICOMDIR file finds the images it references."""
    shutil.copytree(DIRTESTS, tmp_path / "media")
    result = scan(tmp_path / "media" / "DICOMDIR")
    n_frames = sum(s.n_frames for s in result.series)
    files = {f.path.resolve() for s in result.series for f in s.frames}
    assert n_frames == len(files) > 20
    assert all(str(p).startswith(str((tmp_path / "media").resolve())) for p in files)
    ct5n = [s for s in result.series if s.frames[0].path.parent.name == "CT5N"]
    assert ct5n and ct5n[0].n_frames == 5


def test_duplicate_copy_of_an_instance_is_reported_once(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(3, 8, 8)), tmp_path / "a")
    (tmp_path / "b").mkdir()
    shutil.copy(paths[1], tmp_path / "b" / "copy.dcm")
    result = scan(tmp_path)
    assert result.series[0].n_frames == 3
    assert _by_name(result.problems) == {"copy.dcm": "duplicate of an instance already found (IM00002.dcm)"}


def test_progress_reported_and_cancel_stops_the_scan(tmp_path: Path) -> None:
    cases.write(cases.volume(shape=(10, 8, 8)), tmp_path)
    seen: list[float] = []
    scan(tmp_path, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 10

    calls: list[str] = []

    def cancel_after_three(fraction: float, message: str) -> None:
        calls.append(message)
        if len(calls) > 3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        scan(tmp_path, progress=cancel_after_three)
    assert len(calls) == 4


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    result = scan([tmp_path / "nope"])
    assert [p.reason for p in result.problems] == ["no such file or folder"]
    assert result.studies == []


def test_no_patient_data_in_problem_reasons(tmp_path: Path) -> None:
    paths = cases.write(cases.volume(shape=(2, 8, 8)), tmp_path,
                        tags={"PatientName": "Doe^Jane", "PatientID": "PID-123"})
    cases.truncate(paths[0])
    result = scan(tmp_path)
    text = " ".join(str(p) for p in result.problems)
    assert result.problems and "Doe" not in text and "PID-123" not in text
