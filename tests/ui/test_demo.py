"""The main window opens the bundled demo chest CT through the real scan and load jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.jobs.runner import JobRunner
from workstation.ui.main_window import MainWindow


def test_demo_chest_ct_opens(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("workstation.io.dicom")
    pytest.importorskip("workstation.demo.chest_ct")
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    with qtbot.waitSignal(win.loader.series_loaded, timeout=60000):
        win.open_demo()
    vol = win.context.volume
    assert vol is not None and vol.modality == "CT" and vol.shape[1:] == (512, 512)
    view = win.area.axial
    assert view.plane is not None and view.plane.edge_labels(vol)["left"] == "R"
    # mediastinal window by default: lung (-850 HU) black, soft tissue grey, bone white
    gray = view.rendered_gray()
    values = view.slice_values()
    assert np.all(gray[values < -200] == 0) and np.all(gray[values > 300] == 255)
    assert 60 < np.median(gray[(values > 0) & (values < 80)]) < 160
    win.context.jobs.wait(20000)
    win.close()
