"""The viewer area: a grid of viewports laid out by name or by a hanging protocol.

All slice views of the current volume share one :class:`~workstation.ui.view_state.ViewState`,
so their crosshairs are linked: clicking or scrolling in one view moves the others.  The
named layouts:

* ``2d``: the axial view alone;
* ``mpr-1x3``: axial, coronal, sagittal side by side;
* ``mpr-2x2``: the three planes and the 3D view;
* ``3d``: the 3D view alone.

A hanging protocol (:mod:`workstation.ui.hanging_protocols`) lays out any grid of
those, of image viewports (projection images, cine loops, stacks) and of a prior
study's slice view, whose scrolling follows the current one by patient position.  A
dynamic series brings a time bar that every view follows.

The 3D view is created on first use (it needs an OpenGL context).  Where the display
offers no OpenGL (``QT_QPA_PLATFORM=offscreen``, a broken driver) a label that says so
takes its place and the slice views work as usual.
"""

from __future__ import annotations

import logging
from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.images import ImageStack, StackImage
from workstation.ui.annotation_model import AnnotationModel
from workstation.ui.canvas2d import ImageCanvas
from workstation.ui.cine import CineBar
from workstation.ui.hanging_protocols import PLANES, StudyFacts, ViewportSpec
from workstation.ui.image_viewer import ImageViewport
from workstation.ui.prior import PriorViews
from workstation.ui.reading import Reading
from workstation.ui.view_state import ViewState
from workstation.ui.viewer2d import SliceViewer

log = logging.getLogger(__name__)
LAYOUTS = {
    "2d": "Single 2D",
    "mpr-1x3": "MPR 1x3",
    "mpr-2x2": "MPR 2x2 + 3D",
    "3d": "3D",
}
LAYOUT_GRIDS: dict[str, tuple[int, int, tuple[ViewportSpec, ...]]] = {
    "2d": (1, 1, (ViewportSpec("plane"),)),
    "mpr-1x3": (1, 3, tuple(ViewportSpec("plane", plane=p) for p in PLANES)),
    "mpr-2x2": (2, 2, (ViewportSpec("plane"), ViewportSpec("3d"), ViewportSpec("plane", plane="coronal"),
                       ViewportSpec("plane", plane="sagittal"))),
    "3d": (1, 1, (ViewportSpec("3d"),)),
}


class ViewerArea(QWidget):
    """Holds the slice views, the 3D view, image viewports and the prior view, arranged in a grid."""

    layout_changed = Signal(str)
    readout_changed = Signal(str)
    active_changed = Signal(object)  # the ImageCanvas acted on by the tool bar

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None,
                 annotations: Optional[AnnotationModel] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.annotations = annotations if annotations is not None else AnnotationModel(self)
        self.state = ViewState(self)
        # the state must follow a new volume before the views re-read it
        context.volume_changed.connect(self.state.reset_for)
        if context.volume is not None:
            self.state.reset_for(context.volume)
        self.views = [SliceViewer(context, self.state, axis=a, parent=self, annotations=self.annotations)
                      for a in (0, 1, 2)]
        self.image_viewports: list[ImageViewport] = []
        self.stacks: list[ImageStack] = []
        self.prior = PriorViews(context, self.state, self)
        self._placeholders: list[QLabel] = []
        self._viewer3d: Optional[QWidget] = None
        self._active: ImageCanvas = self.views[0]
        for view in self.views:
            self._watch(view)
        self._watch(self.prior.view)
        self._grid_widget = QWidget(self)
        self._grid = QGridLayout(self._grid_widget)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.time_bar = CineBar("Time point", self)
        self.time_bar.setAccessibleName("Time points of the dynamic series")
        self.time_bar.frame_changed.connect(self.state.set_time_index)
        self.state.time_series_changed.connect(self._on_time_series)
        self.state.tool_changed.connect(self._share_tool)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self._grid_widget, 1)
        box.addWidget(self.time_bar)
        self.time_bar.hide()
        self.layout_name = ""
        self.protocol_name = ""
        self.specs: tuple[ViewportSpec, ...] = ()
        self.grid_size = (1, 1)
        self.facts: Optional[StudyFacts] = None
        self.set_layout("2d")

    # -- the views ------------------------------------------------------------------
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

                    self._viewer3d = Viewer3D(self.context, parent=self, state=self.state)
                except Exception as exc:  # a driver or VisPy failure must not end the session
                    problem = f"{type(exc).__name__}: {exc}"
            if self._viewer3d is None:
                log.warning("3D view unavailable: %s", problem)
                self._viewer3d = unavailable_3d_label(str(problem), self)
        return self._viewer3d

    def has_viewer3d(self) -> bool:
        return self._viewer3d is not None

    def canvases(self) -> list[ImageCanvas]:
        """Every 2D view that is shown now."""
        shown: list[ImageCanvas] = [v for v in self.views if v.isVisible()]
        shown += [vp.canvas for vp in self.image_viewports if vp.isVisible()]
        if self.prior.view.isVisible():
            shown.append(self.prior.view)
        return shown

    def active_canvas(self) -> ImageCanvas:
        """The 2D view the tool bar's window and presets act on (the last one used)."""
        if self._active.isVisible() or not self.canvases():
            return self._active
        return self.canvases()[0]

    def active_state(self) -> ViewState:
        return self.active_canvas().state

    def _watch(self, canvas: ImageCanvas) -> None:
        canvas.readout_changed.connect(self.readout_changed)
        canvas.activated.connect(self._set_active)

    def _set_active(self, canvas: ImageCanvas) -> None:
        if canvas is not self._active:
            self._active = canvas
            self.active_changed.emit(canvas)

    def _share_tool(self, tool: str) -> None:
        for vp in self.image_viewports:
            vp.state.set_tool(tool)
        self.prior.state.set_tool(tool if tool in ("navigate", "pick") else "navigate")

    def _on_time_series(self, series: object) -> None:
        ts = self.state.time_series
        self.time_bar.set_count(len(ts.volumes) if ts is not None else 1, times=ts.times if ts is not None else None)
        self.time_bar.setVisible(ts is not None)

    def _image_viewport(self, k: int) -> ImageViewport:
        while len(self.image_viewports) <= k:
            vp = ImageViewport(self.context, self.annotations, self)
            vp.state.set_tool(self.state.tool)
            self._watch(vp.canvas)
            self.image_viewports.append(vp)
        return self.image_viewports[k]

    def _placeholder(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setAccessibleName(text)
        label.setStyleSheet("background: black;")
        self._placeholders.append(label)
        return label

    # -- layouts --------------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        """Arrange the views of the current volume; ``name`` is one of :data:`LAYOUTS`."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")
        rows, columns, specs = LAYOUT_GRIDS[name]
        self.arrange(rows, columns, specs)
        self.layout_name, self.protocol_name = name, ""
        self.layout_changed.emit(name)

    def open_reading(self, reading: Reading) -> None:
        """Show a loaded reading: the context takes its volume, the grid its protocol."""
        self.state.set_time_series(None)
        self.context.set_loaded(reading.study, reading.series, reading.volume)
        if reading.time_series is not None:
            self.state.set_time_series(reading.time_series)
        prior = reading.prior
        if prior is not None and prior.volume is not None:
            self.prior.set_prior(prior.study, prior.series, prior.volume)
        else:
            self.prior.set_prior(None, None, None)
        shown_prior = prior is not None and any(vp.kind == "prior" for vp in reading.protocol.viewports)
        date = reading.study.study_date if reading.study is not None else None
        self.axial.caption = ("Current " + (date.isoformat() if date else "")).strip() if shown_prior else ""
        self.set_stacks(reading.stacks)
        self.facts = reading.facts
        rows, columns, specs = reading.protocol.grid_for(reading.n_images)
        named = next((k for k, grid in LAYOUT_GRIDS.items() if grid == (rows, columns, tuple(specs))), "")
        if named:
            self.set_layout(named)
            self.protocol_name = reading.protocol.name
        else:
            self.arrange(rows, columns, specs, protocol=reading.protocol.name)

    def shown_file(self) -> Optional[str]:
        """The file of the image the active view shows (its slice's file for a volume)."""
        canvas = self.active_canvas()
        if isinstance(canvas, SliceViewer):
            volume = canvas.context.volume
            files = list(volume.meta.get("source_files", ())) if volume is not None else []
            if not files:
                return None
            return str(files[canvas.index] if canvas.axis == 0 and len(files) == canvas.n_slices else files[0])
        image = getattr(canvas, "image", None)
        files = list(image.volume.meta.get("source_files", ())) if image is not None else []
        return str(files[0]) if files else None

    def set_stacks(self, stacks: Sequence[ImageStack]) -> None:
        """The images the image viewports choose from (the open study's)."""
        self.stacks = list(stacks)

    def find_image(self, spec: ViewportSpec, taken: set[int]) -> Optional[tuple[ImageStack, int]]:
        """The stack and index of the image ``spec`` asks for (each image hung once)."""
        k = 0
        for stack in self.stacks:
            for i, image in enumerate(stack.images):
                if id(image) not in taken and _wanted(image, spec, k):
                    return stack, i
                k += 1
        return None

    def arrange(self, rows: int, columns: int, specs: Sequence[ViewportSpec], protocol: str = "") -> None:
        """Lay out ``specs`` row by row in a ``rows`` x ``columns`` grid."""
        self._clear_grid()
        taken: set[int] = set()
        n_images = 0
        browse = sum(1 for s in specs if s.kind == "image") == 1  # one viewport steps through the stack
        for k, spec in enumerate(specs):
            widget = self._widget_for(spec, taken, n_images, browse)
            if spec.kind == "image":
                n_images += 1
            row, col = divmod(k, columns)
            self._grid.addWidget(widget, row, col)
            widget.show()
        for r in range(rows):
            self._grid.setRowStretch(r, 1)
        for c in range(columns):
            self._grid.setColumnStretch(c, 1)
        self.specs, self.grid_size = tuple(specs), (rows, columns)
        if protocol:
            self.protocol_name = protocol
            self.layout_name = ""
            self.layout_changed.emit(protocol)
        first = self.canvases()
        if first and not self._active.isVisible():
            self._set_active(first[0])

    def _clear_grid(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
        for label in self._placeholders:
            label.deleteLater()
        self._placeholders = []
        for i in range(5):
            self._grid.setRowStretch(i, 0)
            self._grid.setColumnStretch(i, 0)

    def _widget_for(self, spec: ViewportSpec, taken: set[int], n_images: int, browse: bool) -> QWidget:
        if spec.kind == "plane":
            return self.views[PLANES.index(spec.plane)]
        if spec.kind == "3d":
            return self.viewer3d
        if spec.kind == "prior":
            if self.prior.context.volume is None:
                return self._placeholder("No prior study of this patient is open.")
            return self.prior.view
        found = self.find_image(spec, taken)
        if found is None:
            return self._placeholder(f"No {spec.title} image in this study.")
        stack, index = found
        taken.add(id(stack.images[index]))
        vp = self._image_viewport(n_images)
        vp.canvas.browse = browse
        vp.set_stack(stack, index)
        return vp


def _wanted(image: StackImage, spec: ViewportSpec, k: int) -> bool:
    f = image.facts
    if spec.modality and f.modality != spec.modality:
        return False
    if spec.laterality or spec.view:
        same_side = not spec.laterality or f.laterality == spec.laterality
        return same_side and (not spec.view or f.view_position == spec.view)
    return spec.index is None or spec.index == k


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
