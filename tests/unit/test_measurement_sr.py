"""Annotations saved as a TID 1500 measurement report: valid DICOM, and read back as drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_validation import assert_valid_dicom

from workstation.core.annotations import Annotation
from workstation.report.measurement_sr import read_report, write_report

CT_SMALL = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
US_CINE = Path(pydicom.__file__).parent / "data" / "test_files" / "examples_ybr_color.dcm"


def _annotations(frame: str, us: pydicom.Dataset) -> list[Annotation]:
    hu = "[hnsf'U]"
    return [
        Annotation("2.25.11", "distance", ((-10, 5, 20), (12.5, 5, 20)), frame_of_reference_uid=frame,
                   label="Distance 1", values=(("Length", 22.5, "mm"),)),
        Annotation("2.25.12", "angle", ((0, 10, 20), (0, 0, 20), (10, 0, 20)), frame_of_reference_uid=frame,
                   label="Angle 1", values=(("Angle", 90.0, "deg"),)),
        Annotation("2.25.13", "cobb", ((0, 0, 20), (10, 0, 20), (0, 5, 20), (10, 7, 20)),
                   frame_of_reference_uid=frame, label="Cobb angle 1", values=(("Cobb angle", 11.31, "deg"),)),
        Annotation("2.25.14", "arrow", ((1, 1, 20), (8, 9, 20)), frame_of_reference_uid=frame, label="Arrow 1",
                   text="nodule"),
        Annotation("2.25.15", "text", ((3, 4, 20),), frame_of_reference_uid=frame, text="Compare with prior, 2023"),
        Annotation("2.25.16", "ellipse", ((-4, -2, 20), (4, 2, 20)), frame_of_reference_uid=frame,
                   label="Ellipse ROI 1", values=(("Area", 25.1, "mm2"), ("Mean", 41.0, hu),
                                                   ("Standard Deviation", 3.5, hu))),
        Annotation("2.25.17", "rectangle", ((-4, -2, 20), (4, 2, 20)), frame_of_reference_uid=frame,
                   label="Rectangle ROI 1", values=(("Area", 32.0, "mm2"), ("Minimum", -3.0, hu))),
        Annotation("2.25.18", "distance", ((10, 20, 0), (110, 20, 0)), space="image",
                   sop_instance_uid=str(us.SOPInstanceUID), sop_class_uid=str(us.SOPClassUID), frame_number=7,
                   label="Distance 2", values=(("Length", 100.0, "mm"),)),
    ]


def test_report_is_valid_and_reads_back(tmp_path: Path) -> None:
    ct, us = pydicom.dcmread(CT_SMALL), pydicom.dcmread(US_CINE, stop_before_pixels=True)
    drawn = _annotations(str(ct.FrameOfReferenceUID), us)
    out = write_report(drawn, [CT_SMALL, US_CINE], tmp_path / "annotations.dcm")
    assert_valid_dicom([out])
    ds = pydicom.dcmread(out)
    assert ds.StudyInstanceUID == ct.StudyInstanceUID and ds.PatientID == ct.PatientID
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    back = read_report(out)
    assert [a.uid for a in back] == [a.uid for a in drawn]
    for a, b in zip(drawn, back):
        assert (a.kind, a.space, a.label, a.text, a.frame_number) == (b.kind, b.space, b.label, b.text, b.frame_number)
        np.testing.assert_allclose(np.asarray(b.points), np.asarray(a.points), atol=1e-4)
        assert [(n, u) for n, _, u in a.values] == [(n, u) for n, _, u in b.values]
        np.testing.assert_allclose([v for _, v, _ in b.values], [v for _, v, _ in a.values], rtol=1e-6)
    assert back[-1].sop_instance_uid == us.SOPInstanceUID and back[-1].sop_class_uid == us.SOPClassUID


def test_source_files_are_untouched(tmp_path: Path) -> None:
    source = tmp_path / "study"
    source.mkdir()
    shutil.copy(CT_SMALL, source / "ct.dcm")
    before = (source / "ct.dcm").read_bytes()
    ct = pydicom.dcmread(source / "ct.dcm")
    one = _annotations(str(ct.FrameOfReferenceUID), pydicom.dcmread(US_CINE, stop_before_pixels=True))[:1]
    (tmp_path / "out").mkdir()
    write_report(one, [source / "ct.dcm"], tmp_path / "out" / "a.dcm")
    assert (source / "ct.dcm").read_bytes() == before and list(source.iterdir()) == [source / "ct.dcm"]


def test_a_report_needs_a_source_image(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source image"):
        write_report([], [], tmp_path / "x.dcm")
