"""The main window's docks and where they sit; cycling the keyboard focus through the panes.

Study browser and job dock share the left side, the load report, the measurements
table and the GPU monitor the bottom (tabbed), analysis panels the right (tabbed,
:mod:`workstation.ui.panels`).  F6 / Shift+F6 move the keyboard focus from the image
view to each visible dock and back, so every pane is reachable without a mouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

from workstation.ui.gpu_monitor import GpuMonitorDock
from workstation.ui.job_dock import JobDock
from workstation.ui.load_report import LoadReportDock
from workstation.ui.measurements_dock import MeasurementsDock
from workstation.ui.study_browser import StudyBrowser

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

LEFT_WIDTH = 300
SMALL_DOCK = (220, 120)


class Docks:
    """Creates the standard docks of ``window`` and moves the focus between panes."""

    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self.browser = StudyBrowser(window.context, window)
        self.jobs = JobDock(window.context.jobs, window)
        self.load_report = LoadReportDock(window)
        self.measurements = MeasurementsDock(window.annotations, window)
        self.gpu = GpuMonitorDock(window)
        left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        window.addDockWidget(left, self.browser)
        window.addDockWidget(left, self.jobs)
        window.addDockWidget(bottom, self.load_report)
        window.addDockWidget(bottom, self.measurements)
        window.addDockWidget(bottom, self.gpu)
        window.tabifyDockWidget(self.load_report, self.measurements)
        window.tabifyDockWidget(self.measurements, self.gpu)
        for dock in (self.browser, self.jobs, self.load_report, self.measurements, self.gpu):
            dock.setMinimumSize(*SMALL_DOCK)
        for dock in (self.load_report, self.measurements, self.gpu):
            dock.hide()
        window.resizeDocks([self.browser], [LEFT_WIDTH], Qt.Orientation.Horizontal)
        self.measurements.model.changed.connect(self._show_measurements)

    def _show_measurements(self) -> None:
        if self.measurements.model.items and self.measurements.isHidden():
            self.measurements.show()

    def standard(self) -> list[tuple[QDockWidget, str]]:
        """The docks of the View menu with their keys."""
        return [(self.browser, "Alt+1"), (self.jobs, "Alt+2"), (self.load_report, "Alt+3"),
                (self.measurements, "Alt+5"), (self.gpu, "Alt+7")]

    def panes(self) -> list[QWidget]:
        """Where F6 moves the focus: the active image view, then every visible dock."""
        out: list[QWidget] = [self.window.area.active_canvas()]
        for dock in self.window.findChildren(QDockWidget):
            if dock.isVisible():
                target = self._focus_target(dock)
                if target is not None:
                    out.append(target)
        return out

    @staticmethod
    def _focus_target(dock: QDockWidget) -> Optional[QWidget]:
        """The first widget of a dock that takes the keyboard focus."""
        inner = dock.widget()
        if inner is None:
            return None
        for child in [inner, *inner.findChildren(QWidget)]:
            if type(child) is QScrollArea:
                continue  # the wrapper a panel scrolls in: its content takes the focus
            if child.isVisible() and child.isEnabled() and child.focusPolicy() & Qt.FocusPolicy.TabFocus:
                return child
        return None

    def cycle_focus(self, step: int = 1) -> Optional[QWidget]:
        """Move the keyboard focus to the next (``step=1``) or previous pane; returns it."""
        panes = self.panes()
        if not panes:
            return None
        focused = self.window.focusWidget()
        current = next((i for i, p in enumerate(panes) if focused is not None and
                        (p is focused or p.isAncestorOf(focused))), -1)
        target = panes[(current + step) % len(panes)]
        dock = target.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.raise_()
        target.setFocus(Qt.FocusReason.TabFocusReason)
        return target
