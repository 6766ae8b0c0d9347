"""The viewer tool bar: window presets, mouse tools, crosshair and overlay toggles.

The preset box and the window act on the view used last (each image of a hanging has
a window of its own; the slice views of a volume share one); the tools act everywhere.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QMenu, QToolBar, QToolButton, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.ui.mpr import ViewerArea
from workstation.ui.view_state import ViewState
from workstation.ui.window_presets import all_presets

TOOL_ACTIONS = (
    ("navigate", "Navigate", "N"),
    ("pick", "Pick voxel", "P"),
    ("distance", "Distance", "D"),
    ("angle", "Angle", "A"),
    ("cobb", "Cobb angle", "B"),
    ("arrow", "Arrow", "W"),
    ("text", "Text", "X"),
    ("roi_ellipse", "Ellipse ROI", "E"),
    ("roi_rectangle", "Rectangle ROI", "R"),
)


class ViewerToolBar(QToolBar):
    """Controls acting on the :class:`ViewerArea`'s views."""

    def __init__(self, area: ViewerArea, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__("Viewer", parent)
        self.setObjectName("viewer_toolbar")
        self.area, self.context, state = area, context, area.state
        self.preset_combo = QComboBox()
        self.preset_combo.setAccessibleName("Window preset")
        self.preset_combo.setToolTip("Window/level preset (keys 1-9 in a view)")
        self.preset_combo.activated.connect(self._preset_chosen)
        self.rebuild_presets()
        self._watched: Optional[ViewState] = None
        area.active_changed.connect(lambda *_: self._watch_active())
        self._watch_active()
        self.addWidget(self.preset_combo)
        self.addSeparator()
        group = QActionGroup(self)
        group.setExclusive(True)
        self.tool_actions: dict[str, QAction] = {}
        for key, text, shortcut in TOOL_ACTIONS:
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{text} ({shortcut})")
            action.triggered.connect(lambda _=False, k=key: state.set_tool(k))
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[key] = action
        self.tool_actions[state.tool].setChecked(True)
        state.tool_changed.connect(lambda k: self.tool_actions[k].setChecked(True))
        self.addSeparator()
        self.crosshair_action = QAction("Crosshair", self, checkable=True, checked=state.show_crosshair)
        self.crosshair_action.setShortcut(QKeySequence("C"))
        self.crosshair_action.setToolTip("Show the linked crosshair (C)")
        self.crosshair_action.toggled.connect(state.set_show_crosshair)
        self.addAction(self.crosshair_action)
        self.fit_action = QAction("Fit", self)
        self.fit_action.setShortcut(QKeySequence("F"))
        self.fit_action.setToolTip("Fit the images in their views (F)")
        self.fit_action.triggered.connect(self._fit_all)
        self.addAction(self.fit_action)
        self.overlay_menu = QMenu("Overlays", self)
        button = QToolButton(self)
        button.setText("Overlays")
        button.setAccessibleName("Overlay visibility")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setMenu(self.overlay_menu)
        self.addWidget(button)
        context.overlays_changed.connect(self._rebuild_overlay_menu)
        self._rebuild_overlay_menu()

    def _fit_all(self) -> None:
        for view in self.area.canvases():
            view.fit()

    def rebuild_presets(self) -> None:
        """The built-in presets and the user's (after the settings change)."""
        self._presets = [p for _key, p in all_presets()]
        self.preset_combo.clear()
        self.preset_combo.addItem("Custom window")
        for key, p in all_presets():
            self.preset_combo.addItem(f"{key}  {p.name}  W{p.width:g} L{p.level:g}")

    def _watch_active(self) -> None:
        state = self.area.active_state()
        if state is self._watched:
            return
        if self._watched is not None:
            self._watched.window_changed.disconnect(self._sync_preset)
        self._watched = state
        state.window_changed.connect(self._sync_preset)
        self._sync_preset(state.width, state.level)

    def _preset_chosen(self, index: int) -> None:
        if index > 0:
            p = self._presets[index - 1]
            self.area.active_state().set_window(p.width, p.level)

    def _sync_preset(self, width: float, level: float, *_: Any) -> None:
        index = next((i + 1 for i, p in enumerate(self._presets) if (p.width, p.level) == (width, level)), 0)
        self.preset_combo.setCurrentIndex(index)

    def _rebuild_overlay_menu(self) -> None:
        self.overlay_menu.clear()
        keys = list(self.context.overlays)
        if not keys:
            self.overlay_menu.addAction("(no overlays)").setEnabled(False)
        for key in keys:
            action = self.overlay_menu.addAction(key)
            action.setCheckable(True)
            action.setChecked(key not in self.area.state.hidden_overlays)
            action.toggled.connect(lambda on, k=key: self._toggle_overlay(k, on))

    def _toggle_overlay(self, key: str, on: bool) -> None:
        self.area.state.set_overlay_visible(key, on)
        for vp in self.area.image_viewports:
            vp.state.set_overlay_visible(key, on)
