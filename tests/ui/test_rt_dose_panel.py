"""The RT dose dock on the demo plan: DVHs and metrics, dose wash, isodose lines, outlines, optimisation, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt

from dicom_validation import assert_valid_dicom
from workstation.analyses.panel_api import ViewerContext
from workstation.analyses.rt_dose.panel import KEYS, RtDosePanel
from workstation.analyses.rt_dose.prepare import example_study
from workstation.compute.backend import cpu_backend
from workstation.core.overlays import ContourOverlay, IsolineOverlay, ScalarOverlay
from workstation.io.dicom import load_series, scan
from workstation.jobs.runner import JobRunner
from workstation.ui.overlay_lines import describe_at
from workstation.ui.viewer2d import SliceViewer

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def plan_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plan")
    example_study(folder)
    return folder


@pytest.fixture()
def context(plan_folder: Path) -> ViewerContext:
    ctx = ViewerContext(JobRunner(backend=cpu_backend()))
    (study,) = [s for s in scan(plan_folder).studies if s.series]
    ct = next(s for s in study.series if s.modality == "CT")
    ctx.set_loaded(study, ct, load_series(ct))
    return ctx


def _computed(qtbot, context: ViewerContext) -> RtDosePanel:  # type: ignore[no-untyped-def]
    panel = RtDosePanel(context)
    qtbot.addWidget(panel)
    panel.start()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=120_000)
    return panel


def test_dvhs_metrics_and_overlays(qtbot, context: ViewerContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _computed(qtbot, context)
    result = panel.result
    names = [s.name for s in result.structures]
    assert {"BODY", "PTV", "SpinalCanal"} <= set(names)
    assert panel.table.rowCount() == len(names) and panel.metrics.rowCount() == len(names)
    assert len(panel.plot.listDataItems()) >= len(names)
    overlays = context.overlays
    assert isinstance(overlays[KEYS["wash"]], ScalarOverlay) and isinstance(overlays[KEYS["isodose"]], IsolineOverlay)
    structures = overlays[KEYS["structures"]]
    assert isinstance(structures, ContourOverlay) and len(structures.outlines) == len(names)
    iso = overlays[KEYS["isodose"]]
    assert iso.levels == pytest.approx(tuple(60.0 * p / 100 for p in (95, 80, 50, 20)))

    volume = context.volume
    ptv = result.structure("PTV")
    centre = np.rint(volume.patient_to_index((-80.0, 0.0, -15.0))).astype(int)
    voxel = (int(centre[0]), int(centre[1]), int(centre[2]))
    text = describe_at(context.overlays, voxel)
    assert "Dose" in text and "PTV" in text and "Lung_R" in text
    assert float(overlays[KEYS["wash"]].values[voxel]) == pytest.approx(ptv.metrics.mean_gy, abs=3.0)

    viewer = SliceViewer(context)
    qtbot.addWidget(viewer)
    viewer.set_index(voxel[0])
    drawn = len(viewer.lines.items)
    assert drawn >= len(names) + 2  # every structure's outline and isodose lines on the tumour's slice
    panel.table.item(names.index("BODY"), 0).setCheckState(Qt.CheckState.Unchecked)
    assert len(viewer.lines.items) < drawn and "BODY" not in describe_at(context.overlays, voxel)
    panel.isodose_checks[20.0].setChecked(False)
    assert len(context.overlays[KEYS["isodose"]].levels) == 3
    panel.vmin.setValue(30.0)
    assert context.overlays[KEYS["wash"]].transparent_below == 30.0

    panel.dose_axis.setCurrentIndex(1)  # % of prescription
    first = panel.plot.listDataItems()[0]  # every curve shares one dose axis
    assert first.xData[-1] == pytest.approx(result.structures[0].dvh.dose_gy[-1] / 60.0 * 100.0)
    panel.curve_kind.setCurrentIndex(1)  # differential, % volume: the bins add up to the whole structure
    assert float(np.sum(panel.plot.listDataItems()[0].yData)) == pytest.approx(100.0)
    written = panel.export(tmp_path / "out")
    assert {p.name for p in written} == {"dvh.csv", "dvh_differential.csv", "dvh_metrics.csv", "rt_dose_report.pdf"}


def test_optimise_streams_the_objective_and_exports_rtdose(qtbot, context: ViewerContext,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    panel = _computed(qtbot, context)
    tab = panel.plan_tab
    assert tab.optimise_button.isEnabled() and tab.table.rowCount() >= 3
    tab.iterations.setValue(15)
    tab.compression.setCurrentText("sparse+lowrank")
    seen: list[int] = []
    tab.stream.iterated.connect(lambda k, _f: seen.append(k))
    with qtbot.waitSignal(tab.plan_ready, timeout=180_000):
        tab.optimise_button.click()
    assert seen[:3] == [0, 1, 2] and seen.count(0) == 2  # two runs streamed: full, then compressed
    assert [r.matrix for r in tab.runs()] == ["full", "sparse+lowrank"]
    assert all(values[-1] < values[0] for values in tab._trace)
    assert len(panel.plot.listDataItems()) >= 3 * len(panel.result.structures)  # ours + both plans
    written = tab.export_plan(tmp_path / "plan")
    assert {p.name for p in written} == {"plan.json", "rtdose.dcm"}
    assert_valid_dicom([tmp_path / "plan" / "rtdose.dcm"])
    assert pydicom.dcmread(tmp_path / "plan" / "rtdose.dcm").StudyInstanceUID == context.study.uid


def test_demo_plan_opens_from_the_menu(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from workstation.core.rt import RtDose, RtPlan, StructureSet
    from workstation.ui.main_window import MainWindow

    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loader.series_loaded, timeout=240_000):
        win.open_demo("rt_plan")
    study = win.context.study
    assert study is not None and any(s.modality == "CT" for s in study.series)
    assert all(study.objects_of(kind) for kind in (StructureSet, RtPlan, RtDose))
    assert (tmp_path / "demo" / "rt_plan" / "influence.npz").is_file()
    win.context.jobs.wait(20000)
    win.close()
