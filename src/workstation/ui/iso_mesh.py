"""The iso-surface of the 3D view as a mesh, extracted off the GUI thread.

On a software OpenGL renderer (Mesa llvmpipe, no GPU) ray-casting an iso-surface costs
seconds per frame; a triangle mesh draws in milliseconds.  :class:`IsoMeshBuilder`
runs marching cubes (:func:`workstation.ui.surfaces.iso_surface`) on the 3D view's
texture in a worker thread and hands back the mesh; a newer request (the threshold
moved again) makes older results stale, so only the latest threshold is shown.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workstation.ui.surface_layer import to_mesh_data
from workstation.ui.surfaces import iso_surface
from workstation.ui.volume_texture import VolumeTexture

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(int, object, float, object)  # (generation, MeshData | None, seconds, worker thread id)


class _Task(QRunnable):
    def __init__(self, generation: int, texture: VolumeTexture, level: float, step: int, signals: _Signals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.generation, self.texture, self.level, self.step, self.signals = generation, texture, level, step, signals

    def run(self) -> None:
        t0 = time.perf_counter()
        md: Any = None
        try:
            surface = iso_surface(self.texture.data, self.level, self.texture.spacing, self.step)
            md = None if surface is None else to_mesh_data(*surface)
        except Exception:  # reported; the view then shows no surface
            log.exception("iso-surface extraction failed")
        try:
            self.signals.done.emit(self.generation, md, time.perf_counter() - t0, threading.get_ident())
        except RuntimeError:  # the view was closed meanwhile
            pass


class IsoMeshBuilder(QObject):
    """Extract iso-surface meshes of a texture in the background; ``ready(mesh_data_or_None)``."""

    ready = Signal(object)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._generation = 0
        self.pending = False
        self.last_seconds = 0.0
        self.last_thread: Optional[int] = None

    def request(self, texture: VolumeTexture, level_texture_units: float, step: int = 1) -> None:
        """Mesh the surface at ``level_texture_units`` (uint16 texture units) of ``texture``."""
        self._generation += 1
        self.pending = True
        self._pool.start(_Task(self._generation, texture, level_texture_units, step, self._signals))

    def cancel(self) -> None:
        """Forget what is being built (a new volume)."""
        self._generation += 1
        self.pending = False

    def _done(self, generation: int, md: Any, seconds: float, thread: int) -> None:
        if generation != self._generation:
            return  # a newer threshold was asked for meanwhile
        self.pending = False
        self.last_seconds, self.last_thread = seconds, thread
        log.debug("iso-surface meshed in %.3f s", seconds)
        self.ready.emit(md)

    def wait(self, timeout_ms: int = 30000) -> bool:
        return bool(self._pool.waitForDone(timeout_ms))

    def shutdown(self) -> None:
        self.cancel()
        self._pool.waitForDone(5000)
