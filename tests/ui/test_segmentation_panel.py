"""The segmentation dock on the demo chest CT: run, overlay, structures table, toggles, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from workstation.analyses.panel_api import LabelOverlay, ViewerContext
from workstation.analyses.segmentation.panel import OVERLAY_KEY, SegmentationPanel
from workstation.compute.backend import cpu_backend
from workstation.demo.chest_ct import generate_chest_ct
from workstation.jobs.runner import JobRunner

pytestmark = pytest.mark.ui


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

    path = panel.export_to(tmp_path / "out", "nifti")
    assert path is not None and path.is_file()
    assert panel.export_to(tmp_path / "out", "seg") is None  # no DICOM source for an in-memory volume
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
