"""The image viewer: projection images (MG, CR, DX, XA, US ...), cine loops and stacks of planes.

No axial/coronal labels and no MPR: the edges carry the patient-orientation letters of
the header (PatientOrientation, else ImageOrientationPatient), the image shows fitted
to the window or at true size (T; from PixelSpacing or the magnification-corrected
ImagerPixelSpacing), mammograms are mirrored as they are hung (R and L facing), M
mirrors any image, a cine loop plays at the header's frame rate (Space), and a stack
steps image by image (PageUp/PageDown).  Colour images show in colour.  Annotations
keep the stored image's pixel coordinates; CAD marks of the shown instance are drawn
over the image.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.annotations import Annotation
from workstation.core.images import ImageStack, StackImage
from workstation.ui.annotation_model import AnnotationModel
from workstation.ui.annotation_tool import RC
from workstation.ui.canvas2d import ImageCanvas
from workstation.ui.cine import CineBar
from workstation.ui.overlay_layers import PlaneView, is_vector
from workstation.ui.view_annotations import Annotations
from workstation.ui.view_state import ViewState


class ImageCanvasView(ImageCanvas):
    """One frame of one image of a stack."""

    image_changed = Signal()

    def __init__(self, context: ViewerContext, state: ViewState, annotations: Optional[AnnotationModel] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(state, annotations, parent)
        self.context = context
        self.stack: Optional[ImageStack] = None
        self.image: Optional[StackImage] = None
        self.image_index = 0
        self.frame = 0
        self.mirrored = False
        self.browse = True  # PageUp/PageDown step through the stack (off when each image has a viewport)
        self.toggle_cine: Optional[Callable[[], None]] = None
        self.setAccessibleName("Image view")
        context.overlays_changed.connect(self.viewport().update)

    # -- model -> view --------------------------------------------------------------
    def set_stack(self, stack: Optional[ImageStack], index: int = 0) -> None:
        """Show image ``index`` of ``stack`` (``None``: show nothing)."""
        self.stack = stack
        self.show_image(index if stack is not None else None)

    def show_image(self, index: Optional[int]) -> None:
        self.cancel_draft()
        self.pointer = None
        if self.stack is None or index is None:
            self.image = None
            self.clear_picture()
            self.image_changed.emit()
            return
        self.image_index = int(np.clip(index, 0, len(self.stack.images) - 1))
        self.image = self.stack.images[self.image_index]
        self.frame = 0
        self.mirrored = self.image.facts.hanging_mirror
        self.state.reset_for(self.image.volume)
        self._align_chest_wall()
        self.place_scene()
        self.refresh_all()
        self.fit()
        self.setAccessibleName(f"Image view: {self.image.label}")
        self.image_changed.emit()

    def _align_chest_wall(self) -> None:
        """A hung mammogram sits against the middle of the grid: a right breast's image at the
        right edge of its viewport, a left breast's at the left edge (the chest walls meet)."""
        assert self.image is not None
        f = self.image.facts
        horizontal = Qt.AlignmentFlag.AlignHCenter
        if f.modality == "MG" and f.chest_wall_left is not None and f.laterality in ("R", "L"):
            horizontal = Qt.AlignmentFlag.AlignRight if f.laterality == "R" else Qt.AlignmentFlag.AlignLeft
        self.setAlignment(horizontal | Qt.AlignmentFlag.AlignVCenter)

    def set_frame(self, frame: int) -> None:
        if self.image is None:
            return
        frame = int(np.clip(frame, 0, self.image.n_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.cancel_draft()
            self.refresh_image()
            self.refresh_annotations()
            self.image_changed.emit()

    def set_mirrored(self, mirrored: bool) -> None:
        if self.image is not None and mirrored != self.mirrored:
            self.mirrored = mirrored
            self.cancel_draft()
            self.refresh_all()

    def has_image(self) -> bool:
        return self.image is not None

    def has_true_size(self) -> bool:
        return self.image is not None and self.image.facts.pixel_spacing_mm is not None

    # -- what the canvas draws --------------------------------------------------------
    def display_shape(self) -> tuple[int, int]:
        assert self.image is not None
        _, rows, cols = self.image.volume.shape
        return rows, cols

    def pixel_mm(self) -> tuple[float, float]:
        assert self.image is not None
        spacing = self.image.facts.pixel_spacing_mm
        return spacing if spacing is not None else (self.image.volume.spacing[1], self.image.volume.spacing[2])

    def _flip(self, plane: NDArray[Any]) -> NDArray[Any]:
        return plane[:, ::-1] if self.mirrored else plane

    def display_values(self) -> NDArray[Any]:
        assert self.image is not None
        return self._flip(self.image.volume.array[self.frame])

    def display_colour(self) -> Optional[NDArray[np.uint8]]:
        assert self.image is not None
        rgb = self.image.volume.rgb
        return None if rgb is None else np.ascontiguousarray(self._flip(rgb[self.frame]))

    def supplemental_palette(self) -> Optional[dict[str, Any]]:
        assert self.image is not None
        palette = self.image.volume.meta.get("supplemental_palette")
        return palette if isinstance(palette, dict) else None

    def vector_overlays(self) -> dict[str, Any]:
        return {k: o for k, o in self.context.overlays.items() if is_vector(o) and k not in self.state.hidden_overlays}

    def image_to_display(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Display (row, col) of stored-image (col, row) pixels (mirroring applied)."""
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        cols = self.display_shape()[1]
        col = cols - 1 - pts[:, 0] if self.mirrored else pts[:, 0]
        return np.stack([pts[:, 1], col], axis=1)

    def plane_view(self) -> Optional[PlaneView]:
        if self.image is None:
            return None
        return PlaneView(display_to_viewport=self.display_to_viewport, patient_to_display=None,
                         sop_instance_uid=self.image.facts.sop_instance_uid, image_to_display=self.image_to_display)

    def value_unit(self) -> str:
        return "HU" if self.image is not None and self.image.facts.modality == "CT" else ""

    # -- annotations: stored image pixels -----------------------------------------------
    def _frame_number(self) -> Optional[int]:
        return self.frame + 1 if self.image is not None and self.image.n_frames > 1 else None

    def annotation_points(self, annotation: Annotation) -> Optional[list[RC]]:
        if self.image is None or annotation.space != "image":
            return None
        if annotation.sop_instance_uid != self.image.facts.sop_instance_uid:
            return None
        if annotation.frame_number not in (None, self._frame_number()):
            return None
        rc = self.image_to_display(np.array([[p[0], p[1]] for p in annotation.points]))
        return [(float(r), float(c)) for r, c in rc]

    def make_annotation(self, kind: str, points: list[RC], text: str,
                        values: tuple[tuple[str, float, str], ...]) -> Optional[Annotation]:
        if self.image is None or not self.image.facts.sop_instance_uid:
            return None
        cols = self.display_shape()[1]
        stored = [((cols - 1 - c) if self.mirrored else c, r, 0.0) for r, c in points]
        return Annotation(uid=f"2.25.{uuid.uuid4().int}", kind=kind, points=tuple(stored), space="image",
                          sop_instance_uid=self.image.facts.sop_instance_uid,
                          sop_class_uid=self.image.facts.sop_class_uid, frame_number=self._frame_number(),
                          text=text, values=values)

    # -- navigation -----------------------------------------------------------------
    def step(self, planes: int) -> None:
        """Frames of a cine loop, else the images of the stack."""
        if self.image is None:
            return
        if self.image.n_frames > 1:
            self.set_frame(self.frame + planes)
        elif self.stack is not None and self.browse:
            self.show_image(self.image_index + int(np.sign(planes)))

    def handle_key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        plain = not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        if plain and key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) and self.stack is not None \
                and len(self.stack.images) > 1 and self.browse:
            self.show_image(self.image_index + (1 if key == Qt.Key.Key_PageUp else -1))
            return True
        if plain and key == Qt.Key.Key_M and not mods & Qt.KeyboardModifier.ShiftModifier:
            self.set_mirrored(not self.mirrored)
            return True
        if plain and key == Qt.Key.Key_Space and self.toggle_cine is not None and self.image is not None \
                and self.image.n_frames > 1:
            self.toggle_cine()
            return True
        return super().handle_key(event)

    # -- text -----------------------------------------------------------------------
    def readout_at(self, row: float, col: float) -> str:
        if self.image is None:
            return ""
        r, c = int(round(row)), int(round(col))
        rows, cols = self.display_shape()
        if not (0 <= r < rows and 0 <= c < cols):
            return ""
        stored_c = cols - 1 - c if self.mirrored else c
        value = float(self.image.volume.array[self.frame, r, stored_c])
        text = f"({stored_c}, {r})  {value:.0f}" if self.image.volume.array.dtype.kind != "f" or abs(value) >= 100 \
            else f"({stored_c}, {r})  {value:.4g}"
        if self.image.volume.rgb is not None:
            red, green, blue = (int(v) for v in self.image.volume.rgb[self.frame, r, stored_c])
            text += f"  RGB {red} {green} {blue}"
        return text

    def corner_notes(self) -> Annotations:
        assert self.image is not None
        f = self.image.facts
        top_left = self.image.label
        if self.stack is not None and len(self.stack.images) > 1 and self.browse:
            top_left += f"  image {self.image_index + 1}/{len(self.stack.images)}"
        if self.image.n_frames > 1:
            top_left += f"  frame {self.frame + 1}/{self.image.n_frames}"
        scale = f"{self.current_scale() / self.screen_px_per_mm():.2f}x"
        size = {"true": "true size", "fit": "fit"}.get(self._zoom_mode, scale)
        if f.pixel_spacing_mm is None:
            size += " (pixel size unknown)"
        w, lv = self.state.width, self.state.level
        window = f"W {w:.0f}  L {lv:.0f}" if w >= 10 else f"W {w:.4g}  L {lv:.4g}"
        if self.image.volume.rgb is not None:
            window = f"colour ({f.photometric})"
        return Annotations(
            edges=f.edge_labels(self.mirrored),
            top_left=top_left,
            top_right=("mirrored  " if self.mirrored else "") + size,
            bottom_left=window + ("  inverted" if self.state.invert else ""),
        )


class ImageViewport(QWidget):
    """An image view with its cine bar (shown for multi-frame images)."""

    def __init__(self, context: ViewerContext, annotations: Optional[AnnotationModel] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state = ViewState(self)
        self.canvas = ImageCanvasView(context, self.state, annotations, self)
        self.cine = CineBar("Frame", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.cine)
        self.cine.frame_changed.connect(self.canvas.set_frame)
        self.canvas.image_changed.connect(self._sync_cine)
        self.setAccessibleName("Image viewport")
        self.canvas.toggle_cine = self.cine.toggle
        self._synced: Optional[StackImage] = None
        self._sync_cine()

    def _sync_cine(self) -> None:
        image = self.canvas.image
        if image is not self._synced:
            self._synced = image
            n = image.n_frames if image is not None else 1
            self.cine.set_count(n, frame_time_s=image.facts.frame_time_s if image is not None else None)
            self.cine.setVisible(n > 1)
        self.cine.show_index(self.canvas.frame)

    def set_stack(self, stack: Optional[ImageStack], index: int = 0) -> None:
        self.canvas.set_stack(stack, index)
