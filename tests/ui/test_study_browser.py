"""The study browser lists a study's non-image objects under it, after its series."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pytestqt.qtbot import QtBot

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.core.rt import StructureSet
from workstation.io.dicom import scan
from workstation.jobs.runner import JobRunner
from workstation.ui.study_browser import StudyBrowser

pytestmark = pytest.mark.ui


def test_objects_are_listed_under_their_study(qtbot: QtBot, tmp_path: Path) -> None:
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "ct.dcm")
    ss = pydicom.dcmread(get_testdata_file("rtstruct.dcm"), force=True)
    ss.StudyInstanceUID, ss.PatientID = ct.StudyInstanceUID, ct.PatientID
    ref = ss.ReferencedFrameOfReferenceSequence[0]
    ref.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].SeriesInstanceUID = ct.SeriesInstanceUID
    ss.save_as(tmp_path / "rs.dcm")
    shutil.copy(get_testdata_file("test-SR.dcm"), tmp_path / "sr.dcm")  # a study of its own
    result = scan(tmp_path)
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    browser = StudyBrowser(context)
    qtbot.addWidget(browser)
    browser.add_scan(result)

    ct_study = next(s for s in result.studies if s.uid == ct.StudyInstanceUID)
    (structures,) = ct_study.objects_of(StructureSet)
    row = browser.object_item(structures.ref.sop_instance_uid)
    study_row = row.parent()
    assert study_row is browser.series_item(ct.SeriesInstanceUID).parent()  # the same study row
    assert study_row.indexOfChild(row) == 1  # after the one series
    assert row.text(0) == "RT Structure Set sep30 (3 ROIs)"
    assert ct_study.series[0].label in row.toolTip(0)
    sr_study = next(s for s in result.studies if s.uid != ct.StudyInstanceUID)
    sr_row = browser.object_item(sr_study.objects[0].ref.sop_instance_uid)
    assert sr_row.text(0) == "SR: Diagnosis" and sr_row.parent().childCount() == 1
    assert browser.tree.topLevelItemCount() == 2  # two patients
    context.jobs.wait()
