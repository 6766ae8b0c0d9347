"""The main window's docks and where they sit; cycling the keyboard focus through the panes.

Study browser and job dock share the left side, the load report, the measurements
table and the GPU monitor the bottom (tabbed as they appear), analysis panels and the
report the right (tabbed, :mod:`workstation.ui.panels`).  F6 / Shift+F6 move the keyboard focus from the image
view to each visible dock and back, so every pane is reachable without a mouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QPoint, Qt
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
        self._grouping = False
        for dock in self.bottom():
            dock.visibilityChanged.connect(lambda shown, d=dock: self._tab_with_shown(d, shown))
        for dock in (self.browser, self.jobs, self.load_report, self.measurements, self.gpu):
            dock.setMinimumSize(*SMALL_DOCK)
        window.resizeDocks([self.browser], [LEFT_WIDTH], Qt.Orientation.Horizontal)
        self.measurements.model.changed.connect(self._show_measurements)

    def bottom(self) -> tuple[QDockWidget, ...]:
        return self.load_report, self.measurements, self.gpu

    def hide_until_needed(self) -> None:
        """Hide the bottom docks (each is shown when it has something to show)."""
        for dock in self.bottom():
            dock.hide()

    def _tab_with_shown(self, dock: QDockWidget, shown: bool) -> None:
        """A bottom dock that appears joins the bottom dock already shown as a tab.

        Tabbed only when shown: Qt gives a tab group whose docks are all hidden a tab bar that
        stays on screen when another group (the browser's) forms later.
        """
        window = self.window
        if not shown or self._grouping or window.dockWidgetArea(dock) != Qt.DockWidgetArea.BottomDockWidgetArea:
            return
        others = [d for d in self.bottom() if d is not dock and d.isVisible() and not d.isFloating()
                  and window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
                  and d not in window.tabifiedDockWidgets(dock)]
        if others:
            self._grouping = True
            try:
                window.tabifyDockWidget(others[0], dock)
                dock.raise_()
            finally:
                self._grouping = False

    def _show_measurements(self) -> None:
        if self.measurements.model.items and self.measurements.isHidden():
            self.measurements.show()

    def standard(self) -> list[tuple[QDockWidget, str]]:
        """The docks of the View menu with their keys."""
        return [(self.browser, "Alt+1"), (self.jobs, "Alt+2"), (self.load_report, "Alt+3"),
                (self.measurements, "Alt+5"), (self.gpu, "Alt+7")]

    def panes(self) -> list[QWidget]:
        """Where F6 moves the focus: the active image view, then every visible dock's first control."""
        return [target for _, target in self._panes()]

    def _panes(self) -> list[tuple[QWidget, QWidget]]:
        """(container, focus target) of each pane: the image view itself, then the docks on screen."""
        canvas = self.window.area.active_canvas()
        out: list[tuple[QWidget, QWidget]] = [(canvas, canvas)]
        for dock in sorted(self.window.findChildren(QDockWidget), key=self._place):
            if self._on_screen(dock):
                target = self._focus_target(dock)
                if target is not None:
                    out.append((dock, target))
        return out

    def _on_screen(self, dock: QDockWidget) -> bool:
        """Shown and not a tab behind another (Qt keeps those "visible", moved out of the window)."""
        if not dock.isVisible():
            return False
        return dock.isFloating() or self.window.rect().intersects(dock.geometry())

    def _place(self, dock: QDockWidget) -> tuple[int, int, str]:
        """Reading order of a dock on screen (left to right, top to bottom, tabs by name):
        stable while docks are raised, which reorders the window's children."""
        corner = dock.mapTo(self.window, QPoint(0, 0))
        return corner.x(), corner.y(), dock.objectName()

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
        """Move the keyboard focus to the next (``step=1``) or previous pane; returns it.

        The pane holding the focus is found by container (a dock holds many controls, not
        only the first), so F6 from anywhere inside a dock goes on to the next one.
        """
        panes = self._panes()
        if not panes:
            return None
        focused = self.window.focusWidget()
        current = next((i for i, (box, _) in enumerate(panes) if focused is not None and
                        (box is focused or box.isAncestorOf(focused))), -1)
        target = panes[(current + step) % len(panes)][1]
        dock = target.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.raise_()
        target.setFocus(Qt.FocusReason.TabFocusReason)
        return target
