"""The main window: viewer area, study browser, job dock, load report, menus, status bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.study import Series
from workstation.ui.job_dock import JobDock
from workstation.ui.load_report import LoadReportDock
from workstation.ui.loading import StudyLoader
from workstation.ui.mpr import LAYOUTS, ViewerArea
from workstation.ui.panels import AnalysisDocks
from workstation.ui.settings import Settings
from workstation.ui.study_browser import StudyBrowser
from workstation.ui.viewer_toolbar import ViewerToolBar

log = logging.getLogger(__name__)
MAX_RECENT = 8
LAYOUT_SHORTCUTS = {"2d": "Ctrl+1", "mpr-1x3": "Ctrl+2", "mpr-2x2": "Ctrl+3", "3d": "Ctrl+4"}


class MainWindow(QMainWindow):
    """The workstation window around a shared :class:`ViewerContext`.

    ``settings`` persists geometry, dock layout, recent folders and the chosen
    layout (read through :class:`~workstation.ui.settings.Settings`, so a bad stored
    value falls back to its default); pass ``None`` to keep nothing (tests).
    """

    def __init__(
        self, context: ViewerContext, settings: Settings | QSettings | None = None, parent: Optional[QWidget] = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = Settings.wrap(settings)
        self.setWindowTitle("Workstation")
        self.setObjectName("main_window")
        self.resize(1500, 950)
        self.area = ViewerArea(context, self)
        self.setCentralWidget(self.area)
        self.loader = StudyLoader(context, self)
        self.toolbar = ViewerToolBar(self.area, context, self)
        self.addToolBar(self.toolbar)
        self.browser = StudyBrowser(context, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.browser)
        self.job_dock = JobDock(context.jobs, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.job_dock)
        self.load_report = LoadReportDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.load_report)
        self.load_report.hide()
        self.resizeDocks([self.browser], [300], Qt.Orientation.Horizontal)
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore()

    # -- construction ---------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.device_label = QLabel()
        self.device_label.setAccessibleName("Compute device")
        self.readout_label = QLabel()
        self.readout_label.setAccessibleName("Cursor readout")
        self.statusBar().addWidget(self.readout_label, 1)
        self.statusBar().addPermanentWidget(self.device_label)
        self.device_timer = QTimer(self)
        self.device_timer.setInterval(3000)
        self.device_timer.timeout.connect(self.refresh_device)
        self.device_timer.start()
        self.refresh_device()

    def _action(
        self, menu: QMenu, text: str, slot: Any, shortcut: str | QKeySequence | QKeySequence.StandardKey = ""
    ) -> QAction:
        action = menu.addAction(text)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open fi&le…", self.choose_files, "Ctrl+Shift+O")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open &demo chest CT", self.open_demo, "Ctrl+D")
        self._action(file_menu, "Open demo cardiac &cine MR", self.open_demo_cine, "Ctrl+Alt+Shift+D")
        file_menu.addSeparator()
        self._action(file_menu, "&Models folder…", self.choose_models_folder, "Ctrl+Shift+M")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")
        view_menu = bar.addMenu("&View")
        group = QActionGroup(self)
        self.layout_actions: dict[str, QAction] = {}
        for key, title in LAYOUTS.items():
            action = self._action(view_menu, title, lambda _=False, k=key: self.set_layout(k), LAYOUT_SHORTCUTS[key])
            action.setCheckable(True)
            group.addAction(action)
            self.layout_actions[key] = action
        view_menu.addSeparator()
        self._build_device_menu(view_menu.addMenu("Compute &device"))
        view_menu.addSeparator()
        for widget, key in ((self.browser, "Alt+1"), (self.job_dock, "Alt+2"), (self.load_report, "Alt+3"),
                            (self.toolbar, "Alt+4")):
            toggle = widget.toggleViewAction()
            toggle.setShortcut(QKeySequence(key))
            view_menu.addAction(toggle)
        self.analyses_menu = bar.addMenu("&Analyses")
        self.analysis_docks = AnalysisDocks(self, self.context, self.analyses_menu)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard and mouse", self.show_help, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About", self.show_about, "Ctrl+Shift+F1")
        self._rebuild_recent()

    def _build_device_menu(self, menu: QMenu) -> None:
        group = QActionGroup(self)
        current = self.settings.get("compute/device") if self.settings else "auto"
        self.device_actions: dict[str, QAction] = {}
        for key, text in (("auto", "&Automatic"), ("cpu", "&CPU (NumPy)"), ("cuda", "&GPU (CUDA)")):
            action = self._action(menu, text, lambda _=False, k=key: self.set_device(k))
            action.setCheckable(True)
            action.setChecked(key == current)
            group.addAction(action)
            self.device_actions[key] = action

    def set_device(self, setting: str) -> None:
        """Choose the compute device for new jobs (``auto``, ``cpu``, ``cuda``, ``cuda:N``)."""
        from workstation.compute.backend import select_backend, set_backend

        backend = select_backend(setting)
        set_backend(backend)
        self.context.jobs.set_backend(backend)
        if self.settings is not None:
            self.settings.set("compute/device", setting)
        self.refresh_device()

    def _connect(self) -> None:
        self.area.readout_changed.connect(self.readout_label.setText)
        self.area.layout_changed.connect(lambda k: self.layout_actions[k].setChecked(True))
        self.loader.scanned.connect(self.browser.add_scan)
        self.loader.scanned.connect(self.load_report.add_scan)
        self.loader.series_loaded.connect(self.load_report.add_loaded)
        self.loader.failed.connect(self._load_failed)
        self.browser.series_activated.connect(self.loader.load_series)
        self.job_dock.gpu_fallback.connect(lambda text: self.notify("GPU fallback", text))
        self.context.message.connect(self.notify)
        self.context.series_changed.connect(self._series_changed)
        self.set_layout(self.area.layout_name or "2d")

    # -- settings -------------------------------------------------------------------
    def _restore(self) -> None:
        if self.settings is None:
            return
        geometry = self.settings.get("window/geometry")
        if geometry is not None and not self.restoreGeometry(geometry):
            self.settings.reject("window/geometry", "Qt cannot restore a window geometry from it")
        state = self.settings.get("window/state")
        if state is not None and not self.restoreState(state):
            self.settings.reject("window/state", "Qt cannot restore the docks from it")
        self.set_layout(self.settings.get("view/layout"))

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.set("window/geometry", self.saveGeometry().data())
        self.settings.set("window/state", self.saveState().data())
        self.settings.set("view/layout", self.area.layout_name)
        self.settings.sync()

    def recent_folders(self) -> list[str]:
        if self.settings is None:
            return []
        return [str(v) for v in self.settings.get("files/recent") if v]

    def _remember(self, paths: list[Path]) -> None:
        if self.settings is None or not paths:
            return
        folder = paths[0] if paths[0].is_dir() else paths[0].parent
        self.settings.set("files/last_folder", str(folder))
        recent = [str(paths[0])] + [r for r in self.recent_folders() if r != str(paths[0])]
        self.settings.set("files/recent", recent[:MAX_RECENT])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_folders()
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            self.recent_menu.addAction(path).triggered.connect(lambda _=False, p=path: self.open_paths([p]))

    # -- commands -------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Scan and load ``paths`` in the background."""
        targets = [Path(p) for p in paths]
        self._remember(targets)
        self.loader.open_paths(targets)

    def _start_dir(self) -> str:
        return (self.settings.get("files/last_folder") if self.settings else "") or str(Path.home())

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open DICOM folder", self._start_dir())
        if folder:
            self.open_paths([folder])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open DICOM files", self._start_dir())
        if files:
            self.open_paths(list(files))

    def choose_models_folder(self) -> None:
        current = self.settings.get("models/folder") if self.settings else ""
        folder = QFileDialog.getExistingDirectory(self, "Folder with your ONNX models", current)
        if folder and self.settings is not None:
            self.settings.set("models/folder", folder)

    def open_demo(self) -> None:
        """Write the demo chest CT once (in a job) and open it."""

        def work(backend: Any, progress: Any) -> Path:
            from workstation.core.paths import explain_unwritable
            from workstation.demo.chest_ct import ensure_demo

            progress(0.0, "writing the demo chest CT (first time only)")
            with explain_unwritable("demo"):  # names the folder and the variable that moves it
                return ensure_demo(None)

        self.context.run_job("Prepare demo", work, lambda folder: self.loader.open_paths([folder]),
                             lambda error: self._load_failed("Prepare demo", error))

    def open_demo_cine(self) -> None:
        """Write the demo short-axis cine MR once (in a job) and open it."""

        def work(backend: Any, progress: Any) -> Path:
            from workstation.core.paths import explain_unwritable
            from workstation.demo.cardiac_dicom import ensure_demo_cine

            progress(0.0, "writing the demo cardiac cine (first time only)")
            with explain_unwritable("demo"):
                return ensure_demo_cine(None)

        self.context.run_job("Prepare demo cine", work, lambda folder: self.loader.open_paths([folder]),
                             lambda error: self._load_failed("Prepare demo cine", error))

    def set_layout(self, name: str) -> None:
        self.area.set_layout(name)

    def refresh_device(self) -> None:
        try:
            text = self.context.jobs.backend.describe()
        except Exception as exc:  # the device went away: say so, keep running
            text = f"device error: {exc}"
        self.device_label.setText(text)

    def notify(self, title: str, text: str) -> None:
        self.statusBar().showMessage(f"{title}: {text}", 10000)
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    def _load_failed(self, what: str, error: str) -> None:
        self.load_report.add_row(what, error)
        self.load_report.show()
        self.statusBar().showMessage(f"{what} failed: {error}", 10000)

    def _series_changed(self, series: Optional[Series]) -> None:
        self.setWindowTitle(f"Workstation — {series.label}" if series is not None else "Workstation")

    def show_help(self) -> None:
        text = (
            "Slices: wheel, PageUp/PageDown, arrow keys\nZoom: Ctrl+wheel, +/-, 0 fits\n"
            "Pan: middle drag\nWindow/level: right drag; presets 1 lung, 2 mediastinum, 3 bone, 4 brain\n"
            "Tools: N navigate, P pick, D distance, E ellipse ROI, R rectangle ROI, C crosshair\n"
            "Layouts: Ctrl+1 2D, Ctrl+2 MPR, Ctrl+3 MPR + 3D, Ctrl+4 3D\n3D: drag rotates, wheel zooms"
        )
        QMessageBox.information(self, "Keyboard and mouse", text)

    def show_about(self) -> None:
        from workstation import __version__

        QMessageBox.about(self, "About Workstation", f"Workstation {__version__}\nNot for diagnostic use.")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.device_timer.stop()
        self.context.jobs.cancel_all()
        self.context.jobs.wait(3000)
        if self.area.has_viewer3d():
            self.area.viewer3d.close()
        super().closeEvent(event)

