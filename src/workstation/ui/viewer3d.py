"""The 3D view: a VisPy volume renderer embedded in Qt (MIP, translucent, iso-surface).

The volume is uploaded once per load as a 16-bit texture (downsampled to at most
:attr:`Viewer3D.max_dim` voxels per axis and never beyond ``GL_MAX_3D_TEXTURE_SIZE``);
changing the render preset or the iso threshold only changes shader uniforms.  Voxel
spacing becomes an ``STTransform`` scale, so the scene is in mm.  Label overlays marked
``show_in_3d`` are drawn as shaded surfaces, one per label and overlay, meshed in the
background (:mod:`workstation.ui.surface_layer`).  With the iso preset the bone
surface and the label surfaces hide each other by depth; MIP and the translucent
preset have no surface depth, so the label surfaces are drawn over the rendering.

On a software OpenGL renderer (llvmpipe) the GUI must not freeze: the iso-surface is a
mesh extracted off the GUI thread (:mod:`workstation.ui.iso_mesh`) instead of a
ray-cast, and while the camera moves the volume is ray-cast with a coarser step
(:data:`COARSE_STEP`), the full quality returning :data:`SETTLE_MS` after the last
move.  For a dynamic series the view shows the time point the slice views show.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from vispy import scene
from vispy.visuals.transforms import STTransform

from workstation.analyses.panel_api import ViewerContext
from workstation.core.volume import Volume
from workstation.ui.iso_mesh import IsoMeshBuilder
from workstation.ui.scalar_volume_layer import ScalarVolumeLayer
from workstation.ui.surface_layer import SurfaceLayer
from workstation.ui.transfer_functions import (
    PRESETS,
    RenderPreset,
    ct_translucent_colormap,
    iso_colormap,
    mip_colormap,
)
from workstation.ui.view_state import ViewState
from workstation.ui.volume_texture import VolumeTexture, prepare_texture

log = logging.getLogger(__name__)
BACKGROUND = (0.0, 0.0, 0.0, 1.0)
GL_MAX_3D_TEXTURE_SIZE = 0x8073
GL_RENDERER = 0x1F01
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software", "swiftshader")
FINE_STEP = 0.8  # VisPy's default ray step, in voxels
COARSE_STEP = 3.0  # while the camera moves
SETTLE_MS = 250
ISO_DEBOUNCE_MS = 200
ISO_FULL_DIM = 160  # grids larger than this are meshed at every second voxel on software OpenGL


def is_software_renderer(renderer: str) -> bool:
    """Whether an OpenGL renderer string names a software rasteriser."""
    return any(name in renderer.lower() for name in SOFTWARE_RENDERERS)


class Viewer3D(QWidget):
    """Volume rendering of the context volume with a preset selector."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None, max_dim: int = 256,
                 state: Optional[ViewState] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.state = state
        self.max_dim = max_dim
        self._renderer: Optional[str] = None
        self.iso_as_mesh: Optional[bool] = None  # None: a mesh on software OpenGL, ray-cast otherwise
        self.iso_mesh: Optional[scene.visuals.Mesh] = None
        self.iso_builder = IsoMeshBuilder(self)
        self.iso_builder.ready.connect(self._show_iso_mesh)
        self._iso_timer = QTimer(self)
        self._iso_timer.setSingleShot(True)
        self._iso_timer.setInterval(ISO_DEBOUNCE_MS)
        self._iso_timer.timeout.connect(self._request_iso)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._full_quality)
        self.interacting = False
        self.texture: Optional[VolumeTexture] = None
        self.preset: RenderPreset = PRESETS[0]
        self._max_texture: Optional[int] = None
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, app="pyside6", parent=self)
        self.canvas.native.setAccessibleName("3D volume view")
        self.canvas.native.setMinimumSize(160, 160)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(fov=30.0, elevation=15.0, azimuth=-30.0)
        self.volume_visual: Optional[scene.visuals.Volume] = None
        self.surfaces = SurfaceLayer(self.view.scene, max_dim=max_dim, parent=self)
        self.surfaces.meshes_changed.connect(self.canvas.update)
        self.maps = ScalarVolumeLayer(self.view.scene, max_dim=max_dim)
        self.view.scene.transform.changed.connect(self._follow_camera)
        self._build_controls()
        context.volume_changed.connect(self._on_volume)
        context.overlays_changed.connect(self._on_overlays)
        if state is not None:
            state.time_changed.connect(lambda *_: self._on_time())
        if context.volume is not None:
            self._on_volume(context.volume)

    # -- widgets --------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.mode_combo = QComboBox()
        self.mode_combo.setAccessibleName("3D render mode")
        self.mode_combo.addItems([p.name for p in PRESETS])
        self.mode_combo.currentIndexChanged.connect(lambda i: self.set_preset(PRESETS[i]))
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setAccessibleName("Iso-surface threshold in HU")
        self.threshold_spin.setRange(-2000.0, 5000.0)
        self.threshold_spin.setSingleStep(50.0)
        self.threshold_spin.setSuffix(" HU")
        self.threshold_spin.setValue(300.0)
        self.threshold_spin.valueChanged.connect(self.set_threshold)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("3D:"))
        bar.addWidget(self.mode_combo)
        bar.addWidget(QLabel("Iso:"))
        bar.addWidget(self.threshold_spin)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas.native, 1)

    def renderer(self) -> str:
        """The OpenGL renderer string of this canvas's context ('' when it cannot be asked)."""
        if self._renderer is None:
            try:
                from vispy.gloo import gl

                self.canvas.set_current()
                value = gl.glGetParameter(GL_RENDERER)
                self._renderer = value.decode() if isinstance(value, bytes) else str(value or "")
            except Exception as exc:  # no current context yet
                log.debug("could not query GL_RENDERER: %s", exc)
                return ""
        return self._renderer

    @property
    def software_gl(self) -> bool:
        return is_software_renderer(self.renderer())

    def iso_uses_mesh(self) -> bool:
        """Whether the iso preset draws an extracted mesh (software OpenGL) rather than a ray-cast."""
        return self.software_gl if self.iso_as_mesh is None else self.iso_as_mesh

    def max_texture_size(self) -> int:
        """GL_MAX_3D_TEXTURE_SIZE of this canvas's context (2048 when it cannot be asked)."""
        if self._max_texture is None:
            try:
                from vispy.gloo import gl

                self.canvas.set_current()
                self._max_texture = int(gl.glGetParameter(GL_MAX_3D_TEXTURE_SIZE)) or 2048
            except Exception as exc:  # no current context yet: a safe, common minimum
                log.debug("could not query GL_MAX_3D_TEXTURE_SIZE: %s", exc)
                self._max_texture = 2048
        return self._max_texture

    # -- model -> view --------------------------------------------------------------
    def _on_volume(self, volume: Optional[Volume]) -> None:
        if self.volume_visual is not None:
            self.volume_visual.parent = None
        self.volume_visual = None
        self.texture = None
        self._drop_iso_mesh()
        self.surfaces.clear(volume.spacing if volume is not None else None)
        self.maps.clear()
        if volume is None:
            self.canvas.update()
            return
        shown = self.state.time_volume(volume) if self.state is not None else volume
        self._upload(shown or volume)
        self._on_overlays()
        tex = self.texture
        assert tex is not None
        dz, dy, dx = tex.spacing
        nz, ny, nx = tex.data.shape
        extent = np.array([nx * dx, ny * dy, nz * dz])
        self.view.camera.center = tuple(extent / 2.0)
        self.view.camera.scale_factor = float(extent.max()) * 1.1
        self.view.camera.set_range(x=(0, extent[0]), y=(0, extent[1]), z=(0, extent[2]))
        self.canvas.update()

    def _upload(self, volume: Volume) -> None:
        limit = min(self.max_dim, self.max_texture_size())
        self.texture = tex = prepare_texture(volume, limit)
        if self.volume_visual is None:
            self.volume_visual = scene.visuals.Volume(
                tex.data, parent=self.view.scene, texture_format=np.uint16, method="mip", clim=(0.0, 65535.0)
            )
            self.volume_visual.relative_step_size = FINE_STEP
        else:
            self.volume_visual.set_data(tex.data, clim=(0.0, 65535.0))
        self.volume_visual.transform = STTransform(scale=tex.spacing[::-1])
        self.set_preset(self.preset)

    def _on_time(self) -> None:
        """Show the time point the slice views show (same grid: the camera stays)."""
        volume = self.context.volume
        if volume is not None and self.state is not None and self.volume_visual is not None:
            self._upload(self.state.time_volume(volume) or volume)
            self.canvas.update()

    def _on_overlays(self) -> None:
        self.surfaces.update(self.context.overlays)
        volume = self.context.volume
        self.maps.update(self.context.overlays, volume.spacing if volume is not None else None)
        self.canvas.update()

    # -- progressive rendering --------------------------------------------------------
    def _camera_moved(self) -> None:
        """Ray-cast coarsely while the camera moves; full quality once it rests."""
        visual = self.volume_visual
        if visual is not None and visual.visible:
            if not self.interacting:
                self.interacting = True
                visual.relative_step_size = COARSE_STEP
        self._settle.start()

    def _full_quality(self) -> None:
        self.interacting = False
        if self.volume_visual is not None:
            self.volume_visual.relative_step_size = FINE_STEP
        self.canvas.update()

    # -- iso-surface mesh ---------------------------------------------------------------
    def _drop_iso_mesh(self) -> None:
        self.iso_builder.cancel()
        if self.iso_mesh is not None:
            self.iso_mesh.parent = None
            self.iso_mesh = None

    def _request_iso(self) -> None:
        if self.texture is None or self.preset.method != "iso" or not self.iso_uses_mesh():
            return
        level = self.texture.to_texture(self.threshold_spin.value())
        # a large grid meshed every second voxel: a quarter of the triangles to draw in software
        step = 2 if self.software_gl and max(self.texture.data.shape) > ISO_FULL_DIM else 1
        self.iso_builder.request(self.texture, level, step)

    def _show_iso_mesh(self, md: Any) -> None:
        if self.iso_mesh is not None:
            self.iso_mesh.parent = None
            self.iso_mesh = None
        if md is not None and self.preset.method == "iso" and self.iso_uses_mesh():
            mesh = scene.visuals.Mesh(meshdata=md, color=(0.92, 0.88, 0.78, 1.0), shading="smooth",
                                      parent=self.view.scene)
            mesh.shading_filter.light_dir = (0.0, 1.0, -1.0)
            mesh.shading_filter.ambient_light = (1.0, 1.0, 1.0, 0.35)
            mesh.set_gl_state("opaque", depth_test=True, cull_face=False)
            self.iso_mesh = mesh
            self._follow_camera()
        self.canvas.update()

    def _follow_camera(self, _event: Any = None) -> None:
        """Keep the surfaces' light at the camera (slightly from above) and their draw order far to near."""
        if _event is not None:
            self._camera_moved()
        transform = self.view.scene.transform
        w, h = self.canvas.size

        def scene_point(x: float, y: float, depth: float) -> NDArray[np.float64]:
            p = np.asarray(transform.imap([x, y, depth, 1.0]), dtype=np.float64)
            return p[:3] / p[3]

        with np.errstate(all="ignore"):  # a canvas not laid out yet gives no direction
            centre = scene_point(w / 2.0, h / 2.0, 0.0)
            ray = scene_point(w / 2.0, h / 2.0, 0.5) - centre
            up = scene_point(w / 2.0, 0.0, 0.0) - centre
        if not (np.all(np.isfinite(ray)) and np.linalg.norm(ray) > 0):
            return
        ray = ray / np.linalg.norm(ray)
        light = ray
        if np.all(np.isfinite(up)) and np.linalg.norm(up) > 0:
            light = ray - 0.3 * up / np.linalg.norm(up)
        self.surfaces.set_light_dir(light)
        self.surfaces.set_view_dir(ray)
        if self.iso_mesh is not None:
            self.iso_mesh.shading_filter.light_dir = tuple(float(v) for v in light)

    # -- commands -------------------------------------------------------------------
    def set_preset(self, preset: RenderPreset) -> None:
        """Switch MIP / translucent / iso; only uniforms change, the texture stays."""
        self.preset = preset
        index = PRESETS.index(preset) if preset in PRESETS else -1
        if index >= 0 and self.mode_combo.currentIndex() != index:
            self.mode_combo.setCurrentIndex(index)
        self.threshold_spin.setEnabled(preset.method == "iso")
        depth = preset.method == "iso"
        self.surfaces.set_order(-1 if depth else 1)
        visual, tex = self.volume_visual, self.texture
        if visual is None or tex is None:
            return
        mesh = preset.method == "iso" and self.iso_uses_mesh()
        visual.visible = not mesh
        visual.method = preset.method
        visual.set_gl_state("translucent", cull_face=False, depth_test=depth)
        visual.clim = (tex.to_texture(preset.clim[0]), tex.to_texture(preset.clim[1]))
        if preset.method == "translucent":
            visual.cmap = ct_translucent_colormap(preset.clim)
        elif preset.method == "iso":
            visual.cmap = iso_colormap()
            self.set_threshold(self.threshold_spin.value())
        else:
            visual.cmap = mip_colormap()
        if not mesh:
            self._drop_iso_mesh()
        self.canvas.update()

    def set_threshold(self, hu: float) -> None:
        """Iso-surface threshold in the volume's units (HU); a mesh is re-extracted in the background."""
        if self.volume_visual is not None and self.texture is not None:
            self.volume_visual.threshold = self.texture.to_normalized(hu)
            if self.preset.method == "iso" and self.iso_uses_mesh():
                self._iso_timer.start()
            self.canvas.update()

    def iso_busy(self) -> bool:
        """Whether an iso-surface mesh is still being extracted (or about to be)."""
        return self._iso_timer.isActive() or self.iso_builder.pending

    def render_image(self) -> NDArray[np.uint8]:
        """Render the scene offscreen to an RGBA array (for tests and screenshots)."""
        img: Any = self.canvas.render(alpha=False)
        return np.asarray(img)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt naming
        self.surfaces.shutdown()
        self.iso_builder.shutdown()
        self.canvas.close()
        super().closeEvent(event)

