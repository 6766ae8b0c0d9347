"""RT Structure Sets, Plans and Doses: read into records, filed under their study, linked to the CT.

References: pydicom's own RT files (values read back from the dataset with pydicom's
general reader), and a coherent CT + RT set built from them by rewriting their UIDs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from workstation.core.rt import RtDose, RtPlan, StructureSet
from workstation.core.volume import Volume
from workstation.io.dicom import load, scan
from workstation.io.dicom_write import write_series
from workstation.io.errors import DicomReadError
from workstation.io.rt import load_contours, load_dose, read_rt


def _file(name: str) -> Path:
    return Path(get_testdata_file(name))


def test_structure_set_rois_and_contours_match_pydicom() -> None:
    ss = read_rt(_file("rtstruct.dcm"))
    assert isinstance(ss, StructureSet) and ss.label == "sep30"
    ds = pydicom.dcmread(_file("rtstruct.dcm"), force=True)
    assert [(r.number, r.name) for r in ss.rois] == [(int(i.ROINumber), i.ROIName) for i in ds.StructureSetROISequence]
    patient = ss.roi("patient")
    assert patient.colour == (220, 160, 120) and patient.roi_type == "EXTERNAL"
    assert ss.roi(2).roi_type == "ISOCENTER" and ss.roi(2).contours[0].geometric_type == "POINT"
    for roi, item in zip(ss.rois, ds.ROIContourSequence):
        for contour, source in zip(roi.contours, item.ContourSequence):
            np.testing.assert_array_equal(contour.points_mm.ravel(), np.asarray(source.ContourData, float))
    assert patient.contours[0].plane_area_mm2() == pytest.approx(400 * 300)  # the -200..200 x -150..150 square
    assert ss.ref.frame_of_reference_uid == ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    assert ss.ref.referenced_series_uids == (
        ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
        .SeriesInstanceUID,)


def test_plan_beams_fractions_and_prescription() -> None:
    plan = read_rt(_file("rtplan.dcm"))
    assert isinstance(plan, RtPlan)
    (beam,) = plan.beams
    assert (beam.number, beam.radiation_type, beam.nominal_energy_mev, beam.gantry_angle_deg) == (1, "PHOTON", 6.0, 0.0)
    assert beam.isocenter_mm == pytest.approx((235.711172833292, 244.135437110782, -724.97815409918))
    assert beam.source_axis_distance_mm == 1000.0 and beam.control_points == 2
    assert plan.fractions_planned == 30
    assert plan.fraction_groups[0].beam_meterset_mu == {1: pytest.approx(116.0036697)}
    assert plan.prescription_dose_gy == pytest.approx(30.826203)  # the TARGET dose reference
    assert plan.referenced_structure_set_uid == "1.2.333.444.55.6.7777.88888"


def test_dose_header_and_grid_on_demand() -> None:
    dose = read_rt(_file("rtdose.dcm"))
    assert isinstance(dose, RtDose)
    assert (dose.units, dose.dose_type, dose.summation_type) == ("RELATIVE", "PHYSICAL", "BEAM")
    assert dose.grid_scaling == pytest.approx(1e-6) and dose.geometry is not None
    assert not dose.geometry.offsets_absolute and dose.geometry.frames == 15
    assert dose.referenced_plan_uid and dose.referenced_beam_number == 1
    ds = pydicom.dcmread(_file("rtdose.dcm"))
    grid = load_dose(dose)
    np.testing.assert_allclose(grid.array, ds.pixel_array * float(ds.DoseGridScaling), rtol=1e-6)
    np.testing.assert_allclose(grid.origin, [float(v) for v in ds.ImagePositionPatient])
    assert grid.spacing == (5.0, 10.0, 10.0) and grid.meta["dose_units"] == "RELATIVE"
    np.testing.assert_allclose(dose.geometry.frame_positions_mm()[:, 2], -761.87 + np.arange(15) * 5.0)


def test_absolute_frame_offsets_place_frames_like_relative_ones(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_file("rtdose.dcm"))
    z0 = float(ds.ImagePositionPatient[2])
    ds.GridFrameOffsetVector = [z0 + 5.0 * k for k in range(15)]  # the absolute form (axial grid)
    ds.save_as(tmp_path / "absolute.dcm")
    dose = read_rt(tmp_path / "absolute.dcm")
    assert isinstance(dose, RtDose) and dose.geometry is not None and dose.geometry.offsets_absolute
    np.testing.assert_allclose(dose.geometry.relative_offsets_mm(), np.arange(15) * 5.0)
    relative = load_dose(read_rt(_file("rtdose.dcm")))  # type: ignore[arg-type]
    absolute = load_dose(dose)
    np.testing.assert_allclose(absolute.origin, relative.origin)
    assert absolute.spacing == relative.spacing
    np.testing.assert_array_equal(absolute.array, relative.array)
    assert load(tmp_path / "absolute.dcm").origin == relative.origin  # the image path agrees


def test_embedded_dvh_cumulative_curve(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_file("rtdose.dcm"))
    item = Dataset()
    item.DVHReferencedROISequence = Sequence([Dataset()])
    item.DVHReferencedROISequence[0].ReferencedROINumber = 7
    item.DVHType, item.DoseUnits, item.DoseType, item.DVHVolumeUnits = "DIFFERENTIAL", "GY", "PHYSICAL", "CM3"
    item.DVHDoseScaling = 1.0
    item.DVHNumberOfBins = 3
    item.DVHData = [1.0, 2.0, 1.0, 3.0, 1.0, 5.0]  # bins of 1 Gy holding 2, 3 and 5 cm3
    ds.DVHSequence = Sequence([item])
    ds.save_as(tmp_path / "dvh.dcm")
    dose = read_rt(tmp_path / "dvh.dcm")
    assert isinstance(dose, RtDose)
    (dvh,) = dose.dvhs
    assert dvh.referenced_roi_number == 7 and dvh.volume_units == "CM3"
    d, v = dvh.cumulative()
    np.testing.assert_allclose(d, [0, 1, 2, 3])
    np.testing.assert_allclose(v, [10, 8, 5, 0])  # volume receiving at least each dose


def _coherent_rt_study(folder: Path) -> tuple[str, str, str]:
    """A CT series plus pydicom's structure set, plan and dose rewritten to belong to it."""
    study_uid, frame_uid = generate_uid(), generate_uid()
    ct = Volume(np.zeros((4, 16, 16), np.int16), spacing=(2.5, 1.0, 1.0), origin=(-8.0, -8.0, 0.0), modality="CT")
    paths = write_series(ct, folder / "ct", modality="CT", study_uid=study_uid, frame_of_reference_uid=frame_uid,
                         tags={"PatientID": "RT-1"})
    ct_series = pydicom.dcmread(paths[0]).SeriesInstanceUID
    ss = pydicom.dcmread(_file("rtstruct.dcm"), force=True)
    ss.StudyInstanceUID, ss.PatientID = study_uid, "RT-1"
    ref = ss.ReferencedFrameOfReferenceSequence[0]
    ref.FrameOfReferenceUID = frame_uid
    ref.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].SeriesInstanceUID = ct_series
    for roi in ss.StructureSetROISequence:
        roi.ReferencedFrameOfReferenceUID = frame_uid
    (folder / "rt").mkdir()
    ss.save_as(folder / "rt" / "rs.dcm")  # no preamble and no file meta, as pydicom's file
    plan = pydicom.dcmread(_file("rtplan.dcm"))
    plan.StudyInstanceUID, plan.PatientID, plan.FrameOfReferenceUID = study_uid, "RT-1", frame_uid
    plan.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID = ss.SOPInstanceUID
    plan.save_as(folder / "rt" / "rp.dcm")
    dose = pydicom.dcmread(_file("rtdose.dcm"))
    dose.StudyInstanceUID, dose.PatientID, dose.FrameOfReferenceUID = study_uid, "RT-1", frame_uid
    dose.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID = plan.SOPInstanceUID
    dose.save_as(folder / "rt" / "rd.dcm")
    return study_uid, str(ct_series), str(ss.SOPInstanceUID)


def test_scan_files_rt_objects_under_their_study_and_links_them(tmp_path: Path) -> None:
    study_uid, ct_uid, ss_uid = _coherent_rt_study(tmp_path)
    result = scan(tmp_path)
    assert result.problems == []
    (study,) = result.studies
    assert study.uid == study_uid
    (ss,) = study.objects_of(StructureSet)
    (plan,) = study.objects_of(RtPlan)
    (dose,) = study.objects_of(RtDose)
    assert ss.rois[0].contours is None and ss.rois[0].contour_count == 3  # the scan reads no contour points
    ct = study.find_series(ct_uid)
    assert study.referenced_series(ss) == [ct]  # by referenced series UID
    assert study.referenced_series(dose) == [ct]  # by Frame of Reference (the dose's own series excluded)
    assert study.find_object(plan.referenced_structure_set_uid) is ss
    assert study.find_object(dose.referenced_plan_uid) is plan
    assert {type(o) for o in study.objects_for(ct)} == {StructureSet, RtPlan, RtDose}
    assert load_contours(ss).roi("patient").contours[0].points_mm.shape == (5, 3)
    assert {s.modality for s in study.series} == {"CT", "RTDOSE"}  # the dose grid still opens as a series


def test_objects_without_images_get_their_own_study(tmp_path: Path) -> None:
    for name in ("rtstruct.dcm", "rtplan.dcm"):
        shutil.copy(_file(name), tmp_path / name)
    result = scan(tmp_path)
    assert sorted(len(s.objects) for s in result.studies) == [1, 1]
    by_kind = {type(s.objects[0]): s for s in result.studies}
    assert by_kind[StructureSet].patient_id == "tPhantom30sep" and by_kind[RtPlan].patient_id == "id00001"
    assert all(s.series == [] for s in result.studies)


def test_damaged_rt_objects_are_named_not_fatal(tmp_path: Path) -> None:
    ss = pydicom.dcmread(_file("rtstruct.dcm"), force=True)
    ss.ROIContourSequence[0].ContourSequence[0].ContourData = [1.0, 2.0]  # not (x, y, z) triplets
    ss.save_as(tmp_path / "bad_contours.dcm")
    record = read_rt(tmp_path / "bad_contours.dcm", contours=False)
    with pytest.raises(DicomReadError, match=r"ROI 1, contour 1: Contour Data") as info:
        load_contours(record)  # type: ignore[arg-type]
    assert info.value.path == tmp_path / "bad_contours.dcm"
    raw = _file("rtplan.dcm").read_bytes()
    (tmp_path / "cut_plan.dcm").write_bytes(raw[: len(raw) // 2])
    dose = pydicom.dcmread(_file("rtdose.dcm"))
    del dose.GridFrameOffsetVector
    dose.save_as(tmp_path / "no_offsets.dcm")
    result = scan(tmp_path)
    reasons = {p.path.name: p.reason for p in result.problems}
    assert "cut_plan.dcm" in reasons
    assert reasons["no_offsets.dcm"].startswith("as an RT Dose: ") and "Grid Frame Offset Vector" in reasons["no_offsets.dcm"]
    assert [type(o) for s in result.studies for o in s.objects] == [StructureSet]  # its header still reads


def test_read_rt_refuses_other_objects() -> None:
    with pytest.raises(DicomReadError, match="not an RT Structure Set, Plan or Dose"):
        read_rt(_file("CT_small.dcm"))
