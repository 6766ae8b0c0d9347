"""File > Export: the dialog's choices become files through a job (progress, cancel)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot
from ui_phantom import CUBE, SHAPE, synthetic_ct

from workstation.analyses.panel_api import ViewerContext
from workstation.core.overlays import LabelOverlay
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume
from workstation.io.dicom import load_series, scan
from workstation.io.dicom_write import patient_tags, write_series
from workstation.jobs.runner import JobState
from workstation.ui.export_dialog import ExportDialog
from workstation.ui.mpr import ViewerArea


@pytest.fixture
def area(qtbot: QtBot) -> Iterator[ViewerArea]:
    from workstation.jobs.runner import JobRunner

    context = ViewerContext(JobRunner(backend=cpu_backend()))
    widget = ViewerArea(context)
    qtbot.addWidget(widget)
    widget.resize(600, 500)
    yield widget
    context.jobs.cancel_all()
    context.jobs.wait(5000)


def _dialog(qtbot: QtBot, area: ViewerArea, folder: Path, what: str, fmt: str) -> ExportDialog:
    dialog = ExportDialog(area.context, area)
    qtbot.addWidget(dialog)
    dialog.what.setCurrentIndex(dialog.what.findData(what))
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    assert dialog.format.currentData() == fmt
    dialog.folder.setText(str(folder))
    return dialog


def _run(qtbot: QtBot, dialog: ExportDialog) -> object:
    dialog.start()
    job = dialog.job
    assert job is not None
    qtbot.waitUntil(lambda: job.finished, timeout=60000)
    assert job.state == JobState.DONE, job.error
    return job.result


def test_current_view_with_overlay_burnt_in(qtbot: QtBot, area: ViewerArea, tmp_path: Path) -> None:
    volume = synthetic_ct()
    area.context.set_loaded(None, None, volume)
    labels = np.zeros(SHAPE, np.uint8)
    labels[CUBE] = 1
    area.context.set_overlay("cube", LabelOverlay(labels, {1: (255, 0, 0)}, opacity=1.0))
    area.axial.set_index(7)
    dialog = _dialog(qtbot, area, tmp_path, "view", "png")
    dialog.size_mode.setCurrentIndex(1)
    dialog.width_px.setValue(160)
    result = _run(qtbot, dialog)
    (name,) = [f["file"] for f in result.files]  # type: ignore[attr-defined]
    picture = np.asarray(Image.open(tmp_path / name).convert("RGB"))
    # 80 columns x 64 rows of 0.6 x 0.8 mm pixels, shown to scale 160 wide
    assert picture.shape[:2] == (round(64 * 0.8 / 0.6 * 2), 160)
    red = (picture[..., 0] > 200) & (picture[..., 1] < 60)
    assert red.sum() > 0.5 * (10 * 10 * (0.8 / 0.6) * 4)  # the cube's 10x10 pixels, doubled and stretched
    manifest = json.loads((tmp_path / "export.json").read_text())
    assert manifest["paths"]["resize"] == {"cpu": 1}


def test_mpr_planes_and_cine(qtbot: QtBot, area: ViewerArea, tmp_path: Path) -> None:
    area.context.set_loaded(None, None, synthetic_ct())
    result = _run(qtbot, _dialog(qtbot, area, tmp_path / "mpr", "mpr", "jpeg"))
    assert sorted(f["plane"] for f in result.files) == ["axial", "coronal", "sagittal"]  # type: ignore[attr-defined]
    dialog = _dialog(qtbot, area, tmp_path / "cine", "cine", "gif")
    dialog.first.setValue(5)
    dialog.last.setValue(10)
    _run(qtbot, dialog)
    (gif,) = list((tmp_path / "cine").glob("*.gif"))
    assert Image.open(gif).n_frames == 6


def test_series_as_deidentified_dicom(qtbot: QtBot, area: ViewerArea, tmp_path: Path) -> None:
    small = Volume(synthetic_ct().array[:6], spacing=(2.5, 0.8, 0.6), modality="CT")
    write_series(small, tmp_path / "src", tags=patient_tags("Rivera^Joanna", "PID-1"), series_number=4)
    found = scan([tmp_path / "src"])
    study = found.studies[0]
    series = study.series[0]
    area.context.set_loaded(study, series, load_series(series))
    dialog = _dialog(qtbot, area, tmp_path / "out", "series", "dicom")
    assert dialog.anonymize.isEnabled() and dialog.anonymize.isChecked()
    assert not dialog.watermark.isEnabled()  # nothing is burnt into DICOM
    _run(qtbot, dialog)
    files = sorted((tmp_path / "out").glob("*.dcm"))
    assert [f.name for f in files] == [f"series-004_instance-{i:04d}.dcm" for i in range(1, 7)]
    assert {str(pydicom.dcmread(f).PatientName) for f in files} == {"ANON-0001"}


def test_formats_follow_what_is_exported(qtbot: QtBot, area: ViewerArea, tmp_path: Path) -> None:
    area.context.set_loaded(None, None, synthetic_ct())
    dialog = _dialog(qtbot, area, tmp_path, "view", "png")

    def formats() -> list[str]:
        return [dialog.format.itemData(i) for i in range(dialog.format.count())]

    assert formats() == ["png", "jpeg", "webp"]
    dialog.what.setCurrentIndex(dialog.what.findData("range"))
    assert "dicom" in formats()
    dialog.what.setCurrentIndex(dialog.what.findData("cine"))
    assert formats()[:2] == ["webp", "gif"]
    assert dialog.first.isEnabled() and not dialog.anonymize.isEnabled()
