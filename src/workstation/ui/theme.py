"""Themes: the dark reading-room theme and a high-contrast theme, as palettes and style sheets.

A :class:`Theme` is a handful of named colours; the Qt palette and the style sheet are
both made from it, so the contrast of every text/background pair can be computed
(:func:`contrast_ratio`, WCAG 2.1: at least 4.5:1 for text).  No font size is set
anywhere: text follows the system's font setting, and text drawn over images scales
from it (:func:`scaled_font`).  Dock title bars show visible close and float buttons.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from workstation.core.paths import resource_file
from workstation.ui.settings import Key, register


@dataclass(frozen=True)
class Theme:
    """The colours of one theme (``#rrggbb``)."""

    name: str
    title: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str  # secondary text: status bar, placeholders
    button: str
    highlight: str
    highlighted_text: str
    title_bar: str
    border: str
    link: str
    disabled: str

    def text_pairs(self) -> dict[str, tuple[str, str]]:
        """Every (foreground, background) pair text is drawn in, by name."""
        return {
            "window text": (self.text, self.window),
            "text on base": (self.text, self.base),
            "text on alternate rows": (self.text, self.alternate),
            "button text": (self.text, self.button),
            "selected text": (self.highlighted_text, self.highlight),
            "status bar": (self.muted, self.title_bar),
            "placeholder": (self.muted, self.base),
            "dock title": (self.text, self.title_bar),
            "link": (self.link, self.base),
            "tool tip": (self.text, self.window),
        }


DARK = Theme("dark", "Dark", window="#22252a", base="#181a1e", alternate="#212429", text="#dcdee2",
             muted="#a9aeb7", button="#2c3036", highlight="#2f68bf", highlighted_text="#ffffff",
             title_bar="#2a2d33", border="#4a505a", link="#8ab4f8", disabled="#7d828b")
HIGH_CONTRAST = Theme("high-contrast", "High contrast", window="#000000", base="#000000", alternate="#141414",
                      text="#ffffff", muted="#e6e6e6", button="#000000", highlight="#ffff00",
                      highlighted_text="#000000", title_bar="#000000", border="#ffffff", link="#7fdbff",
                      disabled="#a0a0a0")
THEMES = {t.name: t for t in (DARK, HIGH_CONTRAST)}
register(Key("view/theme", str, "dark", lambda v: v in THEMES, "dark or high-contrast"))


def relative_luminance(colour: str | QColor) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (0 black .. 1 white)."""
    c = QColor(colour)

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(c.redF()) + 0.7152 * linear(c.greenF()) + 0.0722 * linear(c.blueF())


def contrast_ratio(a: str | QColor, b: str | QColor) -> float:
    """WCAG 2.1 contrast ratio of two colours, 1 .. 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def palette(theme: Theme) -> QPalette:
    """The Qt palette of ``theme``."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window, QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base, QPalette.ColorRole.AlternateBase: theme.alternate,
        QPalette.ColorRole.ToolTipBase: theme.window, QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Text: theme.text, QPalette.ColorRole.Button: theme.button,
        QPalette.ColorRole.ButtonText: theme.text, QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: theme.link, QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: theme.highlighted_text, QPalette.ColorRole.PlaceholderText: theme.muted,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.disabled))
    return p


def style_sheet(theme: Theme) -> str:
    """The style sheet of ``theme`` (colours and spacing only; no font sizes)."""
    close = resource_file("icons", "dock-close.svg").as_posix()
    float_icon = resource_file("icons", "dock-float.svg").as_posix()
    t = theme
    focus = "#ffff00" if t.name == "high-contrast" else "#6ea8ff"
    return f"""
QMainWindow::separator {{ background: {t.border}; width: 3px; height: 3px; }}
QDockWidget {{ titlebar-close-icon: url({close}); titlebar-normal-icon: url({float_icon}); color: {t.text}; }}
QDockWidget::title {{ background: {t.title_bar}; padding: 4px 6px; border-bottom: 1px solid {t.border}; }}
QDockWidget::close-button, QDockWidget::float-button {{ border: 1px solid {t.border}; border-radius: 3px;
    background: {t.button}; padding: 1px; }}
QDockWidget::close-button:hover, QDockWidget::float-button:hover {{ background: {t.highlight}; }}
QToolBar {{ background: {t.title_bar}; border: none; spacing: 4px; padding: 2px; }}
QToolButton {{ padding: 3px 6px; border-radius: 3px; color: {t.text}; }}
QToolButton:checked {{ background: {t.highlight}; color: {t.highlighted_text}; }}
QToolButton:hover {{ border: 1px solid {t.border}; }}
QToolButton:focus, QPushButton:focus, QComboBox:focus, QAbstractSpinBox:focus, QLineEdit:focus,
QAbstractItemView:focus, QSlider:focus, QCheckBox:focus {{ border: 2px solid {focus}; }}
QStatusBar {{ background: {t.title_bar}; color: {t.muted}; }}
QStatusBar QLabel {{ padding: 0 6px; color: {t.muted}; }}
QProgressBar {{ border: 1px solid {t.border}; border-radius: 3px; text-align: center; color: {t.text}; }}
QProgressBar::chunk {{ background: {t.highlight}; }}
QTreeWidget, QTableWidget, QListWidget {{ background: {t.base}; alternate-background-color: {t.alternate}; }}
QHeaderView::section {{ background: {t.title_bar}; color: {t.text}; padding: 3px; border: none; }}
"""


def apply_theme(app: QApplication, name: str = "dark") -> Theme:
    """Switch ``app`` to the Fusion style with the named theme (``dark`` or ``high-contrast``)."""
    theme = THEMES.get(name, DARK)
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(style_sheet(theme))
    app.setProperty("workstation_theme", theme.name)
    return theme


def apply_dark_theme(app: QApplication) -> None:
    """Switch ``app`` to the dark reading-room theme."""
    apply_theme(app, "dark")


def current_theme() -> Theme:
    """The theme applied to the running application (dark when none was)."""
    app = QGuiApplication.instance()
    name = app.property("workstation_theme") if app is not None else None
    return THEMES.get(str(name), DARK)


def scaled_font(factor: float = 1.0, bold: bool = False) -> QFont:
    """The application's font (the system's setting) scaled by ``factor``, for text over images."""
    font = QFont(QGuiApplication.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(max(6, round(font.pixelSize() * factor)))
    font.setBold(bold)
    return font
