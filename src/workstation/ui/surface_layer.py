"""Label overlays as shaded surfaces in the 3D scene, meshed off the GUI thread.

:class:`SurfaceLayer` keeps one VisPy ``Mesh`` per (overlay key, label).  Meshes are
built by marching cubes (:mod:`workstation.ui.surfaces`) in a worker thread and added
when ready; they are cached per overlay key and label, so that toggling a label or
changing an overlay's opacity or colours only shows, hides or recolours meshes.  A
mesh is rebuilt only when the overlay's label array changes content.  Vertices are in
scene mm (``x, y, z`` = ``index * spacing``), the frame of the volume visual.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from vispy import scene
from vispy.geometry import MeshData

from workstation.core.overlays import ContourOverlay, LabelOverlay
from workstation.ui.surfaces import label_boxes, label_surface

log = logging.getLogger(__name__)
DEFAULT_RGB = (200, 200, 200)
MeshKey = tuple[str, int]


def wanted_labels(overlay: LabelOverlay) -> frozenset[int]:
    """Labels of an overlay to draw: the visible ones, else every label with a colour."""
    chosen = overlay.visible if overlay.visible is not None else overlay.colors.keys()
    return frozenset(int(v) for v in chosen if int(v) > 0)


def mesh_color(overlay: LabelOverlay, label: int) -> tuple[float, float, float, float]:
    """RGBA (0..1) of a label's surface: the overlay's colour and opacity."""
    r, g, b = overlay.colors.get(label, DEFAULT_RGB)
    return (r / 255.0, g / 255.0, b / 255.0, float(np.clip(overlay.opacity, 0.0, 1.0)))


def to_mesh_data(verts_zyx: NDArray[np.float32], faces: NDArray[np.int32]) -> MeshData:
    """VisPy mesh data in scene order (x, y, z) with the per-face arrays the GPU upload uses.

    Swapping the axes also turns marching cubes' inward winding outward.
    """
    md = MeshData(vertices=np.ascontiguousarray(verts_zyx[:, ::-1]), faces=faces)
    md.get_vertices(indexed="faces")
    md.get_vertex_normals(indexed="faces")
    return md


@dataclass(eq=False)
class _Source:
    """One overlay's label array and the meshes made from it (``None``: label absent)."""

    labels: NDArray[np.integer]
    meshes: dict[int, Optional[MeshData]] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)


class _Signals(QObject):
    mesh = Signal(object, int, object)  # (_Source, label, MeshData | None)
    done = Signal(object, float)  # (_Source, seconds)


class _MeshTask(QRunnable):
    """Mesh a set of labels of one label array, one label at a time."""

    def __init__(self, source: _Source, labels: list[int], spacing: tuple[float, float, float], max_dim: int,
                 signals: _Signals, cancel: threading.Event) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.source, self.labels, self.spacing, self.max_dim = source, labels, spacing, max_dim
        self.signals, self.cancel = signals, cancel

    def run(self) -> None:
        t0 = time.perf_counter()
        try:
            boxes = label_boxes(self.source.labels, self.labels)
        except Exception:  # reported; the labels then count as absent
            log.exception("label bounding boxes failed")
            boxes = {}
        for label in self.labels:
            if self.cancel.is_set():
                return
            md: Optional[MeshData] = None
            box = boxes.get(label)
            try:
                surface = None if box is None else label_surface(
                    self.source.labels, label, box, self.spacing, self.max_dim)
                md = None if surface is None else to_mesh_data(*surface)
            except Exception:  # one bad label must not stop the others
                log.exception("surface of label %d failed", label)
            if not self._emit(self.signals.mesh, self.source, label, md):
                return
        self._emit(self.signals.done, self.source, time.perf_counter() - t0)

    @staticmethod
    def _emit(signal: Any, *args: Any) -> bool:
        try:
            signal.emit(*args)
        except RuntimeError as exc:  # the layer was deleted meanwhile
            log.debug("surface task stopped: %s", exc)
            return False
        return True


class SurfaceLayer(QObject):
    """Surfaces of label overlays under a VisPy scene node."""

    meshes_changed = Signal()  # a mesh was added (or found empty); the scene needs a redraw

    def __init__(self, parent_node: Any, max_dim: int = 256, threads: int = 1,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.parent_node = parent_node
        self.max_dim = max_dim
        self.spacing: Optional[tuple[float, float, float]] = None
        self.visuals: dict[MeshKey, scene.visuals.Mesh] = {}
        self._colors: dict[MeshKey, tuple[float, float, float, float]] = {}
        self.timings_s: dict[str, float] = {}
        self._sources: dict[str, _Source] = {}
        self._overlays: dict[str, LabelOverlay] = {}
        self._order = -1
        self._view_dir = np.array([0.0, 0.0, -1.0])
        self._light_dir: tuple[float, float, float] = (0.0, 1.0, -1.0)
        self._cancel = threading.Event()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._signals = _Signals(self)
        self._signals.mesh.connect(self._on_mesh)
        self._signals.done.connect(self._on_done)

    # -- state ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether meshes are still being built."""
        return any(s.pending for s in self._sources.values())

    def shown(self) -> dict[MeshKey, scene.visuals.Mesh]:
        """The meshes drawn now, by (overlay key, label)."""
        return {k: v for k, v in self.visuals.items() if v.visible}

    def clear(self, spacing: Optional[tuple[float, float, float]] = None) -> None:
        """Drop every mesh and pending result; ``spacing`` (mm, z y x) is the new volume's."""
        self._cancel.set()
        self._cancel = threading.Event()
        for visual in self.visuals.values():
            visual.parent = None
        self.visuals.clear()
        self._colors.clear()
        self._sources.clear()
        self._overlays.clear()
        self.spacing = tuple(float(s) for s in spacing) if spacing is not None else None  # type: ignore[assignment]

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop building meshes and wait for the workers (closing the view)."""
        self._cancel.set()
        self._pool.waitForDone(timeout_ms)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the workers finish (tests); queued results arrive with the next events."""
        return bool(self._pool.waitForDone(timeout_ms))

    # -- overlays -> meshes ---------------------------------------------------------
    def update(self, overlays: Mapping[str, Any]) -> None:
        """Show the surfaces of the label overlays marked ``show_in_3d``; mesh what is missing."""
        if self.spacing is None:
            return
        current = {k: o for k, o in overlays.items() if isinstance(o, LabelOverlay) and o.show_in_3d}
        for key, overlay in overlays.items():  # structures: each label layer meshed like a label overlay
            if isinstance(overlay, ContourOverlay) and overlay.show_in_3d:
                current.update({f"{key}#{i}": layer for i, layer in enumerate(overlay.label_overlays())})
        for key in [k for k in self._sources if k not in current]:
            self._drop(key)
        for key, overlay in current.items():
            source = self._source_for(key, overlay)
            missing = sorted(wanted_labels(overlay) - source.meshes.keys() - source.pending)
            if missing:
                source.pending.update(missing)
                self._pool.start(_MeshTask(source, missing, self.spacing, self.max_dim, self._signals, self._cancel))
        self._overlays = current
        self._sync_visuals()

    def _source_for(self, key: str, overlay: LabelOverlay) -> _Source:
        source = self._sources.get(key)
        if source is not None and source.labels is overlay.labels:
            return source
        if source is not None and _same_content(source.labels, overlay.labels):
            source.labels = overlay.labels  # republished with the same labels: keep the meshes
            return source
        self._drop(key)
        source = self._sources[key] = _Source(overlay.labels)
        return source

    def _drop(self, key: str) -> None:
        self._sources.pop(key, None)
        for mesh_key in [k for k in self.visuals if k[0] == key]:
            self.visuals.pop(mesh_key).parent = None
            self._colors.pop(mesh_key, None)

    def _sync_visuals(self) -> None:
        """Create, show, hide and recolour meshes to match the overlays (no meshing)."""
        for (key, label), visual in self.visuals.items():
            overlay = self._overlays.get(key)
            visual.visible = overlay is not None and label in wanted_labels(overlay)
        for key, overlay in self._overlays.items():
            source = self._sources[key]
            for label in sorted(wanted_labels(overlay)):
                md = source.meshes.get(label)
                if md is None:
                    continue
                color = mesh_color(overlay, label)
                visual = self.visuals.get((key, label))
                if visual is None:
                    self.visuals[(key, label)] = self._make_visual(md, color)
                    self._sort()
                elif self._colors.get((key, label)) != color:
                    visual.color = color
                    self._set_blending(visual, color[3])
                self._colors[(key, label)] = color

    def _make_visual(self, md: MeshData, color: tuple[float, float, float, float]) -> scene.visuals.Mesh:
        visual = scene.visuals.Mesh(meshdata=md, color=color, shading="smooth", parent=self.parent_node)
        visual.shading_filter.light_dir = self._light_dir
        visual.shading_filter.shininess = 30.0
        visual.shading_filter.specular_light = (1.0, 1.0, 1.0, 0.15)
        visual.shading_filter.ambient_light = (1.0, 1.0, 1.0, 0.35)
        self._set_blending(visual, color[3])
        return visual

    @staticmethod
    def _set_blending(visual: scene.visuals.Mesh, alpha: float) -> None:
        # a translucent surface shows its front faces only (no doubled alpha)
        visual.set_gl_state("translucent", depth_test=True, cull_face=alpha < 1.0)

    # -- worker results -------------------------------------------------------------
    def _on_mesh(self, source: _Source, label: int, md: Optional[MeshData]) -> None:
        source.pending.discard(label)
        if source not in self._sources.values():
            return  # the overlay changed or the volume was replaced meanwhile
        source.meshes[label] = md
        self._sync_visuals()
        self.meshes_changed.emit()

    def _on_done(self, source: _Source, seconds: float) -> None:
        key = next((k for k, s in self._sources.items() if s is source), None)
        if key is not None:
            self.timings_s[key] = seconds
            log.debug("surfaces of %r built in %.3f s", key, seconds)

    # -- drawing --------------------------------------------------------------------
    def set_light_dir(self, direction: Iterable[float]) -> None:
        """Direction the light travels, in scene coordinates (a head light follows the camera)."""
        self._light_dir = tuple(float(v) for v in direction)  # type: ignore[assignment]
        for visual in self.visuals.values():
            visual.shading_filter.light_dir = self._light_dir

    def set_order(self, order: int) -> None:
        """Draw before (negative) or after (positive) the volume visual (order 0)."""
        self._order = -1 if order < 0 else 1
        self._sort()

    def set_view_dir(self, direction: Iterable[float]) -> None:
        """Viewing direction in scene coordinates: translucent surfaces are drawn far to near."""
        self._view_dir = np.asarray(tuple(direction), dtype=np.float64)
        self._sort()

    def _sort(self) -> None:
        def depth(visual: scene.visuals.Mesh) -> float:
            bounds = [visual.bounds(axis) or (0.0, 0.0) for axis in range(3)]
            return float(np.dot([sum(b) / 2.0 for b in bounds], self._view_dir))

        ranked = sorted(self.visuals.values(), key=depth, reverse=True)  # farthest first
        first = 1 if self._order > 0 else -len(ranked)
        for i, visual in enumerate(ranked):
            if visual.order != first + i:
                visual.order = first + i


def _same_content(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
