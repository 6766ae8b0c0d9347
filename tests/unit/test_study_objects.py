"""SR and SEG objects become records filed under their study; presentation-like objects are kept too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from workstation.core.objects import GenericObject, Segmentation, StructuredReport
from workstation.io.dicom import scan
from workstation.io.objects import read_object


def test_sr_record_matches_the_document() -> None:
    path = Path(get_testdata_file("test-SR.dcm"))
    found = read_object(path)
    sr = found.record
    ds = pydicom.dcmread(path)
    assert isinstance(sr, StructuredReport)
    assert sr.title == ds.ConceptNameCodeSequence[0].CodeMeaning
    assert (sr.completion_flag, sr.verification_flag) == (ds.CompletionFlag, ds.VerificationFlag)
    assert sr.ref.study_uid == ds.StudyInstanceUID and found.study.patient_id == ds.PatientID


def test_seg_record_segments_and_source_images() -> None:
    path = Path(get_testdata_file("liver_1frame.dcm"))
    seg = read_object(path).record
    ds = pydicom.dcmread(path)
    assert isinstance(seg, Segmentation) and seg.segmentation_type == "BINARY"
    assert [(s.number, s.label, s.property_type) for s in seg.segments] == [(1, "Liver", "Liver")]
    assert seg.ref.referenced_series_uids == (ds.ReferencedSeriesSequence[0].SeriesInstanceUID,)
    assert set(seg.ref.referenced_instance_uids) == {
        i.ReferencedSOPInstanceUID for i in ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert seg.ref.frame_of_reference_uid == ds.FrameOfReferenceUID and (seg.rows, seg.columns) == (512, 512)


def test_scan_files_sr_and_seg_and_keeps_unknown_classes(tmp_path: Path) -> None:
    for name in ("test-SR.dcm", "liver_1frame.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.11.1"  # grayscale PR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6"
    ds.Modality = "PR"
    ds.save_as(tmp_path / "pr.dcm")
    result = scan(tmp_path)
    assert result.problems == []
    kinds = sorted(type(o).__name__ for s in result.studies for o in s.objects)
    assert kinds == ["GenericObject", "Segmentation", "StructuredReport"]
    (pr,) = [o for s in result.studies for o in s.objects if isinstance(o, GenericObject)]
    assert "Presentation State" in pr.summary()
