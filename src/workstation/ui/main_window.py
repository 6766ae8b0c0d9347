"""The main window: viewer area, docks, menus, status bar; opening studies for reading.

The menus are built in :mod:`workstation.ui.menus`, the docks in :mod:`workstation.ui.docks`;
this module holds the window's state and its commands.  Files and folders dropped on the
window are opened like File > Open.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QToolButton, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.study import Series
from workstation.ui.annotation_model import AnnotationModel
from workstation.ui.annotation_store import AnnotationStore
from workstation.ui.docks import Docks
from workstation.ui.hanging_protocols import HangingProtocol, all_protocols, load_user_protocols
from workstation.ui.loading import StudyLoader
from workstation.ui.menus import Menus
from workstation.ui.pacs_menu import install_pacs
from workstation.ui.mpr import ViewerArea
from workstation.ui.reading import Reading
from workstation.ui.settings import Settings
from workstation.ui.viewer_toolbar import ViewerToolBar
from workstation.ui.window_presets import load_user_presets

log = logging.getLogger(__name__)
MAX_RECENT = 8


class MainWindow(QMainWindow):
    """The workstation window around a shared :class:`ViewerContext`.

    ``settings`` persists geometry, dock layout, recent folders, the chosen layout,
    theme and window presets (read through :class:`~workstation.ui.settings.Settings`,
    so a bad stored value falls back to its default); pass ``None`` to keep nothing
    (tests).  ``protocols_folder`` and ``annotations_folder`` override where the
    user's hanging protocols and saved annotations live.
    """

    def __init__(
        self, context: ViewerContext, settings: Settings | QSettings | None = None, parent: Optional[QWidget] = None,
        protocols_folder: Optional[Path] = None, annotations_folder: Optional[Path] = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = Settings.wrap(settings)
        self.protocols_folder = protocols_folder
        self.setWindowTitle("Workstation")
        self.setObjectName("main_window")
        self.setAcceptDrops(True)
        self.resize(1500, 950)
        self.annotations = AnnotationModel(self)
        self.store = AnnotationStore(context, self.annotations, annotations_folder, self)
        self.area = ViewerArea(context, self, self.annotations)
        self.setCentralWidget(self.area)
        self.loader = StudyLoader(context, self)
        self.toolbar = ViewerToolBar(self.area, context, self)
        self.addToolBar(self.toolbar)
        self.docks = Docks(self)
        self.browser, self.job_dock, self.load_report = self.docks.browser, self.docks.jobs, self.docks.load_report
        self.measurements, self.gpu_dock = self.docks.measurements, self.docks.gpu
        self.user_protocols: list[HangingProtocol] = []
        self.chosen_layout = "2d"  # the layout last chosen by the user (studies open in their protocol's)
        self.layout_override: Optional[str] = None  # a layout every study opens in (command line)
        self.device_setting = self.settings.get("compute/device") if self.settings is not None else "auto"
        self._build_status_bar()
        self.menus = Menus(self)
        self.analysis_docks = self.menus.analysis_docks
        self.layout_actions = self.menus.layout_actions
        self.device_actions = self.menus.device_actions
        self.recent_menu = self.menus.recent_menu
        self.analyses_menu = self.menus.analyses_menu
        self.report_dock = self.menus.report_dock
        self._connect()
        self.pacs = install_pacs(self)
        self.docks.hide_until_needed()
        self.report_dock.sender = self.pacs.send_to_pacs
        self._restore()
        self.reload_protocols()
        load_user_presets(self.settings)

    # -- construction ---------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.device_label = QLabel()
        self.device_label.setAccessibleName("Compute device")
        self.readout_label = QLabel()
        self.readout_label.setAccessibleName("Cursor readout")
        self.statusBar().addWidget(self.readout_label, 1)
        self.statusBar().addPermanentWidget(self.device_label)
        self.gpu_button = QToolButton()
        self.gpu_button.setDefaultAction(self.gpu_dock.toggleViewAction())
        self.statusBar().addPermanentWidget(self.gpu_button)
        self.device_timer = QTimer(self)
        self.device_timer.setInterval(3000)
        self.device_timer.timeout.connect(self.refresh_device)
        self.device_timer.start()
        self.refresh_device()

    def _connect(self) -> None:
        self.area.readout_changed.connect(self.readout_label.setText)
        self.area.layout_changed.connect(self._layout_changed)
        self.loader.show = self._show_reading
        self.loader.known_studies = self.browser.studies
        self.loader.protocols = lambda: all_protocols(self.user_protocols)
        self.loader.scanned.connect(self.browser.add_scan)
        self.loader.scanned.connect(self.load_report.add_scan)
        self.loader.series_loaded.connect(self.load_report.add_loaded)
        self.loader.reading_loaded.connect(self._reading_loaded)
        self.loader.failed.connect(self._load_failed)
        self.browser.series_activated.connect(self.loader.load_series)
        self.job_dock.gpu_fallback.connect(lambda text: self.notify("GPU fallback", text))
        self.context.message.connect(self.notify)
        self.context.series_changed.connect(self._series_changed)
        self.measurements.on_activate = self.show_annotation
        self.set_layout(self.area.layout_name or "2d")

    def _show_reading(self, reading: Reading) -> None:
        self.area.open_reading(reading)
        if self.layout_override:
            self.area.set_layout(self.layout_override)

    def _layout_changed(self, name: str) -> None:
        action = self.layout_actions.get(name)
        if action is not None:
            action.setChecked(True)
        else:
            for a in self.layout_actions.values():
                a.setChecked(False)

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
        self.settings.set("view/layout", self.chosen_layout)
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
        self.menus.rebuild_recent()

    def reload_protocols(self) -> list[str]:
        """Read the user's hanging protocols again; the files that could not be used are reported."""
        self.user_protocols, problems = load_user_protocols(self.protocols_folder)
        for problem in problems:
            self.load_report.add_row("hanging protocol " + problem.split(":", 1)[0], problem.split(": ", 1)[-1])
        self.menus.rebuild_protocols()
        return problems

    def apply_settings(self) -> None:
        """Take the settings dialog's values: theme, window presets, device."""
        from workstation.ui.theme import apply_theme

        if self.settings is None:
            return
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.settings.get("view/theme"))
        load_user_presets(self.settings)
        self.toolbar.rebuild_presets()
        if self.settings.get("compute/device") != self.device_setting:
            self.set_device(self.settings.get("compute/device"))

    # -- commands -------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Scan and load ``paths`` in the background."""
        targets = [Path(p) for p in paths]
        self._remember(targets)
        self.loader.open_paths(targets)

    def start_dir(self) -> str:
        return (self.settings.get("files/last_folder") if self.settings else "") or str(Path.home())

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open DICOM folder", self.start_dir())
        if folder:
            self.open_paths([folder])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open DICOM files", self.start_dir())
        if files:
            self.open_paths(list(files))

    def open_demo(self, key: str = "chest_ct") -> None:
        """Write a demo study once (in a job) and open it (``chest_ct``, ``perfusion``, ``mammography``)."""
        from workstation.ui.demos import DEMOS, demo_job

        demo = next(d for d in DEMOS if d.key == key)
        self.context.run_job("Prepare demo", demo_job(demo),
                             lambda folder: self.loader.open_paths([folder]),
                             lambda error: self._load_failed("Prepare demo", error))

    def set_layout(self, name: str) -> None:
        """Show the named layout (:data:`~workstation.ui.mpr.LAYOUTS`) and remember the choice."""
        self.area.set_layout(name)
        self.chosen_layout = name

    def set_device(self, setting: str) -> None:
        """Choose the compute device for new jobs (``auto``, ``cpu``, ``cuda``, ``cuda:N``)."""
        from workstation.compute.backend import select_backend, set_backend

        backend = select_backend(setting)
        set_backend(backend)
        self.context.jobs.set_backend(backend)
        self.device_setting = setting
        if self.settings is not None:
            self.settings.set("compute/device", setting)
        action = self.device_actions.get(setting)
        if action is not None:
            action.setChecked(True)
        self.refresh_device()

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

    def _reading_loaded(self, reading: Reading) -> None:
        where = f"series {reading.series.label or reading.series.uid}"
        known = set(self.load_report.rows())
        for stack in reading.stacks:
            for issue in stack.issues:
                if (where, issue) not in known:
                    self.load_report.add_row(where, issue)
        self.statusBar().showMessage(f"Hanging protocol: {reading.protocol.name}", 8000)

    def _series_changed(self, series: Optional[Series]) -> None:
        self.setWindowTitle(f"Workstation — {series.label}" if series is not None else "Workstation")

    def show_annotation(self, annotation: Any) -> None:
        """Bring an annotation into view: the slice views move to its first point."""
        volume = self.context.volume
        if annotation.space == "patient" and volume is not None:
            self.area.state.set_crosshair(volume.patient_to_index(annotation.points[0]))

    # -- drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(list(paths))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.store.save_now()
        self.store.wait(10000)  # what was drawn is written before the window goes
        self.save_settings()
        self.device_timer.stop()
        self.gpu_dock.shutdown()
        self.context.jobs.shutdown(3000)
        if self.area.has_viewer3d():
            self.area.viewer3d.close()
        super().closeEvent(event)
