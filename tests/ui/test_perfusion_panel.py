"""Perfusion panel: load the demo study, ROI curve, run, overlay, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from workstation.analyses.panel_api import ViewerContext  # noqa: E402
from workstation.core.overlays import Roi, ScalarOverlay  # noqa: E402
from workstation.analyses.perfusion.panel import OVERLAY_KEY, PerfusionPanel  # noqa: E402
from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.demo.perfusion import write_perfusion  # noqa: E402
from workstation.jobs.runner import JobRunner  # noqa: E402

pytestmark = pytest.mark.ui


def test_load_roi_run_and_export(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from workstation.io.dicom import scan

    truth = write_perfusion(tmp_path / "src", shape=(3, 48, 48), n_times=28)
    study = scan([tmp_path / "src"]).studies[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = PerfusionPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(study, study.series[0], None)
    assert not panel.run_button.isEnabled()

    with qtbot.waitSignal(context.volume_changed, timeout=30000):
        panel.load()
    assert panel.series is not None and context.volume is not None
    assert context.volume.shape == (3, 48, 48)

    mask = truth.labels[1] == 2  # grey matter of the middle slice
    context.set_roi(Roi(slice_index=1, mask=mask))
    x, y = panel.roi_curve.getData()
    assert x is not None and len(x) == 28
    expected = np.array([v.array[1][mask].mean() for v in panel.series.volumes])
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(x, panel.series.times)

    panel.method.setCurrentText("csvd")
    with qtbot.waitSignal(context.overlays_changed, timeout=60000):
        panel.start()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    overlay = context.overlays[OVERLAY_KEY]
    assert isinstance(overlay, ScalarOverlay) and overlay.unit == "ml/100g/min"
    tissue = panel.result.tissue
    assert tissue.sum() > 100 and np.all(np.isfinite(overlay.values[tissue]))
    assert len(panel.aif_curve.getData()[1]) == 28
    assert "Tmax" in panel.summary.text()

    panel.map_choice.setCurrentText("tmax")
    assert context.overlays[OVERLAY_KEY].unit == "s" and context.overlays[OVERLAY_KEY].vmax == 14.0
    panel.vmax.setValue(20.0)
    assert context.overlays[OVERLAY_KEY].vmax == 20.0

    with pytest.raises(ValueError, match="source images"):
        panel.export_to(tmp_path / "src")
    paths = panel.export_to(tmp_path / "out")
    assert (tmp_path / "out" / "tmax.nii.gz").exists() and (tmp_path / "out" / "perfusion_summary.pdf").exists()
    assert len(list((tmp_path / "out" / "dicom").rglob("*.dcm"))) == 5 * 3 and len(paths) == 6 + 15

    # another study: nothing of this one's summary or curves stays on the panel
    other = scan([tmp_path / "out" / "dicom"]).studies[0]
    context.set_loaded(other, other.series[0], None)
    assert panel.summary.text() == "Load a dynamic series." and panel.result is None
    for curve in (panel.roi_curve, panel.aif_curve, panel.vof_curve):
        x, _ = curve.getData()
        assert x is None or len(x) == 0
    assert not panel.export_button.isEnabled()


def test_aif_from_roi_goes_into_params(qtbot) -> None:  # type: ignore[no-untyped-def]
    from workstation.demo.perfusion import generate_perfusion

    series, truth = generate_perfusion(shape=(2, 40, 40), n_times=24)
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = PerfusionPanel(context)
    qtbot.addWidget(panel)
    panel.set_series(series)
    context.set_roi(Roi(slice_index=0, mask=truth.labels[0] == 6))
    panel.aif_from_roi.click()
    params = panel.params()
    assert len(params.aif_voxels) == int((truth.labels[0] == 6).sum())
    assert all(truth.labels[v] == 6 for v in params.aif_voxels)
    panel.aif_auto.click()
    assert panel.params().aif_voxels == ()
