"""The calcium panel on the demo CT: run, table, artery assignment, overlay, export."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from workstation.analyses.calcium.panel import CalciumPanel
from workstation.analyses.panel_api import ViewerContext
from workstation.core.overlays import LabelOverlay
from workstation.compute.backend import cpu_backend
from workstation.demo.chest_ct import write_chest_ct
from workstation.io.dicom import load_series, scan
from workstation.jobs.runner import JobRunner

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("calcium_panel") / "demo_study"
    truth = write_chest_ct(folder)
    return folder, truth


def test_panel_scores_assigns_and_exports(qtbot, demo_folder) -> None:  # type: ignore[no-untyped-def]
    folder, truth = demo_folder
    study = scan([folder]).studies[0]
    series = study.series[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CalciumPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(study, series, load_series(series))
    # An earlier score of the same patient, exported beside an older study folder.
    earlier = folder.parent / "older_study_results"
    earlier.mkdir(exist_ok=True)
    (earlier / "calcium.json").write_text(json.dumps(
        {"patient_id": "DEMO-0001", "study_date": "2021-01-15", "agatston_total": 100.0, "study_uid": "old"}))
    assert panel.age.value() == 55 and panel.sex.currentText() == "M"  # prefilled from the header

    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    result = panel.result
    assert result.agatston_total == pytest.approx(truth.agatston_total)
    assert panel.lesion_table.rowCount() == len(truth.lesions)
    assert panel.artery_table.total_text("Total") == f"{truth.agatston_total:.1f}"
    assert "MESA percentile" in panel.percentile_label.text()
    # sqrt(226.38) - sqrt(100) = 5.05 >= 2.5: progression by the Hokanson rule.
    assert "2021-01-15 -> 2024-01-15: +126.4" in panel.trend_label.text()
    assert "significant" not in panel.trend_label.text() and "progression" in panel.trend_label.text()
    overlay = context.overlays["calcium"]
    assert isinstance(overlay, LabelOverlay) and overlay.show_in_3d and int(overlay.labels.max()) == 4

    # Selecting a row centres the viewers on that lesion.
    with qtbot.waitSignal(context.focus_requested) as focus:
        panel.lesion_table.selectRow(0)
    z, y, x = focus.args[0]
    assert result.lesion_at((z, y, x)) == result.lesions[0].id

    # Click-to-assign: the RCA lesion at the crux is reassigned to LCX by a click.
    target = [les for les in result.lesions if les.artery == "RCA"][0]
    panel.click_assign.setChecked(True)
    panel.assign_artery.setCurrentText("LCX")
    k = target.slice_indices[0]
    context.voxel_clicked.emit((k, int(round(target.centroid_index[1])), int(round(target.centroid_index[2]))))
    assert panel.result.lesion(target.id).artery == "LCX"
    rca = truth.per_artery()["RCA"]["agatston"] - target.agatston
    assert panel.artery_table.total_text("RCA") == f"{rca:.1f}"

    # The artery cell of the table does the same.
    row = [les.id for les in panel.result.lesions].index(target.id)
    panel.lesion_table.artery_combo(row).setCurrentText("none")
    assert panel.result.agatston_total == pytest.approx(truth.agatston_total - target.agatston)

    # No race in the header: no percentile, but each MESA group's; choosing one gives it.
    assert panel.result.percentile is None and "race not given" in panel.percentile_label.text()
    panel.race.setCurrentIndex(panel.race.findData("white"))
    assert panel.result.race == "white" and panel.result.race_source == "entered"
    assert "MESA white reference" in panel.percentile_label.text()
    # Age edits change the percentile without rescoring.
    before = panel.result.percentile
    panel.age.setValue(75)
    assert panel.result.percentile < before

    before_files = sorted(p.name for p in folder.iterdir())
    pdf, record = panel.export()
    assert pdf.parent == folder.parent / "demo_study_results"
    assert sorted(p.name for p in folder.iterdir()) == before_files  # nothing written into the source
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert f"{panel.result.agatston_total:.1f}" in text and "not a medical device" in text
    assert '"artery": "none"' in record.read_text()
    # "Folder..." picks where the Export button writes; the dialog starts at the default folder.
    asked: list[str] = []
    chosen = folder.parent / "chosen_out"

    def choose(_parent: object, _title: str, start: str) -> str:
        asked.append(start)
        return str(chosen)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("PySide6.QtWidgets.QFileDialog.getExistingDirectory", choose)
        panel.choose_button.click()
    panel.export_button.click()
    assert asked == [str(folder.parent / "demo_study_results")]
    assert sorted(p.name for p in chosen.iterdir()) == sorted([pdf.name, record.name])
    context.jobs.wait()


def test_one_slice_numbering_everywhere_and_totals_row_seen(qtbot, demo_folder) -> None:  # type: ignore[no-untyped-def]
    """The table, the JSON and the PDF number slices from 1, as the viewer does; selecting a
    lesion shows a slice whose number (as the viewer prints it) is one the table lists."""
    from workstation.ui.viewer2d import SliceViewer

    folder, _truth = demo_folder
    study = scan([folder]).studies[0]
    series = study.series[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CalciumPanel(context)
    viewer = SliceViewer(context)
    qtbot.addWidget(panel)
    qtbot.addWidget(viewer)
    context.set_loaded(study, series, load_series(series))
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    for row, les in enumerate(panel.result.lesions):
        shown = panel.lesion_table.item(row, 1).text()
        lo, _, hi = shown.partition("-")
        assert int(lo) == min(les.slice_indices) + 1 and int(hi or lo) == max(les.slice_indices) + 1
        panel.lesion_table.selectRow(row)
        assert int(lo) <= viewer.index + 1 <= int(hi or lo)  # the viewer prints index + 1 of n
    js = panel.result.to_json()
    assert [les["slice_numbers"] for les in js["lesions"]] == [list(les.slice_numbers) for les in panel.result.lesions]
    assert "from 1" in js["slice_numbering"] and "slice_indices" not in js["lesions"][0]
    pdf, _record = panel.export(folder.parent / "numbering_out")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "numbered from 1" in text
    first = panel.result.lesions[0]
    assert f"slice {first.slice_numbers[0]}" in text or f"slice {first.slice_numbers[-1]}" in text
    # the totals row of the artery table is inside the table's viewport, not cut off
    panel.resize(320, 500)
    panel.show()
    qtbot.waitExposed(panel)
    table = panel.artery_table
    last = table.visualItemRect(table.item(table.rowCount() - 1, 0))
    assert table.item(table.rowCount() - 1, 0).text() == "Total"
    assert table.viewport().rect().contains(last)
    context.jobs.wait()


def test_panel_shows_chd_risk_with_and_without_cac_side_by_side(qtbot, demo_folder) -> None:  # type: ignore[no-untyped-def]
    from workstation.analyses.calcium import chd_risk

    folder, truth = demo_folder
    study = scan([folder]).studies[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = CalciumPanel(context)
    qtbot.addWidget(panel)
    context.set_loaded(study, study.series[0], load_series(study.series[0]))
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    assert "risk factors not given" in panel.chd_label.text()

    panel.factors_box.setChecked(True)
    panel.race.setCurrentIndex(panel.race.findData("black"))
    f = panel.factors
    for name, value in (("total_cholesterol", 220.0), ("hdl", 40.0), ("sbp", 145.0)):
        f[name].setValue(value)
    for name, value in (("bp_medication", True), ("lipid_medication", False), ("smoker", True),
                        ("diabetes", False), ("family_history", False)):
        f[name].setCurrentIndex(f[name].findData(value))
    factors = chd_risk.RiskFactors(age=55, sex="M", race="black", total_cholesterol=220, hdl=40, sbp=145,
                                   bp_medication=True, lipid_medication=False, smoker=True, diabetes=False,
                                   family_history=False)
    expected = chd_risk.chd_risk(factors, truth.agatston_total)
    text = panel.chd_label.text()
    assert f"with CAC {expected.with_cac_pct:.1f} %" in text and f"without CAC {expected.without_cac_pct:.1f} %" in text
    assert panel.result.agatston_total == pytest.approx(truth.agatston_total)  # not rescored
    panel.factors["known_chd"].setChecked(True)
    assert "without known CHD" in panel.chd_label.text()
    context.jobs.wait()
