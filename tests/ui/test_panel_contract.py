"""Every registered analysis's dock offers the AnalysisPanel protocol; controls come from the params."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from workstation.analyses import get, names
from workstation.analyses.base import AnalysisPanel
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.panel_api import ViewerContext
from workstation.analyses.panel_controls import ParamControls
from workstation.compute.backend import cpu_backend
from workstation.jobs.runner import JobRunner
from workstation.ui.panels import load_panel_class

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("name", names())
def test_panel_is_an_analysis_panel(qtbot: QtBot, name: str, tmp_path: Path) -> None:
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    panel = load_panel_class(get(name).panel or "")(context)
    qtbot.addWidget(panel)
    assert isinstance(panel, AnalysisPanel)
    assert panel.result is None
    assert panel.export(tmp_path / "out") == []  # nothing to export yet: no file, no exception
    panel.start()  # nothing loaded: nothing happens
    context.jobs.wait()


def test_controls_follow_the_declarations(qtbot: QtBot) -> None:
    controls = ParamControls(CalciumParams, ("threshold_hu", "age", "sex", "auto_exclude"))
    spin = controls["threshold_hu"]
    assert (spin.minimum(), spin.maximum(), spin.suffix()) == (50.0, 1000.0, " HU")
    assert controls.value("age") is None and controls["age"].specialValueText() == "unknown"
    controls.set_value("age", 61.0)
    controls.set_value("sex", "F")
    controls["threshold_hu"].setValue(200.0)
    params = controls.params(race="white")
    assert (params.threshold_hu, params.age, params.sex, params.race, params.auto_exclude) == (200.0, 61.0, "F",
                                                                                              "white", True)
    assert [controls["sex"].itemText(i) for i in range(controls["sex"].count())] == ["unknown", "M", "F"]
