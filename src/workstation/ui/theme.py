"""The dark reading-room theme: a Fusion palette and a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BASE = QColor(24, 26, 30)
WINDOW = QColor(34, 37, 42)
TEXT = QColor(220, 222, 226)
HIGHLIGHT = QColor(52, 120, 220)

STYLE_SHEET = """
QMainWindow::separator { background: #1b1d21; width: 3px; height: 3px; }
QDockWidget { titlebar-close-icon: none; }
QDockWidget::title { background: #2a2d33; padding: 4px 6px; }
QToolBar { background: #26292e; border: none; spacing: 4px; padding: 2px; }
QToolButton { padding: 3px 6px; border-radius: 3px; }
QToolButton:checked { background: #34507a; }
QToolButton:hover { background: #3a3f47; }
QStatusBar { background: #1f2226; color: #b8bcc4; }
QStatusBar QLabel { padding: 0 6px; }
QProgressBar { border: 1px solid #3a3f47; border-radius: 3px; text-align: center; height: 12px; }
QProgressBar::chunk { background: #3478dc; }
QTreeWidget { background: #1c1e22; alternate-background-color: #212429; }
QHeaderView::section { background: #2a2d33; padding: 3px; border: none; }
"""


def apply_dark_theme(app: QApplication) -> None:
    """Switch ``app`` to the Fusion style with the dark palette and style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: WINDOW,
        QPalette.ColorRole.ToolTipBase: WINDOW,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: QColor(44, 48, 54),
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Link: HIGHLIGHT.lighter(130),
        QPalette.ColorRole.Highlight: HIGHLIGHT,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 134, 140),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 114, 120))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
