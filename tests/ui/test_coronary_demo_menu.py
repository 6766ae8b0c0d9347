"""File > Open demo coronary CTA writes the demo through a job and loads it (a small grid here)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.jobs.runner import JobRunner
from workstation.ui.main_window import MainWindow

pytestmark = pytest.mark.ui


def test_the_coronary_demo_opens_from_the_file_menu(qtbot: QtBot, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.demo.coronary_cta as demo

    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    small = partial(demo.write_coronary_cta, size=64, pixel_mm=3.0, n_slices=20, slice_mm=0.6)
    monkeypatch.setattr(demo, "write_coronary_cta", lambda folder, seed=0, progress=None: small(folder, seed))
    win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), None)
    qtbot.addWidget(win)
    actions = {a.text().replace("&", ""): a for a in win.menuBar().actions()[0].menu().actions()}
    with qtbot.waitSignal(win.loader.series_loaded, timeout=60000):
        actions["Open demo coronary CTA"].trigger()
    volume = win.context.volume
    assert volume is not None and volume.modality == "CT" and volume.shape == (20, 64, 64)
    assert (tmp_path / "demo" / "coronary_cta" / ".complete").is_file()
    win.context.jobs.wait(20000)
    win.close()
