"""The PACS features of the main window: a PACS menu, the local database dock, indexing.

:func:`install_pacs` adds them to a :class:`~workstation.ui.main_window.MainWindow`
without the window knowing their insides: the PACS menu (query/retrieve dialog, local
database, send to PACS, receive pushed studies), the local database dock under the
study browser, indexing of every folder the user opens, and opening of studies from
the PACS dialog or the database in the browser and the viewer, and the PACS page of the
settings dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from workstation.io.dicom_scan import ScanResult
from workstation.ui.database_search import DatabaseDock
from workstation.ui.loading import pick_default_series
from workstation.ui.pacs_dialog import PacsDialog
from workstation.ui.pacs_page import TITLE, PacsPage
from workstation.ui.pacs_send import SendToPacs
from workstation.ui.pacs_service import PacsService
from workstation.ui.settings_dialog import PacsPlaceholderPage, register_page


class PacsIntegration(QObject):
    """What :func:`install_pacs` adds; stops our storage SCP when the window closes."""

    def __init__(self, window: Any, service: PacsService | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.service = service or PacsService(window.context, window.settings)
        self.dock = DatabaseDock(self.service, window)
        window.tabifyDockWidget(window.browser, self.dock)  # (added first elsewhere, Qt leaves a stray tab bar)
        window.browser.raise_()
        self.send_to_pacs = SendToPacs(self.service, window)
        self.dialog: PacsDialog | None = None
        self._build_menu(window)
        register_page("pacs", TITLE, lambda: PacsPage(self.service))
        window.loader.scanned.connect(self.dock.index_scan)
        self.dock.study_opened.connect(self.show_study)
        window.installEventFilter(self)

    def _build_menu(self, window: QMainWindow) -> None:
        bar = window.menuBar()
        self.menu = QMenu("&PACS", window)
        help_menu = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_menu is None:
            bar.addMenu(self.menu)
        else:
            bar.insertMenu(help_menu, self.menu)
        items = (("&Query / retrieve…", self.show_dialog, "Ctrl+Shift+P"),
                 ("Send results &folder to PACS…", self.send_to_pacs.choose_and_send, "Ctrl+Shift+U"),
                 ("Send fi&les to PACS…", self.choose_files, "Ctrl+Alt+U"))
        for text, slot, key in items:
            action = self.menu.addAction(text)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
        self.listen_action = QAction("&Receive pushed studies", self.menu)
        self.listen_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        self.listen_action.setCheckable(True)
        self.listen_action.setChecked(self.service.listening)
        self.listen_action.toggled.connect(self.set_listening)
        self.menu.addAction(self.listen_action)
        self.menu.addSeparator()
        toggle = self.dock.toggleViewAction()
        toggle.setText("Local &database")
        toggle.setShortcut(QKeySequence("Alt+8"))
        self.menu.addAction(toggle)

    def show_dialog(self) -> PacsDialog:
        if self.dialog is None:
            self.dialog = PacsDialog(self.service, self.window)
            self.dialog.study_opened.connect(self.show_study)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.window, "DICOM files to send", str(self.service.results_dir))
        if files:
            self.send_to_pacs.send_paths([Path(f) for f in files])

    def set_listening(self, on: bool) -> None:
        from dataclasses import replace

        self.service.save(replace(self.service.config, listen=on))
        self.listen_action.setChecked(self.service.listening)

    def show_study(self, result: ScanResult) -> None:
        """Show a study from the database or the PACS in the browser and load its largest series."""
        for problem in result.problems:
            self.window.load_report.add_row(str(problem.path), problem.reason)
        if not result.studies:
            self.window.notify("Nothing to show", "The study holds no image series (any more).")
            return
        self.window.browser.add_scan(result)
        choice = pick_default_series(result.studies)
        if choice is not None:
            self.window.loader.load_series(*choice)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.service.shutdown()
            register_page("pacs", PacsPlaceholderPage.title, PacsPlaceholderPage)  # no page bound to a closed window
        return False


def install_pacs(window: Any) -> PacsIntegration:
    """Add the PACS menu, the local database dock and indexing to ``window``."""
    return PacsIntegration(window)
