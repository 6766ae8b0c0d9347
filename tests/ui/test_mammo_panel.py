"""The mammography CAD dock: run on the demo study, marks drawn, table, selection, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from workstation.analyses.mammo_cad.panel import KIND_COLOURS, SELECTED, MammoCadPanel
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, write_mammo
from workstation.jobs.runner import JobRunner


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mg_demo")
    write_mammo(folder, DEMO_SEED, findings=DEMO_FINDINGS)
    return folder


def _colour_fraction(image: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.all(np.abs(image[..., :3].astype(int) - np.array(rgb)) <= 30, axis=-1).sum())


def _grab(widget: QWidget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)


def test_run_draw_select_export(qtbot: QtBot, demo_folder: Path, tmp_path: Path) -> None:
    from workstation.io.dicom import scan

    study = scan([demo_folder]).studies[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    context.set_loaded(study, study.series[0], None)
    panel = MammoCadPanel(context)
    qtbot.addWidget(panel)
    panel.resize(900, 1100)
    with qtbot.waitSignal(panel.result_ready, timeout=60000) as blocker:
        panel.run_button.click()
    result = blocker.args[0]
    assert panel.table.rowCount() == len(result.findings) > 0
    assert panel.suggestion.text() == result.suggestion.text
    # model -> view: every view with findings shows its mark colour inside the drawn box
    for key, view in panel.views.items():
        pixels = _grab(view)
        for f in view.findings:
            r = view.box_rect(f.box_px).toRect()
            edge = pixels[max(r.top(), 0): r.bottom() + 2, max(r.left(), 0): r.left() + 2]
            assert _colour_fraction(edge, KIND_COLOURS[f.kind].getRgb()[:3]) > 0, (key, f)
    # R views sit right-aligned in their tile (chest walls meet in the middle)
    rc = panel.views["R-CC"]
    assert rc.image_rect().right() == pytest.approx(rc.width(), abs=1)
    # view -> model: selecting a row highlights that mark only
    target = result.findings[-1]
    panel.table.selectRow(len(result.findings) - 1)
    view = panel.views[target.view]
    assert view.selected == target.id
    assert all(v.selected is None for k, v in panel.views.items() if k != target.view)
    r = view.box_rect(target.box_px).toRect()
    assert _colour_fraction(_grab(view)[max(r.top(), 0): r.bottom() + 2, max(r.left(), 0): r.left() + 3],
                            SELECTED.getRgb()[:3]) > 0
    # export: never into the source folder, files elsewhere
    assert panel.export(demo_folder / "out") == []
    assert "source folder" in panel.status.text()
    paths = panel.export_to(tmp_path / "export")
    assert (tmp_path / "export" / "mammo_cad_sr.dcm") in paths
    # a new study clears the marks
    context.set_loaded(None, None, None)
    assert panel.table.rowCount() == 0 and all(not v.findings for v in panel.views.values())
    assert not panel.export_button.isEnabled()
