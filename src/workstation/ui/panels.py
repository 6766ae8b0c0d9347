"""Analysis docks built from the registry: one menu entry per analysis, panels made lazily.

Each registered analysis names its panel as ``"module:Class"``.  The class is imported
and instantiated with the :class:`ViewerContext` the first time its menu entry is
chosen, and wrapped in a dock (unless it already is one).  A broken analysis or panel
shows an error entry and a message; the application keeps running.

Docks fit a 1366x768 screen: each panel sits in a scroll area (its own minimum size
never becomes the window's), analysis docks share one tabbed place on the right, and
View > Analysis panels shows or hides each of them.
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QMenu, QMessageBox, QScrollArea, QWidget

from workstation.analyses import registry
from workstation.analyses.panel_api import ViewerContext

log = logging.getLogger(__name__)
#: Smallest size of an analysis dock; its panel scrolls inside.
DOCK_MIN = (260, 180)


def load_panel_class(spec: str) -> type:
    """Import ``"module:Class"`` and return the class (``ImportError`` names the fault)."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ImportError(f"panel {spec!r} is not of the form 'module:Class'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f"{module_name} has no class {class_name}") from None


class AnalysisDocks:
    """Fills the Analyses menu and creates each analysis dock on demand."""

    def __init__(
        self,
        window: QMainWindow,
        context: ViewerContext,
        menu: QMenu,
        report_error: Optional[Callable[[str, str], None]] = None,
        view_menu: Optional[QMenu] = None,
    ) -> None:
        self.window, self.context, self.menu = window, context, menu
        self.view_menu = view_menu
        self.report_error = report_error or self._message_box
        self.docks: dict[str, QDockWidget] = {}
        self.errors: dict[str, str] = {}
        self.actions: dict[str, QAction] = {}
        self.toggles: dict[str, QAction] = {}
        self.build_menu()

    def build_menu(self) -> None:
        self.menu.clear()
        names = registry.names()
        if not names:
            self.menu.addAction("(no analyses installed)").setEnabled(False)
        for i, name in enumerate(names):
            try:
                analysis = registry.get(name)
                title = analysis.title
                if not analysis.panel:
                    raise ImportError("it declares no panel")
            except Exception as exc:  # a broken plugin must not stop the application
                self._mark_broken(name, name, f"{type(exc).__name__}: {exc}")
                continue
            action = self.menu.addAction(title)
            action.setObjectName(f"analysis_{name}")
            if i < 9:
                action.setShortcut(f"Ctrl+Shift+{i + 1}")
            action.triggered.connect(lambda _=False, n=name: self.show(n))
            self.actions[name] = action
            self._add_toggle(name, title)

    def _add_toggle(self, name: str, title: str) -> None:
        """A View-menu entry that shows (creating) or hides the analysis dock."""
        if self.view_menu is None:
            return
        toggle = self.view_menu.addAction(f"{title} panel")
        toggle.setCheckable(True)
        toggle.setObjectName(f"view_analysis_{name}")
        toggle.triggered.connect(lambda checked, n=name: self.show(n) if checked else self.hide(n))
        self.toggles[name] = toggle

    def panel(self, name: str) -> Optional[QWidget]:
        """The panel widget of analysis ``name`` (inside its dock's scroll area), if created."""
        dock = self.docks.get(name)
        inner = dock.widget() if dock is not None else None
        return inner.widget() if isinstance(inner, QScrollArea) else inner

    def hide(self, name: str) -> None:
        dock = self.docks.get(name)
        if dock is not None:
            dock.hide()
    def _mark_broken(self, name: str, title: str, error: str) -> None:
        log.error("analysis %s unavailable: %s", name, error)
        self.errors[name] = error
        old = self.actions.pop(name, None)
        action = QAction(f"{title} (unavailable)", self.menu)
        action.setToolTip(error)
        action.setObjectName(f"analysis_{name}")
        action.triggered.connect(lambda _=False: self.report_error(f"{title} is unavailable", error))
        if old is not None:
            self.menu.insertAction(old, action)
            self.menu.removeAction(old)
        else:
            self.menu.addAction(action)
        self.actions[name] = action

    def show(self, name: str) -> Optional[QDockWidget]:
        """Show (creating on first use) the dock of analysis ``name``; ``None`` if broken."""
        if name in self.errors:
            self.report_error(f"{name} is unavailable", self.errors[name])
            return None
        dock = self.docks.get(name)
        if dock is None:
            analysis = registry.get(name)
            try:
                cls = load_panel_class(analysis.panel or "")
                widget: QWidget = cls(self.context)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._mark_broken(name, analysis.title, error)
                self.report_error(f"{analysis.title} is unavailable", error)
                return None
            dock = self._dock(analysis.title, widget)
            dock.setObjectName(f"analysis_dock_{name}")
            dock.setAccessibleName(analysis.title)
            right = Qt.DockWidgetArea.RightDockWidgetArea
            # one tab group on the right (the other panels, the report): each panel gets the column's height
            others = [d for d in self.window.findChildren(QDockWidget) if d is not dock and not d.isFloating()
                      and not d.isHidden() and self.window.dockWidgetArea(d) == right]
            self.window.addDockWidget(right, dock)
            if others:
                self.window.tabifyDockWidget(others[-1], dock)
            self.docks[name] = dock
            toggle = self.toggles.get(name)
            if toggle is not None:
                dock.visibilityChanged.connect(lambda _v, t=toggle, d=dock: t.setChecked(not d.isHidden()))
        dock.show()
        dock.raise_()
        toggle = self.toggles.get(name)
        if toggle is not None:
            toggle.setChecked(True)
        return dock

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        """A dock holding ``widget`` in a scroll area, so that its size never sets the window's."""
        dock = widget if isinstance(widget, QDockWidget) else QDockWidget(title, self.window)
        inner = dock.widget() if isinstance(widget, QDockWidget) else widget
        if inner is not None and not isinstance(inner, QScrollArea):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setAccessibleName(f"{title} panel")
            scroll.setWidget(inner)
            dock.setWidget(scroll)
        dock.setMinimumSize(*DOCK_MIN)
        return dock

    def _message_box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
