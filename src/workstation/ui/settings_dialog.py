"""The settings dialog: device, models folder, cache, PACS nodes, theme and window presets.

Each page reads and writes typed keys of :mod:`workstation.ui.settings` (so a value that
does not fit is refused with the key's name, never stored).  Pages are registered by
key: another module replaces or adds a page with :func:`register_page` (the PACS
module fills the ``pacs`` page, which until then says that none is installed).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QPushButton, QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_controls import editable_combo
from workstation.compute.windowing import WindowPreset
from workstation.core.paths import cache_dir, demo_root
from workstation.ui.settings import Settings
from workstation.ui.theme import THEMES
from workstation.ui.window_presets import MAX_USER, load_user_presets, parse, set_user_presets


class SettingsPage(QWidget):
    """One page: :meth:`load` shows the stored values, :meth:`apply` stores the shown ones."""

    title = ""

    def load(self, settings: Settings) -> None:
        """Show the stored values."""

    def apply(self, settings: Settings) -> None:
        """Store the shown values (``ValueError`` or ``TypeError`` name what is wrong)."""


PageFactory = Callable[[], SettingsPage]
PAGES: dict[str, tuple[str, PageFactory]] = {}


def register_page(key: str, title: str, factory: PageFactory) -> None:
    """Add a settings page (or replace the page of ``key``, e.g. ``pacs``), shown in registration order."""
    PAGES[key] = (title, factory)


class DevicePage(SettingsPage):
    title = "Compute device"

    def __init__(self) -> None:
        super().__init__()
        self.combo = editable_combo(["auto", "cpu", "cuda", "cuda:0", "cuda:1"], "Compute device")
        form = QFormLayout(self)
        form.addRow("Device for analyses:", self.combo)
        form.addRow(QLabel("auto: the GPU when CUDA works, else the CPU. The status bar names the device in use."))

    def load(self, settings: Settings) -> None:
        self.combo.setCurrentText(settings.get("compute/device"))

    def apply(self, settings: Settings) -> None:
        settings.set("compute/device", self.combo.currentText().strip())


class ModelsPage(SettingsPage):
    title = "Models folder"

    def __init__(self) -> None:
        super().__init__()
        self.folder = QLineEdit()
        self.folder.setAccessibleName("Your ONNX models folder")
        self.folder.setPlaceholderText("(none: the bundled models only)")
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Choose the models folder")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Models folder:", row)
        form.addRow(QLabel("ONNX models with a manifest.json; a faulty model is named and skipped."))

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder with your ONNX models", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def load(self, settings: Settings) -> None:
        self.folder.setText(settings.get("models/folder"))

    def apply(self, settings: Settings) -> None:
        settings.set("models/folder", self.folder.text().strip())


def folder_size_mb(folder: Path) -> float:
    if not folder.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


class CachePage(SettingsPage):
    title = "Cache"

    def __init__(self) -> None:
        super().__init__()
        self.where = QLabel()
        self.where.setAccessibleName("Cache folder")
        self.where.setWordWrap(True)
        self.demo = QLabel()
        self.demo.setAccessibleName("Demo studies in the cache")
        self.clear_button = QPushButton("Remove the demo studies")
        self.clear_button.setAccessibleName("Remove the demo studies from the cache")
        self.clear_button.clicked.connect(self.clear_demos)
        form = QFormLayout(self)
        form.addRow("Cache folder:", self.where)
        form.addRow("Demo studies:", self.demo)
        form.addRow(self.clear_button)
        form.addRow(QLabel("Demo studies are written again when opened. Set XDG_CACHE_HOME to move the cache."))

    def load(self, settings: Settings) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.where.setText(str(cache_dir()))
        self.demo.setText(f"{demo_root()} ({folder_size_mb(demo_root()):.1f} MB)")

    def clear_demos(self) -> int:
        """Remove the demo studies the application wrote (folders holding its marker); returns how many."""
        from workstation.demo.cache import MARKER

        removed = 0
        root = demo_root()
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and (folder / MARKER).exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        self.refresh()
        return removed


class PacsPlaceholderPage(SettingsPage):
    title = "PACS nodes"

    def __init__(self) -> None:
        super().__init__()
        label = QLabel("No PACS module is installed. Export studies from the PACS to a folder or a DICOMDIR "
                       "and open that (File > Open folder).")
        label.setWordWrap(True)
        label.setAccessibleName("PACS nodes: none configured")
        QVBoxLayout(self).addWidget(label)


class AppearancePage(SettingsPage):
    title = "Appearance"

    def __init__(self) -> None:
        super().__init__()
        self.theme = QComboBox()
        self.theme.setAccessibleName("Theme")
        for theme in THEMES.values():
            self.theme.addItem(theme.title, theme.name)
        form = QFormLayout(self)
        form.addRow("Theme:", self.theme)
        form.addRow(QLabel("Text size follows the system font setting."))

    def load(self, settings: Settings) -> None:
        index = self.theme.findData(settings.get("view/theme"))
        self.theme.setCurrentIndex(max(0, index))

    def apply(self, settings: Settings) -> None:
        settings.set("view/theme", str(self.theme.currentData()))


class PresetsPage(SettingsPage):
    title = "Window presets"

    def __init__(self) -> None:
        super().__init__()
        self.table = QTableWidget(0, 3)
        self.table.setAccessibleName("Your window presets")
        self.table.setHorizontalHeaderLabels(["Name", "Width", "Level"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        add = QPushButton("Add")
        add.setAccessibleName("Add a window preset")
        add.clicked.connect(lambda: self.add_row(WindowPreset("New", 400.0, 40.0)))
        remove = QPushButton("Remove")
        remove.setAccessibleName("Remove the selected window preset")
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Up to {MAX_USER} presets on keys 5-9 (1-4: lung, mediastinum, bone, brain)."))
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def add_row(self, preset: WindowPreset) -> None:
        if self.table.rowCount() >= MAX_USER:
            return
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate((preset.name, f"{preset.width:g}", f"{preset.level:g}")):
            self.table.setItem(row, col, QTableWidgetItem(text))

    def presets(self) -> list[WindowPreset]:
        out = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(3)]
            texts = [c.text() if c is not None else "" for c in cells]
            out.append(parse("|".join(texts)))
        return out

    def load(self, settings: Settings) -> None:
        self.table.setRowCount(0)
        for preset in load_user_presets(settings):
            self.add_row(preset)

    def apply(self, settings: Settings) -> None:
        set_user_presets(self.presets(), settings)  # ValueError names the faulty row


for _key, _page in (("device", DevicePage), ("models", ModelsPage), ("cache", CachePage),
                    ("pacs", PacsPlaceholderPage), ("appearance", AppearancePage), ("presets", PresetsPage)):
    register_page(_key, _page.title, _page)


class SettingsDialog(QDialog):
    """Pages on the left, the chosen page on the right; OK and Apply store every page."""

    applied = Signal()

    def __init__(self, settings: Settings, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.resize(680, 420)
        self.pages: dict[str, SettingsPage] = {key: factory() for key, (_title, factory) in PAGES.items()}
        self.list = QListWidget()
        self.list.setAccessibleName("Settings pages")
        self.stack = QStackedWidget()
        for key, page in self.pages.items():
            self.list.addItem(PAGES[key][0])
            self.stack.addWidget(page)
            page.load(settings)
        self.list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.list.setCurrentRow(0)
        self.list.setMaximumWidth(180)
        self.problem = QLabel()
        self.problem.setAccessibleName("Settings problem")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._ok)
        buttons.rejected.connect(self.reject)
        apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        if apply_button is not None:
            apply_button.clicked.connect(self.apply)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def apply(self) -> bool:
        """Store every page; on a fault show which page and why, store nothing more."""
        for key, page in self.pages.items():
            try:
                page.apply(self.settings)
            except (ValueError, TypeError) as exc:
                self.problem.setText(f"{PAGES[key][0]}: {exc}")
                self.list.setCurrentRow(list(self.pages).index(key))
                return False
        self.problem.setText("")
        self.settings.sync()
        self.applied.emit()
        return True

    def _ok(self) -> None:
        if self.apply():
            self.accept()
