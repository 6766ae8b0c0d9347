"""The annotations a 2D view draws and the one being drawn: shapes, labels laid out, drafts finished.

:class:`CanvasAnnotations` belongs to one :class:`~workstation.ui.canvas2d.ImageCanvas`: it
draws the annotations of the canvas's model that lie on the plane shown, places their
labels in screen space so that none covers another, a shape or the corner text, and
turns the points of a tool into an annotation (measured, kept by the canvas in its own
coordinates, added to the model so that it can be undone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np
from PySide6.QtCore import QRect

from workstation.ui.annotation_items import DrawnAnnotation
from workstation.ui.annotation_tool import RC, Draft, draft_kind
from workstation.ui.measure import place_labels

if TYPE_CHECKING:
    from workstation.ui.canvas2d import ImageCanvas

MIN_DRAG_PX = 4.0  # a press and release closer than this on screen is a click, not a drag
#: Height (screen pixels) of the bands of corner text at the top and the bottom of a view.
CORNER_BAND = 40.0


class CanvasAnnotations:
    """The drawn annotations and the draft of one canvas."""

    def __init__(self, canvas: "ImageCanvas") -> None:
        self.canvas = canvas
        self.drawn: list[DrawnAnnotation] = []
        self.draft: Optional[Draft] = None

    def clear(self) -> None:
        for drawn in self.drawn:
            drawn.remove(self.canvas.scene())
        self.drawn = []

    def refresh(self) -> None:
        """Draw again the annotations of the model that lie on the plane shown."""
        c = self.canvas
        self.clear()
        if c.annotations is not None and c.has_image():
            head_mm = 12.0 / max(c.current_scale(), 1e-6)
            for a in c.annotations.items:
                rcs = c.annotation_points(a)
                if rcs is not None:
                    pts = [c.scene_point(rc) for rc in rcs]
                    self.drawn.append(DrawnAnnotation(c.scene(), a, pts, head_mm))
        self.layout_labels()
        c.viewport().update()

    def layout_labels(self) -> None:
        """Place the labels next to their shapes, none overlapping another (screen space)."""
        if not self.drawn:
            return
        c = self.canvas
        anchors, sizes = [], []
        for d in self.drawn:
            p = c.mapFromScene(d.anchor)
            anchors.append((float(p.x()), float(p.y())))
            sizes.append(d.label.size())
        r = c.viewport().rect()
        shapes = []
        for d in self.drawn:  # labels keep off the shapes (a line's box is only as thick as the line)
            box = c.mapFromScene(d.shape.sceneBoundingRect()).boundingRect().adjusted(-3, -3, 3, 3)
            shapes.append((float(box.x()), float(box.y()), float(box.width()), float(box.height())))
        avoid = corner_boxes(r) + shapes
        spots = place_labels(anchors, sizes, (0.0, 0.0, float(r.width()), float(r.height())), avoid=avoid)
        for d, (x, y) in zip(self.drawn, spots):
            d.label.setPos(c.mapToScene(int(round(x)), int(round(y))))

    def cancel(self) -> None:
        if self.draft is not None:
            self.draft.remove()
            self.draft = None

    def add_point(self, rc: RC) -> None:
        """A point of the current tool at display (row, col); the annotation is made once complete."""
        c = self.canvas
        kind = draft_kind(c.state.tool)
        if kind is None or c.annotations is None or not c.inside(rc):
            return
        if self.draft is None:
            self.draft = Draft(kind, c.scene(), c.scene_point, c.pixel_mm())
        self.draft.add(rc)
        if self.draft.complete:
            self._finish()

    def _finish(self) -> None:
        c = self.canvas
        draft, self.draft = self.draft, None
        assert draft is not None
        draft.remove()
        a, b = (c.view_pos_of(*draft.points[0]), c.view_pos_of(*draft.points[-1]))
        if draft.kind in ("ellipse", "rectangle", "distance", "arrow") and \
                float(np.hypot(a.x() - b.x(), a.y() - b.y())) < MIN_DRAG_PX:
            return  # a click, not a shape: nothing is measured
        text = ""
        if draft.kind in ("text", "arrow"):
            text = c.ask_text(draft.kind)
            if draft.kind == "text" and not text:
                return
        values, mask = draft.measure(c.display_values(), c.value_unit())
        annotation = c.make_annotation(draft.kind, draft.points, text, values)
        if annotation is None or c.annotations is None:
            return
        annotation = c.annotations.add(annotation)
        c.roi_drawn(annotation, mask)
        c.annotation_finished.emit(annotation)

    def delete_last_here(self) -> None:
        """Remove the last annotation of the plane shown (undoable)."""
        c = self.canvas
        shown = [d.annotation for d in self.drawn]
        if shown and c.annotations is not None:
            c.annotations.remove(shown[-1].uid)


def corner_boxes(r: QRect) -> list[tuple[float, float, float, float]]:
    """Screen boxes of a view's corner text, which labels keep clear of."""
    w, h = float(r.width()), float(r.height())
    return [(0.0, 0.0, w * 0.45, CORNER_BAND), (0.0, h - CORNER_BAND, w * 0.45, CORNER_BAND),
            (w * 0.55, h - CORNER_BAND, w * 0.45, CORNER_BAND)]

