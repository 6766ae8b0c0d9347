"""Derived-file writers: where files may go, 16-character decimals, patient and study of the source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicom_validation import assert_valid_dicom
from workstation.core.volume import Volume
from workstation.io.dicom_write import patient_tags, write_series
from workstation.io.writers import (
    SourceFolderError, check_outside_sources, decimal_string, patient_study_tags, results_folder_beside,
    source_header, write_derived_series, write_json,
)


def test_never_into_a_source_folder_nor_below_it(tmp_path: Path) -> None:
    source = tmp_path / "study"
    (source / "deeper").mkdir(parents=True)
    for target in (source, source / "deeper", source / "new" / "sub", source / ".." / "study"):
        with pytest.raises(SourceFolderError, match="source folder"):
            check_outside_sources(target, [source])
    assert check_outside_sources(tmp_path / "study_results", [source]) == (tmp_path / "study_results").resolve()
    assert results_folder_beside(source) == (tmp_path / "study_results").resolve()


@pytest.mark.parametrize("value", [1 / 3, -39.949999999999996, 1e-9, 123456789.123456, -0.00016666666666666666])
def test_decimal_strings_fit_16_characters(value: float) -> None:
    text = decimal_string(value)
    assert len(text) <= 16 and float(text) == pytest.approx(value, rel=1e-9)


def test_json_writes_nan_as_null_and_numpy_values(tmp_path: Path) -> None:
    path = write_json({"a": float("nan"), "b": np.float32(2.5), "c": np.arange(3), "d": [np.inf]}, tmp_path / "r.json")
    assert json.loads(path.read_text()) == {"a": None, "b": 2.5, "c": [0, 1, 2], "d": [None]}
    assert not list(tmp_path.glob("*.tmp"))


def _source(tmp_path: Path) -> list[Path]:
    ct = Volume(np.zeros((3, 8, 8), np.int16), spacing=(2.5, 0.7, 0.7), origin=(-2.8, -2.8, 10.0), modality="CT")
    tags = patient_tags("Doe^Jane", "P-123", sex="F", birth_date="19600203", study_date="20250101",
                        study_description="Head perfusion", accession="ACC9")
    return write_series(ct, tmp_path / "src", modality="CT", tags=tags)


def test_derived_series_keeps_the_source_patient_and_study_and_validates(tmp_path: Path) -> None:
    files = _source(tmp_path)
    src = pydicom.dcmread(files[0])
    values = Volume(np.linspace(0, 77.7, 3 * 64).reshape(3, 8, 8).astype(np.float32), spacing=(2.5, 0.7, 0.7),
                    origin=(-2.8, -2.8, 10.0))
    out = write_derived_series(values, tmp_path / "map", source=source_header(files), series_description="CBF",
                               series_number=900, derivation="CBF", slope=77.7 / 30000)
    assert_valid_dicom(out)
    ds = pydicom.dcmread(out[0])
    assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate, ds.PatientSex) == ("Doe^Jane", "P-123", "19600203", "F")
    assert (ds.StudyInstanceUID, ds.AccessionNumber, ds.StudyDescription) == (src.StudyInstanceUID, "ACC9",
                                                                              "Head perfusion")
    assert ds.FrameOfReferenceUID == src.FrameOfReferenceUID and ds.SeriesInstanceUID != src.SeriesInstanceUID
    assert len(str(ds.RescaleSlope)) <= 16 and float(ds.RescaleSlope) == pytest.approx(77.7 / 30000, rel=1e-9)
    raw = out[0].read_bytes()
    assert b"ANONYMOUS" not in raw


def test_deidentified_export_leaves_the_identity_out(tmp_path: Path) -> None:
    tags = patient_study_tags(source_header(_source(tmp_path)), deidentified=True)
    assert tags["PatientName"] == "" and tags["PatientID"] == "" and tags["PatientBirthDate"] == ""
    assert tags["AccessionNumber"] == "" and tags["StudyInstanceUID"]  # still the same study
