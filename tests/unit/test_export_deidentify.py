"""De-identified DICOM export: the profile's attributes gone, pixels kept, UIDs consistent.

Sources are pydicom's own files (CT_small, an ultrasound with data regions, a secondary
capture) given extra identifying attributes, a nested sequence, a reference between
two slices and private tags, written as a two-series study.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_validation import dciodvfy
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from workstation.export.burnt_in import assess
from workstation.export.deidentify import (
    Deidentifier,
    DeidOptions,
    identifying_values,
    profile_tags,
)
from workstation.export.dicom_export import export_dicom

NAME, PID = "Rivera^Joanna^M", "PID-778812"


def _identified(ds: Dataset) -> Dataset:
    ds.PatientName, ds.PatientID = NAME, PID
    ds.OtherPatientIDs = "OTHER-99812"
    ds.PatientAddress = "12 Harbour Lane, Springfield"
    ds.ReferringPhysicianName = "Okafor^Chidi"
    ds.PerformingPhysicianName = "Lindqvist^Eva"
    ds.AccessionNumber = "ACC55019"
    ds.StudyID = "ST7781"
    ds.InstitutionAddress = "1 Hospital Road"
    ds.DeviceSerialNumber = "SN-4471-XK"
    ds.ImageComments = "follow-up for Joanna"
    ds.SeriesDate = "20040110"
    request = Dataset()
    request.RequestedProcedureID = "RP-5561"
    request.ScheduledProcedureStepID = "SPS-1187"
    ds.RequestAttributesSequence = Sequence([request])
    device = Dataset()  # a sequence the profile does not list: its items are cleaned too
    device.Manufacturer = "ACME"
    device.OperatorsName = "Moreau^Luc"
    ds.AcquisitionContextSequence = Sequence([device])
    block = ds.private_block(0x0029, "ACME PRIVATE", create=True)
    block.add_new(0x10, "LO", "private note on Rivera")
    return ds


@pytest.fixture
def study(tmp_path: Path) -> tuple[list[Path], list[Dataset]]:
    """Two series of one study: three CT slices (slice 2 references slice 1) and one more."""
    base = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    study_uid, frame_uid = generate_uid(), generate_uid()
    series_uids = [generate_uid(), generate_uid()]
    paths, datasets = [], []
    for k, (series, number) in enumerate([(0, 1), (0, 2), (0, 3), (1, 1)]):
        ds = _identified(copy.deepcopy(base))
        ds.StudyInstanceUID, ds.FrameOfReferenceUID = study_uid, frame_uid
        ds.SeriesInstanceUID, ds.SeriesNumber = series_uids[series], series + 1
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = number
        if k == 1:
            ref = Dataset()
            ref.ReferencedSOPClassUID = datasets[0].SOPClassUID
            ref.ReferencedSOPInstanceUID = datasets[0].SOPInstanceUID
            ds.ReferencedImageSequence = Sequence([ref])
        path = tmp_path / "source" / f"Rivera_{k}.dcm"
        path.parent.mkdir(exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
        datasets.append(ds)
    return paths, datasets


def _read(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]


def test_no_identifying_value_survives(study: tuple[list[Path], list[Dataset]], tmp_path: Path) -> None:
    paths, sources = study
    result = export_dicom(paths, tmp_path / "out", deidentifier=Deidentifier())
    assert len(result.files) == 4 and not result.refused
    outputs = {(int(d.SeriesNumber), int(d.InstanceNumber)): d for d in _read(tmp_path / "out")}
    listed = {t for tags in profile_tags().values() for t in tags}
    for src in sources:
        out = outputs[(int(src.SeriesNumber), int(src.InstanceNumber))]
        before = identifying_values(src)
        assert len(before) >= 25  # the check covers the attributes really present
        after = identifying_values(out)
        for key, value in before.items():
            if key.split(".")[-1].endswith("Time"):
                continue  # times of day are kept by the shifted-dates option
            assert after.get(key) != value, f"{key} kept its value"
        assert not any(e.tag.is_private for e in out.iterall())
        assert str(out.PatientIdentityRemoved) == "YES"
        assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        raw = Path(tmp_path / "out" / f"series-{int(src.SeriesNumber):03d}_instance-{int(src.InstanceNumber):04d}.dcm"
                   ).read_bytes()
        for secret in ("Rivera", "Joanna", PID, "OTHER-99812", "ACC55019", "Harbour", "Okafor", "Lindqvist",
                       "Moreau", "SN-4471", "RP-5561", "private note", str(src.SOPInstanceUID),
                       str(src.StudyInstanceUID)):
            assert secret.encode() not in raw, secret
        assert np.array_equal(out.pixel_array, src.pixel_array)
        assert out.PixelData == src.PixelData
        assert (0x0008, 0x0018) in listed  # SOP Instance UID is a U attribute of the table


def test_uids_are_mapped_consistently(study: tuple[list[Path], list[Dataset]], tmp_path: Path) -> None:
    paths, sources = study
    export_dicom(paths, tmp_path / "out", deidentifier=Deidentifier())
    out = {(int(d.SeriesNumber), int(d.InstanceNumber)): d for d in _read(tmp_path / "out")}
    assert len({d.StudyInstanceUID for d in out.values()}) == 1
    assert len({d.FrameOfReferenceUID for d in out.values()}) == 1
    assert len({d.SeriesInstanceUID for k, d in out.items() if k[0] == 1}) == 1
    assert out[(1, 1)].SeriesInstanceUID != out[(2, 1)].SeriesInstanceUID
    assert len({d.SOPInstanceUID for d in out.values()}) == 4
    assert out[(1, 2)].ReferencedImageSequence[0].ReferencedSOPInstanceUID == out[(1, 1)].SOPInstanceUID
    for d in out.values():
        assert d.file_meta.MediaStorageSOPInstanceUID == d.SOPInstanceUID
        assert d.SOPClassUID == sources[0].SOPClassUID  # DICOM-defined UIDs are kept
        assert d.StudyInstanceUID != sources[0].StudyInstanceUID


def test_dates_shift_keep_or_go(study: tuple[list[Path], list[Dataset]], tmp_path: Path) -> None:
    paths, sources = study

    def day(text: str) -> dt.date:
        return dt.datetime.strptime(str(text), "%Y%m%d").date()

    shifted = _read(export_dicom(paths, tmp_path / "shift", deidentifier=Deidentifier()).out_dir)
    offsets = {day(d.StudyDate) - day(sources[0].StudyDate) for d in shifted}
    assert len(offsets) == 1 and offsets.pop().days <= -365  # one shift for the patient, intervals kept
    assert {day(d.StudyDate) - day(d.SeriesDate) for d in shifted} == {day(sources[0].StudyDate)
                                                                       - day(sources[0].SeriesDate)}
    assert all(d.LongitudinalTemporalInformationModified == "MODIFIED" for d in shifted)
    assert all(str(d.get("PatientBirthDate", "")) == "" for d in shifted)
    kept = _read(export_dicom(paths, tmp_path / "keep", deidentifier=Deidentifier(DeidOptions(dates="keep"))).out_dir)
    assert {d.StudyDate for d in kept} == {sources[0].StudyDate}
    removed = _read(export_dicom(paths, tmp_path / "remove",
                                 deidentifier=Deidentifier(DeidOptions(dates="remove"))).out_dir)
    assert all(sources[0].StudyDate not in str(d.get("StudyDate", "")) for d in removed)


def test_mapping_file_only_when_asked(study: tuple[list[Path], list[Dataset]], tmp_path: Path) -> None:
    paths, sources = study
    export_dicom(paths, tmp_path / "plain", deidentifier=Deidentifier())
    assert sorted(p.suffix for p in (tmp_path / "plain").iterdir()) == [".dcm"] * 4
    key = tmp_path / "private" / "key.json"
    export_dicom(paths, tmp_path / "out", deidentifier=Deidentifier(), mapping_file=key)
    import json

    mapping = json.loads(key.read_text())
    assert mapping["uids"][str(sources[0].StudyInstanceUID)] == _read(tmp_path / "out")[0].StudyInstanceUID
    assert list(mapping["patients"]) == [PID]


@pytest.mark.parametrize("dates", ["shift", "keep", "remove"])
def test_valid_as_the_source(study: tuple[list[Path], list[Dataset]], tmp_path: Path, dates: str) -> None:
    paths, _ = study
    result = export_dicom(paths[:2], tmp_path / "out", deidentifier=Deidentifier(DeidOptions(dates=dates)))
    for source, entry in zip(paths, result.files):
        assert len(dciodvfy(tmp_path / "out" / entry["file"]).errors) <= len(dciodvfy(source).errors)


def test_ultrasound_masked_outside_its_regions(tmp_path: Path) -> None:
    source = Path(get_testdata_file("examples_palette.dcm"))
    src = pydicom.dcmread(source)
    verdict = assess(src)
    assert verdict.action == "mask" and verdict.regions
    result = export_dicom([source], tmp_path / "out", deidentifier=Deidentifier())
    out = pydicom.dcmread(tmp_path / "out" / result.files[0]["file"])
    before, after = src.pixel_array, out.pixel_array
    inside = np.zeros(before.shape[:2], bool)
    for x0, y0, x1, y1 in verdict.regions:
        inside[y0:y1 + 1, x0:x1 + 1] = True
    assert np.array_equal(after[inside], before[inside])
    assert np.all(after[~inside] == 0) and np.any(before[~inside] != 0)
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in {c.CodeValue for c in out.DeidentificationMethodCodeSequence}
    assert len(dciodvfy(tmp_path / "out" / result.files[0]["file"]).errors) <= len(dciodvfy(source).errors)


def test_unsafe_pixels_are_refused_with_a_reason(tmp_path: Path) -> None:
    capture = Path(get_testdata_file("SC_rgb_small_odd.dcm"))
    flagged = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    flagged.BurnedInAnnotation = "YES"
    flagged_path = tmp_path / "flagged.dcm"
    flagged.save_as(flagged_path)
    result = export_dicom([capture, flagged_path], tmp_path / "out", deidentifier=Deidentifier())
    assert result.files == [] and len(result.refused) == 2
    assert "secondary capture" in result.refused[0]["reason"]
    assert "BurnedInAnnotation YES" in result.refused[1]["reason"]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    plain = export_dicom([capture], tmp_path / "plain")  # without de-identification it is copied as is
    assert pydicom.dcmread(tmp_path / "plain" / plain.files[0]["file"]).PixelData == pydicom.dcmread(capture).PixelData


def test_sources_are_not_modified(study: tuple[list[Path], list[Dataset]], tmp_path: Path) -> None:
    paths, _ = study
    before = [p.read_bytes() for p in paths]
    export_dicom(paths, tmp_path / "out", deidentifier=Deidentifier())
    assert [p.read_bytes() for p in paths] == before
