"""Analysis docks built from the registry: one menu entry per analysis, panels made lazily.

Each registered analysis names its panel as ``"module:Class"``.  The class is imported
and instantiated with the :class:`ViewerContext` the first time its menu entry is
chosen, and wrapped in a dock (unless it already is one).  A broken analysis or panel
shows an error entry and a message; the application keeps running.
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QMessageBox, QWidget

from workstation.analyses import registry
from workstation.analyses.panel_api import ViewerContext

log = logging.getLogger(__name__)


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
    ) -> None:
        self.window, self.context, self.menu = window, context, menu
        self.report_error = report_error or self._message_box
        self.docks: dict[str, QDockWidget] = {}
        self.errors: dict[str, str] = {}
        self.actions: dict[str, QAction] = {}
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
            if isinstance(widget, QDockWidget):
                dock = widget
            else:
                dock = QDockWidget(analysis.title, self.window)
                dock.setWidget(widget)
            dock.setObjectName(f"analysis_dock_{name}")
            dock.setAccessibleName(analysis.title)
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.docks[name] = dock
        dock.show()
        dock.raise_()
        return dock

    def _message_box(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
