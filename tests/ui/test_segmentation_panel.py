"""The segmentation dock on the demo chest CT: run, overlay, structures table, toggles, export, models folder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from workstation.analyses.panel_api import ViewerContext
from workstation.core.overlays import LabelOverlay
from workstation.analyses.segmentation import panel as panel_module
from workstation.analyses.segmentation.panel import MODELS_FOLDER_KEY, OVERLAY_KEY, SegmentationPanel
from workstation.compute.backend import cpu_backend
from workstation.demo.chest_ct import generate_chest_ct
from workstation.jobs.runner import JobRunner
from workstation.ml.registry import ENV_VAR, sha256_file

pytestmark = pytest.mark.ui
TILE = (4, 8, 8)


@pytest.fixture(autouse=True)
def own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings in a temporary folder and no models folder from the environment."""
    folder = tmp_path / "cfg"
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return folder


def helpers():  # type: ignore[no-untyped-def]
    """The tiny-model builders of the unit tests."""
    pytest.importorskip("onnx")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    import ml_onnx_helpers

    return ml_onnx_helpers


@pytest.fixture()
def context() -> ViewerContext:
    ctx = ViewerContext(JobRunner(backend=cpu_backend()))
    volume, _truth = generate_chest_ct(0, size=256, pixel_mm=1.4)
    ctx.set_loaded(None, None, volume)
    return ctx


def test_segment_demo_shows_overlay_and_table(qtbot, context: ViewerContext, tmp_path: Path) -> None:
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    assert panel.model_combo.findData("chest-organs") >= 0
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("chest-organs"))
    assert panel.run_button.isEnabled() and not panel.export_nifti_button.isEnabled()
    with qtbot.waitSignal(panel.finished, timeout=180_000) as blocker:
        panel.run_button.click()
    result = blocker.args[0]

    overlay = context.overlays[OVERLAY_KEY]
    assert isinstance(overlay, LabelOverlay) and overlay.show_in_3d
    assert overlay.labels.shape == context.volume.shape
    present = set(np.unique(overlay.labels)) - {0}
    assert {1, 2, 3, 5} <= present  # body, lungs, heart, bone at least
    assert int((overlay.labels == 2).sum()) > 10_000

    assert panel.table.rowCount() == len(result.structures) == 5
    for row, s in enumerate(result.structures):
        assert panel.table.item(row, 0).text() == s.name
        assert float(panel.table.item(row, 1).text()) == pytest.approx(s.volume_ml, abs=0.06)
    lungs = next(s for s in result.structures if s.name == "lungs")
    assert lungs.mean_hu < -700

    # view -> model: untick lungs, move the opacity slider
    row = [s.name for s in result.structures].index("lungs")
    panel.table.item(row, 0).setCheckState(Qt.CheckState.Unchecked)
    assert 2 not in context.overlays[OVERLAY_KEY].visible
    panel.opacity.setValue(80)
    assert context.overlays[OVERLAY_KEY].opacity == pytest.approx(0.8)

    path = panel.export_one(tmp_path / "out", "nifti")
    assert path is not None and path.is_file()
    assert panel.export_one(tmp_path / "out", "seg") is None  # no DICOM source for an in-memory volume
    assert "DICOM" in panel.status.text()


def test_cancel(qtbot, context: ViewerContext) -> None:
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    panel.start()
    job = panel._job
    assert panel.cancel_button.isEnabled()
    with qtbot.waitSignal(job.cancelled, timeout=60_000):
        panel.cancel()
    assert panel.status.text() == "Cancelled." and panel.run_button.isEnabled()
    assert OVERLAY_KEY not in context.overlays


def test_new_volume_clears_results(qtbot, context: ViewerContext) -> None:
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(None, None, None)
    assert not panel.run_button.isEnabled() and panel.table.rowCount() == 0


def user_models(folder: Path) -> Path:
    """A models folder with one good model and three faulty ones (changed, missing, wrong tile)."""
    h = helpers()
    folder.mkdir()
    good = h.conv_model(folder / "tiny.onnx", TILE, classes=3)
    changed = h.conv_model(folder / "changed.onnx", TILE, classes=3, bias=np.array([0.0, 1.0, 2.0]))
    sha_changed = sha256_file(changed)
    raw = bytearray(changed.read_bytes())
    raw[-5] ^= 0xFF
    changed.write_bytes(bytes(raw))
    wide = h.conv_model(folder / "wide.onnx", (4, 8, 16), classes=3)
    labels = {1: "a", 2: "b"}
    h.write_manifest(folder, [
        h.entry_dict("my-tiny", "tiny.onnx", sha256_file(good), TILE, labels),
        h.entry_dict("my-tampered", "changed.onnx", sha_changed, TILE, labels),
        h.entry_dict("my-missing", "gone.onnx", "0" * 64, TILE, labels),
        h.entry_dict("my-wrong-tile", "wide.onnx", sha256_file(wide), TILE, labels),
    ])
    return folder


def test_models_folder_button_lists_good_models_and_reports_faults(qtbot, context: ViewerContext, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = user_models(tmp_path / "my models")
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    assert panel.models_dir is None and not panel.models_note.text()
    monkeypatch.setattr(panel_module.QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    panel.folder_button.click()

    assert QSettings("Workstation", "Workstation").value(MODELS_FOLDER_KEY) == str(folder)
    listed = {panel.model_combo.itemData(i) for i in range(panel.model_combo.count())}
    assert {"chest-organs", "my-tiny"} <= listed
    assert not listed & {"my-tampered", "my-missing", "my-wrong-tile"}
    note = panel.models_note.text()
    assert str(folder) in note
    assert "'my-tampered'" in note and "checksum mismatch" in note
    assert "'my-missing'" in note and "gone.onnx is missing" in note
    assert "'my-wrong-tile'" in note and "shape" in note
    assert "'my-tiny'" not in note and not panel.models_note.isHidden()

    panel.model_combo.setCurrentIndex(panel.model_combo.findData("my-tiny"))
    assert panel.params().models_dir == str(folder)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("chest-organs"))
    assert panel.params().models_dir is None and panel.run_button.isEnabled()

    again = SegmentationPanel(context)  # a new panel starts from the stored folder
    qtbot.addWidget(again)
    assert again.models_dir == str(folder) and again.model_combo.findData("my-tiny") >= 0


def test_unreadable_manifest_keeps_builtin_models(qtbot, context: ViewerContext, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    panel.set_models_folder(str(folder))
    assert panel.model_combo.findData("chest-organs") >= 0 and panel.run_button.isEnabled()
    assert "not a readable JSON manifest" in panel.models_note.text()
    panel.set_models_folder(str(tmp_path / "nowhere"))
    assert "does not exist" in panel.models_note.text() and panel.model_combo.count() >= 1


def test_environment_folder_wins_and_the_panel_says_so(qtbot, context: ViewerContext, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = user_models(tmp_path / "env")
    monkeypatch.setenv(ENV_VAR, str(folder))
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    panel.set_models_folder(str(tmp_path))
    assert panel.model_combo.findData("my-tiny") >= 0
    assert panel.models_note.text().startswith(f"{ENV_VAR} is set: {folder} is used instead of {tmp_path}")


def test_folder_chosen_elsewhere_is_picked_up_when_shown(qtbot, context: ViewerContext, tmp_path: Path) -> None:
    panel = SegmentationPanel(context)
    qtbot.addWidget(panel)
    folder = user_models(tmp_path / "later")
    QSettings("Workstation", "Workstation").setValue(MODELS_FOLDER_KEY, str(folder))
    panel.show()
    assert panel.models_dir == str(folder) and panel.model_combo.findData("my-tiny") >= 0
    panel.close()
