"""Help: every keyboard shortcut (read from the menus and the views, so it is always complete) and the manual.

The shortcut list is built from the window's actions (menu path, text, keys) and the
keys every 2D view understands (:data:`workstation.ui.canvas_keys.KEYS`); the manual is
``resources/help/manual.md``, shown as formatted text.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHeaderView, QMenu, QMenuBar, QTableWidget, QTableWidgetItem, QTextBrowser,
    QVBoxLayout, QWidget,
)

from workstation.core.paths import resource_file
from workstation.ui.canvas_keys import KEYS


def _clean(text: str) -> str:
    return text.replace("&&", "\x00").replace("&", "").replace("\x00", "&").replace("…", "...")


def menu_shortcuts(bar: QMenuBar) -> list[tuple[str, str]]:
    """(keys, "Menu > Entry") of every menu action with a shortcut, in menu order."""
    rows: list[tuple[str, str]] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} > {_clean(action.text())}")
            elif not action.isSeparator() and not action.shortcut().isEmpty():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                rows.append((keys, f"{path} > {_clean(action.text())}"))

    for top in bar.actions():
        sub = top.menu()
        if isinstance(sub, QMenu):
            walk(sub, _clean(top.text()))
    return rows


def other_shortcuts(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, text) of actions outside the menus (the viewer tool bar)."""
    return [(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText), _clean(a.text()))
            for a in actions if not a.shortcut().isEmpty()]


def shortcut_rows(bar: QMenuBar, extra: list[QAction]) -> list[tuple[str, str]]:
    """Every shortcut: menus, tool bar, and the keys of the image views."""
    return menu_shortcuts(bar) + other_shortcuts(extra) + [(k, f"In an image view: {v}") for k, v in KEYS]


class ShortcutsDialog(QDialog):
    """A searchable-by-eye table of every shortcut."""

    def __init__(self, rows: list[tuple[str, str]], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(640, 560)
        self.table = QTableWidget(len(rows), 2)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        for r, (keys, what) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        self.table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)


def manual_text() -> str:
    path = resource_file("help", "manual.md")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return f"The manual is missing from this installation ({path})."


class ManualDialog(QDialog):
    """The short manual."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manual")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(720, 620)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("Manual")
        self.browser.setMarkdown(manual_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
