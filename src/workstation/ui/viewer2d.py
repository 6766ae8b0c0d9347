"""A 2D slice view of the context volume along any index axis (axial, coronal, sagittal).

Scene units are millimetres, so anisotropic voxels keep their true aspect.  Mouse and
keys as every 2D view (:mod:`workstation.ui.canvas2d`); the left button with the
navigate tool moves the linked crosshair, with pick reports the voxel, with a drawing
tool makes an annotation kept in patient coordinates.  For a dynamic series the view
shows the time point the shared :class:`ViewState` holds.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsLineItem, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.annotations import Annotation
from workstation.core.overlays import Roi, ScalarOverlay
from workstation.core.slice_geometry import SlicePlane
from workstation.core.volume import Volume
from workstation.ui.annotation_items import cosmetic_pen
from workstation.ui.annotation_model import AnnotationModel
from workstation.ui.annotation_tool import RC
from workstation.ui.canvas2d import ImageCanvas
from workstation.ui.colour_bar import paint_colour_bar
from workstation.ui.overlay_layers import PlaneView, is_vector
from workstation.ui.overlay_lines import describe_at
from workstation.ui.overlay_render import render_overlays
from workstation.ui.view_annotations import Annotations
from workstation.ui.view_state import ViewState
from workstation.compute.windowing import PRESETS

ACCENTS = {0: QColor(80, 150, 255), 1: QColor(90, 200, 110), 2: QColor(235, 90, 90)}
PLANE_NAMES = ("Axial", "Coronal", "Sagittal")


class SliceViewer(ImageCanvas):
    """One 2D view through the context volume, observing a shared :class:`ViewState`."""

    measurement_finished = Signal(object)  # Annotation

    def __init__(
        self, context: ViewerContext, state: Optional[ViewState] = None, axis: int = 0,
        parent: Optional[QWidget] = None, annotations: Optional[AnnotationModel] = None,
    ) -> None:
        own_state = state is None
        if state is None:  # a stand-alone view keeps its own state and resets it per volume
            state = ViewState()
        super().__init__(state, annotations if annotations is not None else AnnotationModel(), parent)
        if own_state:
            state.setParent(self)
            context.volume_changed.connect(state.reset_for)
            if context.volume is not None:
                state.reset_for(context.volume)
        self.context = context
        self.axis = axis
        self.plane: Optional[SlicePlane] = None
        self.index = 0
        self._shown: Optional[Volume] = None  # the volume the plane was made for
        self.caption = ""  # shown top right: "Current 2024-05-02" beside a prior
        self.setAccessibleName(f"{PLANE_NAMES[axis]} slice view")
        self._cross = [QGraphicsLineItem(), QGraphicsLineItem()]
        for line in self._cross:
            pen = cosmetic_pen(QColor(255, 255, 255, 110), 1.0)
            pen.setStyle(Qt.PenStyle.DashLine)
            line.setPen(pen)
            line.setZValue(10)
            self._scene.addItem(line)
        self.annotation_finished.connect(self.measurement_finished)
        context.volume_changed.connect(self._on_volume)
        context.overlays_changed.connect(self.refresh_overlay)
        context.focus_requested.connect(self._on_focus)
        self.state.crosshair_changed.connect(self._on_crosshair)
        self.state.overlays_toggled.connect(self.refresh_overlay)
        self.state.crosshair_visibility_changed.connect(lambda *_: self._update_crosshair())
        self.state.time_changed.connect(lambda *_: self._on_time())
        if context.volume is not None:
            self._on_volume(context.volume)

    # -- model -> view --------------------------------------------------------------
    @property
    def volume(self) -> Optional[Volume]:
        """The volume drawn: the context's, at the shown time point of a dynamic series."""
        return self.state.time_volume(self.context.volume)

    @property
    def n_slices(self) -> int:
        return self.volume.shape[self.axis] if self.volume is not None else 0

    def has_image(self) -> bool:
        volume = self.context.volume
        return volume is not None and self.plane is not None and self._shown is volume

    def _on_volume(self, volume: Optional[Volume]) -> None:
        self.cancel_draft()
        self.pointer = None
        self._shown = None
        if volume is None:
            self.plane = None
            self.clear_picture()
            return
        self.plane = SlicePlane.for_volume(volume, self.axis)
        self._shown = volume
        self.place_scene()
        self.index = int(np.clip(round(float(self.state.crosshair[self.axis])), 0, volume.shape[self.axis] - 1))
        self.refresh_all()
        self._update_crosshair()
        self.fit()

    def _on_crosshair(self, zyx: Any) -> None:
        if not self.has_image():
            return
        index = int(np.clip(round(float(zyx[self.axis])), 0, self.n_slices - 1))
        if index != self.index:
            self.index = index
            self.cancel_draft()
            self.refresh_all()
        self._update_crosshair()

    def _on_time(self) -> None:
        if self.has_image():
            self.refresh_image()

    def _on_focus(self, zyx: Any) -> None:
        self.state.set_crosshair(np.asarray(zyx, dtype=float))

    # -- what the canvas draws --------------------------------------------------------
    def display_shape(self) -> tuple[int, int]:
        assert self.plane is not None and self.context.volume is not None
        return self.plane.shape(self.context.volume.shape)

    def pixel_mm(self) -> tuple[float, float]:
        assert self.plane is not None and self.context.volume is not None
        return self.plane.pixel_mm(self.context.volume.spacing)

    def slice_values(self) -> NDArray[Any]:
        """The displayed 2D values (physical units) of the current slice."""
        volume = self.volume
        assert volume is not None and self.plane is not None
        return self.plane.extract(volume.array, self.index)

    def display_values(self) -> NDArray[Any]:
        return self.slice_values()

    def display_colour(self) -> Optional[NDArray[np.uint8]]:
        volume = self.volume
        if volume is None or volume.rgb is None or self.plane is None:
            return None
        return np.ascontiguousarray(np.stack([self.plane.extract(volume.rgb[..., k], self.index)
                                              for k in range(3)], axis=-1))

    def supplemental_palette(self) -> Optional[dict[str, Any]]:
        volume = self.volume
        palette = volume.meta.get("supplemental_palette") if volume is not None else None
        return palette if isinstance(palette, dict) else None

    def shown_overlays(self) -> dict[str, Any]:
        return {k: o for k, o in self.context.overlays.items() if k not in self.state.hidden_overlays}

    def overlay_rgba(self) -> Optional[NDArray[np.uint8]]:
        plane, index = self.plane, self.index
        assert plane is not None and self.context.volume is not None
        return render_overlays(self.shown_overlays().values(), lambda a: plane.extract(a, index),
                               plane.shape(self.context.volume.shape))

    def vector_overlays(self) -> dict[str, Any]:
        return {k: o for k, o in self.shown_overlays().items() if is_vector(o)}

    def value_unit(self) -> str:
        return "HU" if self.context.volume is not None and self.context.volume.modality.upper() == "CT" else ""

    # -- coordinates ----------------------------------------------------------------
    def _patient(self, rc: RC) -> NDArray[np.float64]:
        volume = self.context.volume
        assert volume is not None and self.plane is not None
        return volume.index_to_patient(self.plane.to_index(self.index, rc[0], rc[1], volume.shape))

    def patient_to_display(self, points: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Display (row, col) of patient points and their distance (mm) from the shown plane."""
        volume = self.context.volume
        assert volume is not None and self.plane is not None
        idx = np.atleast_2d(volume.patient_to_index(np.asarray(points, dtype=float)))
        rows, cols = self.plane.shape(volume.shape)
        r = idx[:, self.plane.row_axis]
        c = idx[:, self.plane.col_axis]
        r = rows - 1 - r if self.plane.flip_rows else r
        c = cols - 1 - c if self.plane.flip_cols else c
        distance = (idx[:, self.axis] - self.index) * volume.spacing[self.axis]
        return np.stack([r, c], axis=1), distance

    def voxel_at(self, view_pos: QPointF) -> Optional[tuple[int, int, int]]:
        """Voxel (z, y, x) under a viewport position, or ``None`` outside the volume."""
        if not self.has_image():
            return None
        r, c = self.display_rc(view_pos)
        return self._voxel(r, c)

    def _voxel(self, r: float, c: float) -> Optional[tuple[int, int, int]]:
        volume = self.context.volume
        assert volume is not None and self.plane is not None
        zyx = np.rint(self.plane.to_index(self.index, r, c, volume.shape)).astype(int)
        if np.any(zyx < 0) or np.any(zyx >= np.asarray(volume.shape)):
            return None
        return (int(zyx[0]), int(zyx[1]), int(zyx[2]))

    def plane_view(self) -> Optional[PlaneView]:
        volume = self.context.volume
        if volume is None or self.plane is None:
            return None
        plane, index = self.plane, self.index
        return PlaneView(display_to_viewport=self.display_to_viewport, patient_to_display=self.patient_to_display,
                         half_thickness_mm=0.5 * volume.spacing[self.axis], cut=lambda a: plane.extract(a, index),
                         plane=plane, index=index, volume=volume)

    # -- annotations ----------------------------------------------------------------
    def annotation_points(self, annotation: Annotation) -> Optional[list[RC]]:
        if annotation.space != "patient" or self.context.volume is None:
            return None
        series = self.context.series
        frame = series.frame_of_reference_uid if series is not None else ""
        if annotation.frame_of_reference_uid and frame and annotation.frame_of_reference_uid != frame:
            return None
        rc, distance = self.patient_to_display(np.asarray(annotation.points))
        if np.any(np.abs(distance) > 0.5 * self.context.volume.spacing[self.axis] + 1e-6):
            return None
        return [(float(r), float(c)) for r, c in rc]

    def make_annotation(self, kind: str, points: list[RC], text: str,
                        values: tuple[tuple[str, float, str], ...]) -> Optional[Annotation]:
        import uuid

        series = self.context.series
        frame = series.frame_of_reference_uid if series is not None else ""
        source = self._source_instance()
        mm = [tuple(float(v) for v in self._patient(rc)) for rc in points]
        return Annotation(uid=f"2.25.{uuid.uuid4().int}", kind=kind, points=tuple(mm),  # type: ignore[arg-type]
                          space="patient", frame_of_reference_uid=frame, sop_instance_uid=source, text=text,
                          values=values)

    def _source_instance(self) -> str:
        """The SOP instance of the shown slice when it is an acquired plane (axial view of an axial series)."""
        volume = self.context.volume
        instances = volume.meta.get("source_instances", ()) if volume is not None else ()
        if self.axis != 0 or not instances or len(instances) != self.n_slices:
            return ""
        return str(instances[self.index]).split("/")[0]

    def roi_drawn(self, annotation: Annotation, mask: Optional[NDArray[np.bool_]]) -> None:
        if mask is not None and self.axis == 0 and self.plane is not None:
            # Roi masks live on the (y, x) grid of an axial slice: undo display flips.
            m = mask[::-1, :] if self.plane.flip_rows else mask
            m = m[:, ::-1] if self.plane.flip_cols else m
            m = m.T if self.plane.row_axis > self.plane.col_axis else m
            self.context.set_roi(Roi(slice_index=self.index, mask=np.ascontiguousarray(m)))

    # -- commands -------------------------------------------------------------------
    def set_index(self, index: int) -> None:
        """Show slice ``index`` (clamped); moves the shared crosshair along this axis."""
        if not self.has_image():
            return
        cross = self.state.crosshair.copy()
        cross[self.axis] = int(np.clip(index, 0, self.n_slices - 1))
        self.state.set_crosshair(cross)

    def scroll_slices(self, steps: int) -> None:
        self.set_index(self.index + steps)

    def step(self, planes: int) -> None:
        self.scroll_slices(planes)

    def apply_preset(self, number: int) -> None:
        p = PRESETS[number]
        self.state.set_window(p.width, p.level)

    def click(self, row: float, col: float, pick: bool) -> None:
        volume = self.context.volume
        assert volume is not None and self.plane is not None
        if pick:
            voxel = self._voxel(row, col)
            if voxel is not None:
                self.context.voxel_clicked.emit(voxel)
        self.state.set_crosshair(self.plane.to_index(self.index, row, col, volume.shape))

    def _update_crosshair(self) -> None:
        volume = self.context.volume
        if not self.has_image() or volume is None or self.plane is None:
            return
        _, r, c = self.plane.from_index(self.state.crosshair, volume.shape)
        p = self.scene_point((r, c))
        rect = self._scene.sceneRect()
        self._cross[0].setLine(rect.left(), p.y(), rect.right(), p.y())
        self._cross[1].setLine(p.x(), rect.top(), p.x(), rect.bottom())
        for line in self._cross:
            line.setVisible(self.state.show_crosshair)

    # -- text -----------------------------------------------------------------------
    def readout_at(self, row: float, col: float) -> str:
        voxel = self._voxel(row, col)
        volume = self.volume
        if voxel is None or volume is None:
            return ""
        value = float(volume.array[voxel])
        unit = " HU" if volume.modality.upper() == "CT" else ""
        shown = f"{value:.0f}" if abs(value) >= 100 or volume.array.dtype.kind != "f" else f"{value:.4g}"
        x, y, z = volume.index_to_patient(voxel)
        text = f"({voxel[2]}, {voxel[1]}, {voxel[0]})  {shown}{unit}  [{x:.1f}, {y:.1f}, {z:.1f}] mm"
        extra = describe_at(self.shown_overlays(), voxel)  # dose, structure names, labels under the cursor
        return f"{text}  {extra}" if extra else text

    def corner_notes(self) -> Annotations:
        volume = self.context.volume
        assert volume is not None and self.plane is not None
        top_right = self.caption
        series = self.state.time_series
        if series is not None:
            t = self.state.time_index
            top_right = f"t {series.times[t]:.1f} s  ({t + 1}/{len(series.times)})  " + top_right
        w, lv = self.state.width, self.state.level
        window = f"W {w:.0f}  L {lv:.0f}" if w >= 10 else f"W {w:.4g}  L {lv:.4g}"
        return Annotations(
            edges=self.plane.edge_labels(volume),
            top_left=f"{self.plane.name(volume).capitalize()}  {self.index + 1}/{self.n_slices}",
            top_right=top_right,
            bottom_left=window + ("  inverted" if self.state.invert else ""),
            accent=ACCENTS[self.axis],
        )

    def paint_extra(self, painter: QPainter) -> None:
        scalar = self.shown_scalar_overlay()
        if scalar is not None:
            paint_colour_bar(painter, self.viewport().rect(), scalar)

    def shown_scalar_overlay(self) -> Optional[ScalarOverlay]:
        """The parametric map whose colour bar the view shows (the last one added)."""
        shown = [o for o in self.shown_overlays().values() if isinstance(o, ScalarOverlay)]
        return shown[-1] if shown else None
