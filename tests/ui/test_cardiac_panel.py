"""The cardiac function dock: open the demo cine from the File menu, run, see contours and curve, edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from workstation.analyses.cardiac_function.panel import OVERLAY_KEY, CardiacPanel
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.core.overlays import LabelOverlay
from workstation.jobs.runner import JobRunner
from workstation.ml.registry import ENV_VAR

pytestmark = pytest.mark.ui
pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workstation.demo.cardiac_dicom import ensure_demo_cine

    root = tmp_path_factory.mktemp("demo")
    ensure_demo_cine(root / "cardiac-cine")  # where the menu's job finds it already written
    return root


def _pixels_near(image, colour: tuple[int, int, int], tol: int = 40) -> int:  # type: ignore[no-untyped-def]
    """How many pixels of a grabbed widget image are within ``tol`` of ``colour``."""
    image = image.convertToFormat(image.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), dtype=np.uint8)
    rgb = raw.reshape(image.height(), image.bytesPerLine())[:, :3 * image.width()].reshape(image.height(), -1, 3)
    return int((np.abs(rgb.astype(int) - np.asarray(colour)).max(axis=2) <= tol).sum())


def test_demo_opens_runs_and_shows_contours_and_curve(qtbot: QtBot, demo_root: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.ui.main_window import MainWindow

    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(demo_root))
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    demos = next(a.menu() for a in win.menus.menus["File"].actions() if a.text() == "Open &demo")
    action = next(a for a in demos.actions() if "Cardiac" in a.text())
    with qtbot.waitSignal(win.loader.series_loaded, timeout=120_000):
        action.trigger()
    assert win.context.volume is not None and win.context.volume.modality == "MR"
    dock = win.analysis_docks.show("cardiac-function")
    assert dock is not None
    panel = win.analysis_docks.panel("cardiac-function")
    assert isinstance(panel, CardiacPanel) and panel.run_button.isEnabled()
    panel.start()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=240_000)
    result = panel.result
    assert 40.0 < result.lv.ef_pct < 80.0 and result.lv.edv_ml > 50.0
    qtbot.waitUntil(lambda: all(n > 10 for n in panel.cine_view.contour_pixels().values()), timeout=10_000)
    assert len(panel.curve.lv.getData()[0]) == 25
    qtbot.wait(200)
    cine_pixels = panel.cine_view.graphics.grab().toImage()
    assert _pixels_near(cine_pixels, (230, 60, 60)) > 30  # LV endocardium drawn in red
    assert _pixels_near(cine_pixels, (60, 200, 90)) > 30  # epicardium in green
    panel.tabs.setCurrentWidget(panel.curve)
    qtbot.wait(200)
    assert _pixels_near(panel.curve.grab().toImage(), (230, 60, 60)) > 50  # the LV curve
    assert panel.table.rowCount() >= 12 and "EF" in panel.table.item(4, 0).text()
    overlay = win.context.overlays[OVERLAY_KEY]
    assert isinstance(overlay, LabelOverlay) and overlay.labels.shape == win.context.volume.shape
    assert panel.minimumSizeHint().height() <= 620 and panel.minimumSizeHint().width() <= 460  # fits 1366 x 768
    assert win.rect().contains(dock.geometry())  # the dock lies on the screen; the panel scrolls inside it
    assert win.analysis_docks.docks["cardiac-function"].widget().isAncestorOf(panel)
    win.context.jobs.wait(20_000)
    win.close()


def test_dragging_the_endocardium_out_measures_a_larger_volume(qtbot: QtBot, tmp_path: Path) -> None:
    from workstation.demo.cardiac_dicom import write_cine
    from workstation.demo.cardiac_phantom import generate_cine
    from workstation.io.dicom import scan

    write_cine(generate_cine(624, n_slices=9, n_phases=12, rows=112, cols=112, pixel_mm=2.6, thickness_mm=9.0,
                             gap_mm=2.0), tmp_path / "cine")
    (study,) = scan(tmp_path / "cine").studies
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CardiacPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(study, study.series[0], None)
    panel.start()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    first = panel.result
    phase, k = panel.cine_view.plane
    assert phase == first.lv.ed_phase
    panel.cine_view.border_choice.setCurrentText("LV endocardium")
    panel.cine_view.edit_button.setChecked(True)
    points = panel.cine_view.handle_points()
    assert points is not None and len(points) == 24
    centre = points.mean(axis=0)
    for i, p in enumerate(points):  # drag every handle 3 pixels outward
        out = centre + (p - centre) * (1.0 + 3.0 / max(float(np.hypot(*(p - centre))), 1.0))
        panel.cine_view.move_handle(i, float(out[0]), float(out[1]))
    qtbot.waitUntil(lambda: panel.result is not first and bool(panel.result.edited_planes), timeout=60_000)
    assert panel.result.lv.edv_ml > first.lv.edv_ml
    assert (phase, k) in panel.result.edited_planes
    assert panel.export_to(tmp_path / "out")
    with pytest.raises(ValueError, match="source"):
        panel.export_to(tmp_path / "cine")
