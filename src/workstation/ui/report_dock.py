"""The report dock beside the viewer: one report per study, written, dictated, signed, exported.

Sections on the left of the editor, the section's text (typed or dictated), the values
analyses inserted, a bar offering to update text whose result changed, the key images,
the voice level and what was heard.  Every action has a shortcut (:data:`SHORTCUTS`);
each saved state is a new version in the report store and an audit-log entry.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDockWidget, QHBoxLayout, QInputDialog, QLabel, QListWidget, QListWidgetItem, QMenu, QMessageBox,
    QPlainTextEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_api import ViewerContext
from workstation.analyses.study_report import insert_result
from workstation.core.key_images import KeyImageRecord
from workstation.report.audit import AuditLog, os_user
from workstation.report.document import StudyReport
from workstation.report.model import Letterhead, ReportHeader
from workstation.report.outputs import ReportFiles, study_files, write_outputs
from workstation.report.store import ReportStore
from workstation.report.study_text import as_html, as_text
from workstation.report.templates import Template, catalogue
from workstation.ui.key_image_capture import active_view, capture
from workstation.ui.panels import AnalysisDocks
from workstation.ui.report_results import ResultWatcher
from workstation.ui.report_voice import VoiceInput
from workstation.ui.settings import Key, Settings, register
from workstation.ui.viewer2d import SliceViewer
from workstation.voice import commands, text as dictated
from workstation.voice.engines import PocketSphinx, Recognizer, dictation, pronouncing_dictionary

log = logging.getLogger(__name__)
register(
    Key("report/reader", str, "", doc="the reader's name as reports are signed (default: the login name)"),
    Key("report/institution", str, "", doc="institution name in the report letterhead and SR"),
    Key("report/logo", str, "", doc="institution logo image file for the report letterhead"),
)
SHORTCUTS = {
    "mark": "K", "insert": "Ctrl+I", "update": "Ctrl+U", "next": "Ctrl+PgDown", "previous": "Ctrl+PgUp",
    "save": "Ctrl+S", "preliminary": "Ctrl+Alt+P", "sign": "Ctrl+Alt+S", "addendum": "Ctrl+Alt+A",
    "export": "Ctrl+E", "copy": "Ctrl+Alt+C", "send": "Ctrl+Alt+Shift+S",
}


def _pixmap(rgb: NDArray[np.uint8], side: int = 72) -> QPixmap:
    data = np.ascontiguousarray(rgb)
    image = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy()).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation)


class ReportDock(QDockWidget):
    """The study report of the loaded study (see module doc)."""

    def __init__(self, context: ViewerContext, docks: Optional[AnalysisDocks],
                 views: Callable[[], Sequence[SliceViewer]], settings: Optional[Settings] = None,
                 parent: Optional[QWidget] = None, store: Optional[ReportStore] = None,
                 audit: Optional[AuditLog] = None) -> None:
        super().__init__("Report", parent)
        self.setObjectName("report_dock")
        self.context, self.views, self.settings = context, views, settings
        self.store = store or ReportStore()
        self.audit = audit or AuditLog.default()
        self.templates = catalogue()
        self.report: Optional[StudyReport] = None
        self.template: Optional[Template] = None
        self.images: dict[str, NDArray[np.uint8]] = {}
        self.current = 3  # findings
        self.last_export: Optional[ReportFiles] = None
        self.sender: Any = None  # the PACS "send" command (SendToPacs), when the application has one
        self.watcher = ResultWatcher(docks, self)
        self.voice = VoiceInput(self._recognizer, self)
        self._build()
        self.watcher.changed.connect(self._refresh_results)
        context.study_changed.connect(self._on_study)
        context.key_images_changed.connect(self._on_key_images)
        context.key_image_requested.connect(self.mark_key_image)
        self.voice.level.connect(lambda db: self.level.setValue(int(max(0.0, db + 60.0))))
        self.voice.partial.connect(self.heard.setText)
        self.voice.heard.connect(self._on_heard)
        self.voice.problem.connect(self._say)
        app = QGuiApplication.instance()
        if app is not None:
            app.installEventFilter(self.voice)
        self._on_study(context.study)

    # -- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.template_box = QComboBox()
        self.template_box.addItems(sorted(self.templates.templates))
        self.template_box.setAccessibleName("Report template")
        self.template_box.activated.connect(lambda _=0: self._use_template(self.template_box.currentText()))
        self.state_label = QLabel("No study")
        top.addWidget(self.template_box, 1)
        top.addWidget(self.state_label)
        layout.addLayout(top)
        self.section_list = QListWidget()
        self.section_list.setMaximumHeight(96)
        self.section_list.setAccessibleName("Report sections")
        self.section_list.currentRowChanged.connect(self._show_section)
        layout.addWidget(self.section_list)
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("Section text")
        self.editor.textChanged.connect(self._text_edited)
        layout.addWidget(self.editor, 3)
        self.items = QTableWidget(0, 2)
        self.items.setHorizontalHeaderLabels(["Item", "Value"])
        self.items.horizontalHeader().setStretchLastSection(True)
        self.items.verticalHeader().hide()
        self.items.setMaximumHeight(130)
        self.items.setAccessibleName("Inserted values")
        layout.addWidget(self.items, 1)
        self.banner = QPushButton()
        self.banner.setAccessibleName("Update the inserted results from newer analysis results")
        self.banner.setStyleSheet("background: #fff3cd; text-align: left; padding: 3px")
        self.banner.clicked.connect(self.update_results)
        self.banner.hide()
        layout.addWidget(self.banner)
        self.key_list = QListWidget()
        self.key_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.key_list.setMaximumHeight(100)
        self.key_list.setAccessibleName("Key images")
        layout.addWidget(self.key_list)
        voice_row = QHBoxLayout()
        voice_row.addWidget(QLabel("Voice: hold F9 dictate, F10 command"))
        self.level = QProgressBar()
        self.level.setRange(0, 60)
        self.level.setTextVisible(False)
        self.level.setMaximumHeight(10)
        self.level.setAccessibleName("Microphone level")
        voice_row.addWidget(self.level, 1)
        layout.addLayout(voice_row)
        self.heard = QLabel("")
        self.heard.setWordWrap(True)
        self.heard.setAccessibleName("Recognised speech")
        layout.addWidget(self.heard)
        self.actions_by_name: dict[str, QAction] = {}
        buttons = QHBoxLayout()
        for name, text, slot in (
            ("mark", "Key image", lambda: self.mark_key_image("")), ("insert", "Insert results", self.insert_all),
            ("update", "Update", self.update_results), ("next", "Next section", self.next_section),
            ("previous", "Previous section", self.previous_section), ("save", "Save", lambda: self.save()),
            ("preliminary", "Preliminary", self.mark_preliminary), ("sign", "Sign", self.sign),
            ("addendum", "Addendum", self.add_addendum), ("export", "Export", self.export),
            ("copy", "Copy for RIS", self.copy_for_ris), ("send", "Send report to PACS", self.send_to_pacs),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(SHORTCUTS[name]))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut if name == "mark"
                                      else Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, s=slot: s())
            action.setToolTip(f"{text} ({SHORTCUTS[name]})")
            self.actions_by_name[name] = action
            body.addAction(action)
        for name in ("insert", "save", "sign", "export"):
            button = QPushButton(self.actions_by_name[name].text())
            button.setToolTip(self.actions_by_name[name].toolTip())
            button.setAccessibleName(self.actions_by_name[name].toolTip())
            button.clicked.connect(self.actions_by_name[name].trigger)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        body.setMinimumWidth(320)
        self.setWidget(body)

    def menu(self, parent: QWidget) -> QMenu:
        """The Report menu of the main window: every action with its shortcut."""
        menu = QMenu("&Report", parent)
        menu.addAction(self.toggleViewAction())
        for action in self.actions_by_name.values():
            menu.addAction(action)
        return menu

    # -- the report of the loaded study ----------------------------------------------
    @property
    def reader(self) -> str:
        name = self.settings.get("report/reader") if self.settings is not None else ""
        return str(name or os_user())

    def _pick_template(self) -> Template:
        """The template of the series' modality whose title words best match the study and series descriptions."""
        import re

        series, study = self.context.series, self.context.study
        modality = series.modality if series is not None else ""
        words = set(re.findall(r"[a-z]+", " ".join(
            [study.description if study else "", series.description if series else ""]).lower()))
        chosen = [t for t in self.templates.templates.values() if t.modality == modality] \
            or list(self.templates.templates.values())
        return max(chosen, key=lambda t: len(words & set(re.findall(r"[a-z]+", t.title.lower()))))

    def _on_study(self, study: Any) -> None:
        if self.report is not None and self.report.version == 0 and not self.report.is_final:
            self.save(quiet=True)  # nothing typed is lost when another study opens
        self.images = {}
        if study is None:
            self.report, self.template = None, None
            self._refresh()
            return
        stored = self.store.latest(study.uid)
        if stored is not None:
            self.template = self.templates.templates.get(stored.template) or self._pick_template()
            self.report = stored
            self.images = {k.key: img for k in stored.key_images if (img := self.store.image(k.key)) is not None}
            self.context.set_key_images(stored.key_images)
            self.audit.record("view", study.uid, f"version {stored.version}", self.reader)
        else:
            self._use_template(self._pick_template().name)
        self._refresh()

    def _use_template(self, name: str) -> None:
        """Start the study's report from template ``name`` (only while nothing is saved)."""
        study = self.context.study
        if study is None or (self.report is not None and self.report.version > 0):
            self._refresh()
            return
        self.template = self.templates.get(name)
        self.report = self.template.new_report(study.uid).with_key_images(self.context.key_images)
        self._refresh()

    # -- view <- model -----------------------------------------------------------------
    def _refresh(self) -> None:
        report = self.report
        self.section_list.blockSignals(True)
        self.section_list.clear()
        if report is not None:
            self.section_list.addItems([s.title for s in report.sections])
            self.section_list.setCurrentRow(self.current)
            self.template_box.setCurrentText(report.template)
        self.section_list.blockSignals(False)
        self.template_box.setEnabled(report is not None and report.version == 0)
        self.state_label.setText("No study" if report is None else
                                 f"{report.state.upper()}" + (f" v{report.version}" if report.version else " (unsaved)"))
        self._show_section(self.current)
        self._show_key_images()
        self._refresh_results()

    def _show_section(self, row: int) -> None:
        if row < 0:
            return
        self.current = row
        report = self.report
        self.editor.blockSignals(True)
        if report is None:
            self.editor.setPlainText("")
            self.editor.setReadOnly(True)
        else:
            section = report.sections[row]
            self.editor.setPlainText(section.text)
            self.editor.setPlaceholderText(section.hint)
            self.editor.setReadOnly(report.is_final)
            self._show_items(section)
        self.editor.blockSignals(False)

    def _show_items(self, section: Any) -> None:
        rows = [(f"{i.label}", i.text) for ins in section.insertions for i in ins.items]
        self.items.setRowCount(len(rows))
        for r, (label, value) in enumerate(rows):
            self.items.setItem(r, 0, QTableWidgetItem(label))
            self.items.setItem(r, 1, QTableWidgetItem(value))

    def _show_key_images(self) -> None:
        self.key_list.clear()
        for n, record in enumerate(self.report.key_images if self.report is not None else (), start=1):
            item = QListWidgetItem(f"{n}. {record.caption or record.describe()}")
            rgb = self.images.get(record.key)
            if rgb is not None:
                item.setIcon(_pixmap(rgb))
            self.key_list.addItem(item)

    def _refresh_results(self) -> None:
        report = self.report
        stale = [] if report is None or report.is_final else [
            n for n, js in self.watcher.results().items() if report.outdated(n, js)]
        titles = self.watcher.titles()
        if stale:
            self.banner.setText(f"{', '.join(titles.get(n, n) for n in stale)}: newer result; "
                                f"update the report text ({SHORTCUTS['update']})")
        self.banner.setVisible(bool(stale))

    def _say(self, text: str) -> None:
        self.status.setText(text)

    # -- model <- view -------------------------------------------------------------------
    def _edit(self, report: StudyReport) -> None:
        self.report = report
        self._refresh()

    def _text_edited(self) -> None:
        if self.report is None or self.report.is_final:
            return
        key = self.report.sections[self.current].key
        self.report = self.report.with_text(key, self.editor.toPlainText())
        self.state_label.setText(f"{self.report.state.upper()} (unsaved)")

    def _guard(self) -> bool:
        if self.report is None:
            self._say("Open a study first.")
            return False
        if self.report.is_final:
            self._say("The report is signed: add an addendum (Ctrl+Alt+A).")
            return False
        return True

    # -- actions ------------------------------------------------------------------------
    def mark_key_image(self, caption: str = "") -> Optional[KeyImageRecord]:
        """Mark what the active slice view shows as a key image (K)."""
        view = active_view(list(self.views()))
        taken = capture(view, caption) if view is not None else None
        if taken is None or not self._guard():
            if taken is None:
                self._say("No image shown to mark.")
            return None
        record, rgb = taken
        self.images[record.key] = rgb
        self.context.add_key_image(record)
        return record

    def _on_key_images(self) -> None:
        if self.report is not None and not self.report.is_final:
            self.report = self.report.with_key_images(self.context.key_images)
            self._show_key_images()

    def insert_result(self, name: str) -> bool:
        """Insert analysis ``name``'s current result into the report (one action)."""
        results = self.watcher.results()
        if not self._guard() or self.template is None or name not in results or self.report is None:
            if name not in results:
                self._say(f"No {name} result is shown: run the analysis first.")
            return False
        self._edit(insert_result(self.report, self.template, name, results[name]))
        self._say(f"Inserted the {self.watcher.titles().get(name, name)} result.")
        return True

    def insert_all(self) -> None:
        self.watcher.poll()
        results = self.watcher.results()
        if not results:
            self._say("No analysis result to insert: run an analysis first.")
        for name in results:
            self.insert_result(name)

    def update_results(self) -> None:
        """Replace the values and sentence of every inserted result that has a newer one."""
        if not self._guard() or self.report is None:
            return
        for name, js in self.watcher.results().items():
            if self.report.outdated(name, js):
                self.insert_result(name)

    def next_section(self) -> None:
        if self.report is not None:
            self.section_list.setCurrentRow(min(self.current + 1, len(self.report.sections) - 1))

    def previous_section(self) -> None:
        self.section_list.setCurrentRow(max(self.current - 1, 0))

    def save(self, quiet: bool = False, action: str = "edit") -> Optional[StudyReport]:
        """Keep the report as a new version (Ctrl+S); nothing happens when it is unchanged."""
        if self.report is None or self.report.version > 0:
            return self.report
        first = not self.store.versions(self.report.study_uid)
        for record in self.report.key_images:
            if record.key in self.images:
                self.store.put_image(record.key, self.images[record.key])
        self.report = self.store.save(self.report, self.reader)
        self.audit.record("create" if first and action == "edit" else action, self.report.study_uid,
                          f"version {self.report.version}", self.reader)
        if not quiet:
            self._refresh()
            self._say(f"Saved version {self.report.version}.")
        return self.report

    def mark_preliminary(self) -> None:
        if self._guard() and self.report is not None:
            self._edit(self.report.preliminary(self.reader))
            self.save(action="preliminary")

    def sign(self, confirm: bool = True) -> None:
        """Sign: the report becomes final (Ctrl+Alt+S), after a confirmation naming the reader."""
        if not self._guard() or self.report is None:
            return
        if confirm and QMessageBox.question(
                self, "Sign report", f"Sign the report as {self.reader}? A signed report cannot be edited; "
                "later changes are addenda.") != QMessageBox.StandardButton.Yes:
            return
        self._edit(self.report.sign(self.reader))
        self.save(action="sign")

    def add_addendum(self, text: Optional[str] = None) -> None:
        if self.report is None or not self.report.is_final:
            self._say("An addendum follows a signed report.")
            return
        if text is None:
            text, ok = QInputDialog.getMultiLineText(self, "Addendum", f"Addendum by {self.reader}:")
            if not ok:
                return
        try:
            self._edit(self.report.with_addendum(text, self.reader))
        except ValueError as exc:
            self._say(str(exc))
            return
        self.save(action="addendum")

    def export(self, folder: Optional[Path] = None,
               then: Optional[Callable[[ReportFiles], None]] = None) -> None:
        """Write PDF, SR, KOS, text and HTML (Ctrl+E) in a background job (``then(files)`` after)."""
        report, study = self.save(quiet=True) if self.report is not None else None, self.context.study
        if report is None or study is None:
            self._say("Open a study first.")
            return
        target = Path(folder) if folder is not None else self._default_folder()
        images, files, reader = dict(self.images), study_files(study), self.reader
        header, letterhead = ReportHeader.from_study(study), self._letterhead()

        def work(backend: Any, progress: Any) -> ReportFiles:
            return write_outputs(report, target, header, images, files, reader, letterhead)

        def done(files: ReportFiles) -> None:
            self._exported(files)
            if then is not None:
                then(files)

        self.context.run_job("Export report", work, done, lambda e: self._say(f"Export failed: {e}"))

    def _exported(self, files: ReportFiles) -> None:
        self.last_export = files
        if self.report is not None:
            self.audit.record("export", self.report.study_uid, files.kinds(), self.reader)
        self._say(f"Exported {files.kinds()} to {files.all[0].parent if files.all else '-'}.")

    def send_to_pacs(self, node: Any = None) -> None:
        """Export, then send the report's SR and KOS to a PACS node after a confirmation naming it."""
        if self.sender is None:
            self._say("Sending needs a configured PACS (PACS menu).")
            return
        nodes = list(self.sender.service.nodes)
        if node is None and not nodes:
            self._say("No PACS node is configured (PACS > Query / retrieve).")
            return
        if node is None:
            names = [n.name for n in nodes]
            name, ok = (names[0], True) if len(names) == 1 else QInputDialog.getItem(
                self, "Send report to PACS", "Send the report to:", names, 0, False)
            if not ok:
                return
            node = nodes[names.index(name)]
        chosen = node

        def send(files: ReportFiles) -> None:
            self.sender.send_paths(files.dicom, chosen)
            if self.report is not None:
                self.audit.record("send", self.report.study_uid, f"{files.kinds()} to {chosen.name}", self.reader)

        self.export(then=send)

    def _default_folder(self) -> Path:
        from workstation.io.writers import results_folder_beside

        series = self.context.series or (self.context.study.series[0] if self.context.study else None)
        if series is not None and series.frames:
            return results_folder_beside(Path(series.frames[0].path).parent) / "report"
        return Path.home() / "workstation_results" / "report"

    def _letterhead(self) -> Optional[Letterhead]:
        if self.settings is None or not self.settings.get("report/institution"):
            return None
        logo = self.settings.get("report/logo")
        return Letterhead(self.settings.get("report/institution"), Path(logo) if logo else None)

    def copy_for_ris(self) -> None:
        """Put the report on the clipboard as plain text and HTML (Ctrl+Alt+C)."""
        if self.report is None or self.context.study is None:
            return
        accession = self.context.study.accession_number
        data = QMimeData()
        data.setText(as_text(self.report, accession))
        data.setHtml(as_html(self.report, accession))
        QGuiApplication.clipboard().setMimeData(data)
        self.audit.record("copy", self.report.study_uid, f"version {self.report.version}", self.reader)
        self._say("Report copied as text and HTML.")

    # -- voice ---------------------------------------------------------------------------
    def _recognizer(self, mode: str) -> Recognizer:
        if mode == "command":
            return PocketSphinx(commands.grammar(self._spoken()))
        return dictation()

    def _spoken(self) -> dict[str, str]:
        return commands.spoken_names(self.watcher.titles(), pronouncing_dictionary())

    def _on_heard(self, mode: str, text: str) -> None:
        self.heard.setText(f"{'Command' if mode == 'command' else 'Dictated'}: {text or '(nothing recognised)'}")
        if not text or self.report is None:
            return
        if mode == "command":
            self.run_command(commands.parse(text, self._spoken()))
        elif not self.report.is_final:
            cursor = self.editor.textCursor()
            new, position = dictated.insert_dictation(self.editor.toPlainText(), cursor.position(), text)
            self.editor.setPlainText(new)
            cursor = self.editor.textCursor()
            cursor.setPosition(position)
            self.editor.setTextCursor(cursor)

    def run_command(self, command: Optional[commands.Command]) -> None:
        """Carry out a spoken command."""
        if command is None:
            self._say("Not a report command.")
            return
        if command.action == "next_section":
            self.next_section()
        elif command.action == "previous_section":
            self.previous_section()
        elif command.action == "insert":
            self.insert_result(command.analysis)
        elif command.action == "sign":
            self.sign()
        elif self._guard():
            change = dictated.new_paragraph if command.action == "new_paragraph" else dictated.delete_last_sentence
            self.editor.setPlainText(change(self.editor.toPlainText()))
