"""The viewer area: one 2D view, an MPR (axial, coronal, sagittal) or the 3D view.

All slice views share one :class:`~workstation.ui.view_state.ViewState`, so their
crosshairs are linked: clicking or scrolling in one view moves the others.  Layouts:

* ``2d``: the axial view alone;
* ``mpr-1x3``: axial, coronal, sagittal side by side;
* ``mpr-2x2``: the three planes and the 3D view;
* ``3d``: the 3D view alone.

The 3D view is created on first use (it needs an OpenGL context).  Where the display
offers no OpenGL (``QT_QPA_PLATFORM=offscreen``, a broken driver) a label that says so
takes its place and the slice views work as usual.
"""

from __future__ import annotations

import logging
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.ui.view_state import ViewState
from workstation.ui.viewer2d import SliceViewer

log = logging.getLogger(__name__)
LAYOUTS = {
    "2d": "Single 2D",
    "mpr-1x3": "MPR 1x3",
    "mpr-2x2": "MPR 2x2 + 3D",
    "3d": "3D",
}


class ViewerArea(QWidget):
    """Holds the slice views and the 3D view and arranges them by layout name."""

    layout_changed = Signal(str)
    readout_changed = Signal(str)

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.state = ViewState(self)
        # the state must follow a new volume before the views re-read it
        context.volume_changed.connect(self.state.reset_for)
        if context.volume is not None:
            self.state.reset_for(context.volume)
        self.views = [SliceViewer(context, self.state, axis=a, parent=self) for a in (0, 1, 2)]
        for view in self.views:
            view.readout_changed.connect(self.readout_changed)
        self._viewer3d: Optional[QWidget] = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.layout_name = ""
        self.set_layout("2d")

    @property
    def axial(self) -> SliceViewer:
        return self.views[0]

    @property
    def coronal(self) -> SliceViewer:
        return self.views[1]

    @property
    def sagittal(self) -> SliceViewer:
        return self.views[2]

    @property
    def viewer3d(self) -> QWidget:
        """The 3D view, created on first access."""
        if self._viewer3d is None:
            problem = opengl_problem()
            if problem is None:
                try:
                    from workstation.ui.viewer3d import Viewer3D

                    self._viewer3d = Viewer3D(self.context, parent=self)
                except Exception as exc:  # a driver or VisPy failure must not end the session
                    problem = f"{type(exc).__name__}: {exc}"
            if self._viewer3d is None:
                log.warning("3D view unavailable: %s", problem)
                self._viewer3d = unavailable_3d_label(str(problem), self)
        return self._viewer3d

    def has_viewer3d(self) -> bool:
        return self._viewer3d is not None

    def set_layout(self, name: str) -> None:
        """Arrange the views; ``name`` is one of :data:`LAYOUTS`."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")
        for w in self.views + ([self._viewer3d] if self._viewer3d is not None else []):
            self._grid.removeWidget(w)
            w.hide()
        for i in range(4):
            self._grid.setRowStretch(i, 0)
            self._grid.setColumnStretch(i, 0)
        placed: list[tuple[QWidget, int, int]]
        if name == "2d":
            placed = [(self.axial, 0, 0)]
        elif name == "mpr-1x3":
            placed = [(self.axial, 0, 0), (self.coronal, 0, 1), (self.sagittal, 0, 2)]
        elif name == "mpr-2x2":
            placed = [(self.axial, 0, 0), (self.viewer3d, 0, 1), (self.coronal, 1, 0), (self.sagittal, 1, 1)]
        else:
            placed = [(self.viewer3d, 0, 0)]
        for widget, row, col in placed:
            self._grid.addWidget(widget, row, col)
            self._grid.setRowStretch(row, 1)
            self._grid.setColumnStretch(col, 1)
            widget.show()
        self.layout_name = name
        self.layout_changed.emit(name)


def opengl_problem() -> Optional[str]:
    """Why no OpenGL context can be made on this display, or ``None`` when one can."""
    platform = QGuiApplication.platformName()
    if platform in ("offscreen", "minimal", "vnc"):
        return f"the Qt platform {platform!r} has no OpenGL"
    context = QOpenGLContext()
    if not context.create():
        return "no OpenGL context could be created (check the graphics driver)"
    surface = QOffscreenSurface()
    surface.create()
    ok = context.makeCurrent(surface)
    context.doneCurrent()
    surface.destroy()
    return None if ok else "the OpenGL context could not be made current (check the graphics driver)"


def unavailable_3d_label(reason: str, parent: Optional[QWidget] = None) -> QLabel:
    """The stand-in for the 3D view: says why it is missing and that 2D and MPR work."""
    label = QLabel(
        f"3D view unavailable: {reason}.\n2D and MPR views work; start the application on a "
        "desktop with OpenGL for the 3D view.",
        parent,
    )
    label.setObjectName("viewer3d_unavailable")
    label.setAccessibleName("3D view unavailable")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label
