"""The main window's menus: every command of the application, each with a key.

File (open, recent, demos, export, save annotations, settings, models, quit), Edit
(undo/redo of annotations, copy the measurements), View (layouts, hanging protocols,
image display, prior link, device, theme, docks, focus), Tools (mouse tools, DICOM
tags), Analyses (from the registry), Report (the report dock's actions) and Help
(shortcuts, manual); the PACS module adds its own menu before Help.  Another module adds an entry with
:meth:`Menus.add` (its menu by title).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from workstation.ui.demos import DEMOS
from workstation.ui.export_dialog import open_export_dialog
from workstation.ui.mpr import LAYOUTS
from workstation.ui.panels import AnalysisDocks
from workstation.ui.report_dock import ReportDock
from workstation.ui.theme import THEMES

if TYPE_CHECKING:
    from workstation.ui.main_window import MainWindow

LAYOUT_SHORTCUTS = {"2d": "Ctrl+1", "mpr-1x3": "Ctrl+2", "mpr-2x2": "Ctrl+3", "3d": "Ctrl+4"}
Shortcut = str | QKeySequence | QKeySequence.StandardKey


class Menus:
    """Builds and holds the menu bar of a :class:`~workstation.ui.main_window.MainWindow`."""

    def __init__(self, window: "MainWindow") -> None:
        self.w = window
        bar = window.menuBar()
        self.menus: dict[str, QMenu] = {}
        self.layout_actions: dict[str, QAction] = {}
        self.device_actions: dict[str, QAction] = {}
        self.theme_actions: dict[str, QAction] = {}
        self.protocol_actions: list[QAction] = []
        for title in ("&File", "&Edit", "&View", "&Tools", "&Analyses", "&Help"):
            self.menus[title.replace("&", "")] = bar.addMenu(title)
        self._file()
        self._edit()
        self._view()
        self._tools()
        self.analyses_menu = self.menus["Analyses"]
        self.analysis_docks = AnalysisDocks(window, window.context, self.analyses_menu, view_menu=self.panels_menu)
        self._report()
        self._help()
        self.rebuild_recent()

    def add(self, menu: str | QMenu, text: str, slot: Any, shortcut: Shortcut = "") -> QAction:
        """An action in ``menu`` (a menu or a top-level menu's title) calling ``slot``."""
        target = self.menus[menu] if isinstance(menu, str) else menu
        action = target.addAction(text)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    # -- File -----------------------------------------------------------------------
    def _file(self) -> None:
        w, m = self.w, self.menus["File"]
        self.add(m, "Open &folder…", w.choose_folder, QKeySequence.StandardKey.Open)
        self.add(m, "Open fi&le…", w.choose_files, "Ctrl+Shift+O")
        self.recent_menu = m.addMenu("Open &recent")
        demos = m.addMenu("Open &demo")
        for demo in DEMOS:
            self.add(demos, demo.title, lambda _=False, k=demo.key: w.open_demo(k), demo.shortcut)
        m.addSeparator()
        self.add(m, "&Export…", lambda: open_export_dialog(w.context, w.area, w), "Ctrl+E")
        self.add(m, "&Save annotations", w.store.save_now, QKeySequence.StandardKey.Save)
        m.addSeparator()
        self.add(m, "Se&ttings…", self.open_settings, "Ctrl+,")
        self.add(m, "&Models folder…", self.choose_models_folder, "Ctrl+Shift+M")
        m.addSeparator()
        self.add(m, "&Quit", w.close, "Ctrl+Q")

    def rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.w.recent_folders()
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            self.recent_menu.addAction(path).triggered.connect(lambda _=False, p=path: self.w.open_paths([p]))

    def choose_models_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        settings = self.w.settings
        current = settings.get("models/folder") if settings else ""
        folder = QFileDialog.getExistingDirectory(self.w, "Folder with your ONNX models", current)
        if folder and settings is not None:
            settings.set("models/folder", folder)

    def open_settings(self) -> Optional[Any]:
        from workstation.ui.settings import Settings
        from workstation.ui.settings_dialog import SettingsDialog

        settings = self.w.settings or Settings.wrap(None)
        if settings is None:
            self.w.notify("Settings", "This window keeps no settings.")
            return None
        dialog = SettingsDialog(settings, self.w)
        dialog.applied.connect(self.w.apply_settings)
        dialog.open()
        return dialog

    # -- Edit -----------------------------------------------------------------------
    def _edit(self) -> None:
        w, m = self.w, self.menus["Edit"]
        stack = w.annotations.undo_stack
        undo = stack.createUndoAction(m, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = stack.createRedoAction(m, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        m.addAction(undo)
        m.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        m.addSeparator()
        self.add(m, "&Copy measurements", w.measurements.copy, "Ctrl+Shift+C")
        self.add(m, "&Delete last annotation", w.annotations.remove_last, "Ctrl+Backspace")
        self.add(m, "C&lear annotations", w.annotations.clear, "Shift+Del")

    # -- View -----------------------------------------------------------------------
    def _view(self) -> None:
        w, m = self.w, self.menus["View"]
        group = QActionGroup(w)
        for key, title in LAYOUTS.items():
            action = self.add(m, title, lambda _=False, k=key: w.set_layout(k), LAYOUT_SHORTCUTS[key])
            action.setCheckable(True)
            group.addAction(action)
            self.layout_actions[key] = action
        self.protocols_menu = m.addMenu("&Hanging protocol")
        m.addSeparator()
        image = m.addMenu("&Image")
        area = w.area
        self.add(image, "&Invert grey scale", lambda: area.active_state().set_invert(not area.active_state().invert),
                 "I")
        self.add(image, "&True size", lambda: area.active_canvas().true_size(), "T")
        self.add(image, "&Mirror left-right", self._mirror, "M")
        self.add(image, "&Synchronise the prior here", area.prior.synchronise, "Ctrl+L")
        link = self.add(image, "&Link the prior's scrolling", lambda on: setattr(area.prior, "linked", bool(on)),
                        "Ctrl+Shift+L")
        link.setCheckable(True)
        link.setChecked(True)
        area.prior.link_changed.connect(link.setChecked)
        self._build_device_menu(m.addMenu("Compute &device"))
        self._build_theme_menu(m.addMenu("T&heme"))
        m.addSeparator()
        for dock, key in self.w.docks.standard():
            toggle = dock.toggleViewAction()
            toggle.setShortcut(QKeySequence(key))
            m.addAction(toggle)
        toolbar = w.toolbar.toggleViewAction()
        toolbar.setShortcut(QKeySequence("Alt+4"))
        m.addAction(toolbar)
        self.panels_menu = m.addMenu("Analysis &panels")
        m.addSeparator()
        self.add(m, "Focus the &next pane", lambda: w.docks.cycle_focus(1), "F6")
        self.add(m, "Focus the pre&vious pane", lambda: w.docks.cycle_focus(-1), "Shift+F6")

    def _mirror(self) -> None:
        canvas = self.w.area.active_canvas()
        if hasattr(canvas, "set_mirrored"):
            canvas.set_mirrored(not getattr(canvas, "mirrored", False))

    def _build_device_menu(self, menu: QMenu) -> None:
        group = QActionGroup(self.w)
        current = self.w.settings.get("compute/device") if self.w.settings else "auto"
        for key, text, keys in (("auto", "&Automatic", "Ctrl+Alt+A"), ("cpu", "&CPU (NumPy)", "Ctrl+Alt+C"),
                                ("cuda", "&GPU (CUDA)", "Ctrl+Alt+G")):
            action = self.add(menu, text, lambda _=False, k=key: self.w.set_device(k), keys)
            action.setCheckable(True)
            action.setChecked(key == current)
            group.addAction(action)
            self.device_actions[key] = action

    def _build_theme_menu(self, menu: QMenu) -> None:
        group = QActionGroup(self.w)
        current = self.w.settings.get("view/theme") if self.w.settings else "dark"
        for name, theme in THEMES.items():
            keys = "Ctrl+Alt+H" if name == "high-contrast" else "Ctrl+Alt+K"
            action = self.add(menu, f"&{theme.title}", lambda _=False, n=name: self.set_theme(n), keys)
            action.setCheckable(True)
            action.setChecked(name == current)
            group.addAction(action)
            self.theme_actions[name] = action

    def set_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        from workstation.ui.theme import apply_theme

        if self.w.settings is not None:
            self.w.settings.set("view/theme", name)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        self.theme_actions[name].setChecked(True)

    def rebuild_protocols(self) -> None:
        """The hanging protocols to choose from, then apply-best, save and reload."""
        from workstation.ui.hanging_protocols import all_protocols

        menu = self.protocols_menu
        menu.clear()
        self.protocol_actions = []
        for protocol in all_protocols(self.w.user_protocols):
            action = menu.addAction(protocol.name + ("  (yours)" if protocol.user else ""))
            action.triggered.connect(lambda _=False, p=protocol: self.w.loader.reload(p))
            self.protocol_actions.append(action)
        menu.addSeparator()
        self.add(menu, "&Best match for the study", lambda: self.w.loader.reload(None), "Ctrl+H")
        self.add(menu, "&Save the current layout as…", self.save_protocol, "Ctrl+Shift+H")
        self.add(menu, "&Reload your protocols", self.w.reload_protocols, "Ctrl+Alt+R")

    def save_protocol(self, name: Optional[str] = None) -> Optional[Any]:
        """Save the layout on screen as a protocol of yours for studies like the open one."""
        from workstation.ui.hanging import protocol_from_screen
        from workstation.ui.hanging_protocols import save_user_protocol

        if name is None:
            name, ok = QInputDialog.getText(self.w, "Save hanging protocol", "Name of the protocol:")
            if not ok or not name.strip():
                return None
        protocol = protocol_from_screen(name.strip(), self.w.area, self.w.context)
        try:
            path = save_user_protocol(protocol, self.w.protocols_folder)
        except OSError as exc:
            self.w.notify("Hanging protocol", f"The protocol could not be saved: {exc}")
            return None
        self.w.reload_protocols()
        self.w.statusBar().showMessage(f"Hanging protocol saved to {path}", 8000)
        return path

    # -- Report ---------------------------------------------------------------------------
    def _report(self) -> None:
        """The study report dock (right, beside the analysis panels) and its menu before Help."""
        from PySide6.QtCore import Qt

        w = self.w
        self.report_dock = ReportDock(w.context, self.analysis_docks, lambda: w.area.views, w.settings, w)
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.report_dock)
        self.report_dock.toggleViewAction().setShortcut(QKeySequence("Alt+6"))
        report_menu = self.report_dock.menu(w)
        w.menuBar().insertMenu(self.menus["Help"].menuAction(), report_menu)
        self.menus[report_menu.title().replace("&", "")] = report_menu

    # -- Tools and Help -------------------------------------------------------------------
    def _tools(self) -> None:
        m = self.menus["Tools"]
        for action in self.w.toolbar.tool_actions.values():
            m.addAction(action)
        m.addSeparator()
        self.add(m, "DICOM &tags…", self.show_tags, "Ctrl+T")

    def show_tags(self) -> Optional[Any]:
        from pathlib import Path

        from workstation.ui.tag_viewer import TagViewer

        path = self.w.area.shown_file()
        if path is None:
            self.w.notify("DICOM tags", "No image is shown.")
            return None
        viewer = TagViewer(Path(path), self.w)
        viewer.show()
        return viewer

    def _help(self) -> None:
        m = self.menus["Help"]
        self.add(m, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.add(m, "&Manual", self.show_manual, "Shift+F1")
        self.add(m, "&About", self.show_about, "Ctrl+Shift+F1")

    def show_shortcuts(self) -> Any:
        from workstation.ui.help import ShortcutsDialog, shortcut_rows

        dialog = ShortcutsDialog(shortcut_rows(self.w.menuBar(), list(self.w.toolbar.actions())), self.w)
        dialog.show()
        return dialog

    def show_manual(self) -> Any:
        from workstation.ui.help import ManualDialog

        dialog = ManualDialog(self.w)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        from workstation import __version__

        QMessageBox.about(self.w, "About Workstation", f"Workstation {__version__}\nNot for diagnostic use.")
