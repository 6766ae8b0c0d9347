"""The coronary CTA dock on a DICOM-free tube: picked points, run, stenosis table, linked views, export."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from coronary_phantoms import Narrowing, Tube, helix, make_tube  # noqa: E402

from workstation.analyses.coronary_cta.panel import OVERLAY_KEY, CoronaryPanel  # noqa: E402
from workstation.analyses.panel_api import ViewerContext  # noqa: E402
from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.core.overlays import LabelOverlay  # noqa: E402
from workstation.jobs.runner import JobRunner  # noqa: E402

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def tube() -> Tube:
    return make_tube(helix(), 40.0, narrowings=(Narrowing(20.0, 8.0, 60.0),), seed=7)


def _voxel(tube: Tube, s: float) -> tuple[int, int, int]:
    z, y, x = np.rint(tube.volume.patient_to_index(tube.point_at(s))).astype(int)
    return int(z), int(y), int(x)


def test_panel_traces_picked_points_and_links_its_views(qtbot: QtBot, tube: Tube, tmp_path: Path) -> None:
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CoronaryPanel(context)
    qtbot.addWidget(panel)
    panel.resize(460, 680)
    panel.show()
    context.set_loaded(None, None, tube.volume)
    context.voxel_clicked.emit(_voxel(tube, 0.0))  # not picking yet: ignored
    assert panel.points.rowCount() == 0
    panel.pick_button.setChecked(True)
    for s in (0.0, 40.0):
        context.voxel_clicked.emit(_voxel(tube, s))
    names, points = panel.points.vessels()
    assert names == ("",) and len(points[0]) == 2
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=90000)
    result = panel.result
    (vessel,) = result.vessels
    assert panel.stenoses.rowCount() == 1 and panel.stenoses.item(0, 4).text() == "moderate"
    assert "CAD-RADS 3" in panel.cad_rads.text()
    assert panel.tabs.currentWidget() is panel.views
    overlay = context.overlays[OVERLAY_KEY]
    assert isinstance(overlay, LabelOverlay) and int(overlay.labels.max()) == 1

    # The views open on the worst stenosis; the plot, the MPRs and the table move the crosshair.
    views = panel.views
    assert views.position_mm == pytest.approx(vessel.stenoses[0].position_mm)
    assert views.curved_pane.image_shape[0] > 100 and views.straight_pane.image_shape[0] > 100
    with qtbot.waitSignal(context.focus_requested) as focus:
        views.set_position(10.0)
    point = vessel.centreline_mm[vessel.section_at(10.0)]
    np.testing.assert_allclose(focus.args[0], np.rint(tube.volume.patient_to_index(point)), atol=0.5)
    vb = views.plot.getPlotItem().vb
    (_, _), (y0, y1) = vb.viewRange()
    scene_point = vb.mapViewToScene(QPointF(30.0, 0.5 * (y0 + y1)))  # a click on the plot at 30 mm
    with qtbot.waitSignal(context.focus_requested):
        qtbot.mouseClick(views.plot.viewport(), Qt.MouseButton.LeftButton, pos=views.plot.mapFromScene(scene_point))
    assert views.position_mm == pytest.approx(30.0, abs=0.5)
    before = views.curved_pane._gray.copy()
    views.angle.setValue(90)
    assert views.curved_pane._gray.shape != before.shape or np.any(views.curved_pane._gray != before)
    panel.stenoses.selectRow(0)
    assert views.position_mm == pytest.approx(vessel.stenoses[0].position_mm)

    # The user's name wins over the suggestion everywhere.
    views.name_combo.setEditText("LAD")
    views._rename()
    assert panel.result.vessels[0].name == "LAD" and panel.stenoses.item(0, 0).text() == "LAD"
    assert context.overlays[OVERLAY_KEY].names == {1: "LAD"}

    written = panel.export(tmp_path / "export")
    assert sorted(p.name for p in written) == ["coronary-cta.json", "coronary_cta_report.pdf", "coronary_profile.csv"]
    assert '"name": "LAD"' in (tmp_path / "export" / "coronary-cta.json").read_text()
    hint = panel.minimumSizeHint()
    assert hint.width() <= 480 and hint.height() <= 660  # a dock on a 1366x768 screen
    context.jobs.wait()


def test_typed_points_with_a_fault_say_which_vessel(qtbot: QtBot, tube: Tube) -> None:
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CoronaryPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(None, None, tube.volume)
    panel.points.add_vessel("RCA", "1,2,3; 4,5")
    panel.start()
    assert panel.result is None and "vessel 1" in panel.status.text()
    context.jobs.wait()
