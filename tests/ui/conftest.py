"""Qt test setup: an X server (pytest-xvfb) for VisPy, a synthetic CT, leak checks."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from ui_phantom import synthetic_ct
from ui_windows import activate

from workstation.core.volume import Volume


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Pick the Qt platform once pytest-xvfb has started Xvfb (and set DISPLAY).

    VisPy needs a real GL platform (xcb); plain widgets also run offscreen without X.
    """
    os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else "offscreen"


@pytest.fixture
def ct() -> Volume:
    return synthetic_ct()


@pytest.fixture(autouse=True)
def no_leaked_windows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a Qt test that leaves a visible top-level window behind."""
    yield
    if "qtbot" not in request.fixturenames:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    app.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in leaked:
        w.close()
    assert not leaked, f"test left visible windows: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def area(qtbot: object, ct: Volume) -> object:
    """A viewer area (slice views sharing one view state) showing the synthetic CT."""
    from workstation.analyses.panel_api import ViewerContext
    from workstation.ui.mpr import ViewerArea

    area = ViewerArea(ViewerContext())
    qtbot.addWidget(area)  # type: ignore[attr-defined]
    area.resize(500, 420)
    area.show()
    qtbot.waitExposed(area)  # type: ignore[attr-defined]
    area.context.set_loaded(None, None, ct)
    return area


@pytest.fixture
def make_window(qtbot: object, tmp_path: object) -> Iterator[object]:
    """``make_window(settings=False, size=(1100, 800), active=False)``: a shown main window whose
    user folders (settings, hanging protocols, saved annotations) lie in ``tmp_path``."""
    from PySide6.QtCore import QSettings

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow

    made: list[MainWindow] = []

    def make(settings: bool = False, size: tuple[int, int] = (1100, 800), active: bool = False) -> MainWindow:
        store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat) if settings else None  # type: ignore[operator]
        win = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), store,
                         protocols_folder=tmp_path / "protocols", annotations_folder=tmp_path / "annotations")  # type: ignore[operator]
        qtbot.addWidget(win)  # type: ignore[attr-defined]
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)  # type: ignore[attr-defined]
        if active:
            activate(qtbot, win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.context.jobs.cancel_all()
        win.context.jobs.wait(10000)
