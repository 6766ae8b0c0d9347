"""The 3D view renders the synthetic CT: MIP brightness, iso threshold, label surfaces."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from ui_phantom import CUBE, SHAPE, SPACING, SPHERE_CENTER, needs_gl
from workstation.analyses.panel_api import ViewerContext
from workstation.core.overlays import LabelOverlay
from workstation.core.volume import Volume
from workstation.ui.transfer_functions import PRESETS

pytestmark = needs_gl


@pytest.fixture
def viewer(qtbot: QtBot, ct: Volume):  # type: ignore[no-untyped-def]
    from workstation.ui.viewer3d import Viewer3D

    context = ViewerContext()
    viewer = Viewer3D(context)
    qtbot.addWidget(viewer)
    viewer.resize(180, 200)
    viewer.show()
    qtbot.waitExposed(viewer)
    context.set_loaded(None, None, ct)
    yield viewer
    viewer.close()


def _lit(img: np.ndarray) -> int:
    return int((img[..., :3].max(axis=-1) > 30).sum())


def test_mip_brightness_matches_brightest_structure(viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[0])  # MIP, clim -200..1200 HU
    img = viewer.render_image()
    assert img.shape[2] in (3, 4) and _lit(img) > 500
    lo, hi = PRESETS[0].clim
    # the dense cube (1200 HU) is the brightest structure: full white
    assert int(img[..., :3].max()) >= 250
    # without the cube, the sphere (300 HU) is the brightest: (300 - lo) / (hi - lo) of full scale
    a = viewer.context.volume.array.copy()
    a[CUBE] = 40
    viewer.context.set_loaded(None, None, Volume(a, spacing=viewer.context.volume.spacing, modality="CT"))
    img = viewer.render_image()
    expected = (300 - lo) / (hi - lo) * 255
    assert abs(int(img[..., :3].max()) - expected) <= 6


def test_texture_is_uploaded_once_and_respects_spacing(viewer) -> None:  # type: ignore[no-untyped-def]
    texture = viewer.texture
    for preset in PRESETS:
        viewer.set_preset(preset)
        viewer.render_image()
    assert viewer.texture is texture and texture.data.shape == SHAPE
    scale = viewer.volume_visual.transform.scale[:3]
    np.testing.assert_allclose(scale, viewer.context.volume.spacing[::-1])


def test_iso_threshold_selects_structures(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[2])
    counts = {}
    for hu in (0.0, 500.0, 1500.0):
        viewer.threshold_spin.setValue(hu)
        qtbot.waitUntil(lambda: not viewer.iso_busy(), timeout=20000)  # a mesh on software OpenGL
        counts[hu] = _lit(viewer.render_image())
    # 0 HU: the whole body block; 500 HU: only the cube; 1500 HU: nothing
    assert counts[0.0] > 3 * counts[500.0] > 0 and counts[1500.0] == 0


def test_translucent_preset_renders(viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[1])
    assert viewer.volume_visual.method == "translucent" and _lit(viewer.render_image()) > 500


def _dominant(img: np.ndarray, channel: int) -> int:
    """Pixels where one colour channel exceeds both others by a margin (shading keeps the hue)."""
    rgb = img[..., :3].astype(int)
    others = np.delete(rgb, channel, axis=-1).max(axis=-1)
    return int(((rgb[..., channel] - others) > 60).sum())


def _wait_surfaces(qtbot: QtBot, viewer, n: int) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not viewer.surfaces.busy and len(viewer.surfaces.shown()) == n, timeout=5000)


def _two_labels() -> np.ndarray:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    z, y, x = np.indices(SHAPE)
    r2 = sum(((i - c) * s) ** 2 for i, c, s in zip((z, y, x), SPHERE_CENTER, SPACING))
    labels[r2 <= 10.0**2] = 1  # a ball of 10 mm radius around the CT's sphere
    labels[4:14, 40:56, 50:70] = 2  # a box away from it
    return labels


def test_label_overlay_shown_in_3d(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[0])
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[15:25, 24:40, 32:48] = 1
    viewer.context.set_overlay("seg", LabelOverlay(labels, {1: (0, 255, 0)}, opacity=1.0))
    _wait_surfaces(qtbot, viewer, 1)
    assert _dominant(viewer.render_image(), 1) > 50
    viewer.context.set_overlay("seg", None)
    assert not viewer.surfaces.visuals and _dominant(viewer.render_image(), 1) == 0


def test_label_surfaces_colours_hiding_and_cache(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[0])
    labels = _two_labels()
    colors = {1: (255, 40, 40), 2: (40, 60, 255)}
    context = viewer.context
    context.set_overlay("seg", LabelOverlay(labels, colors, opacity=1.0))
    assert viewer.surfaces.busy and not viewer.surfaces.visuals  # meshed in the background
    _wait_surfaces(qtbot, viewer, 2)
    img = viewer.render_image()
    assert _dominant(img, 0) > 50 and _dominant(img, 2) > 50
    # the box's surface is in scene mm (x, y, z), half a voxel outside its voxel centres
    verts = viewer.surfaces.visuals[("seg", 2)].mesh_data.get_vertices()
    box_lo = (np.array([4, 40, 50]) - 0.5) * SPACING
    box_hi = (np.array([13, 55, 69]) + 0.5) * SPACING
    np.testing.assert_allclose(verts.min(axis=0), box_lo[::-1], atol=0.6 * max(SPACING))
    np.testing.assert_allclose(verts.max(axis=0), box_hi[::-1], atol=0.6 * max(SPACING))
    meshes = dict(viewer.surfaces.visuals)
    viewer.set_preset(PRESETS[2])  # iso: surfaces drawn first, the bone surface hides them by depth
    assert all(v.order < 0 for v in meshes.values())
    viewer.set_preset(PRESETS[0])  # MIP: surfaces drawn over the projection
    assert all(v.order > 0 for v in meshes.values())
    # hiding a label and changing the opacity reuse the meshes: nothing is rebuilt
    context.set_overlay("seg", LabelOverlay(labels, colors, opacity=0.9, visible=frozenset({1})))
    assert not viewer.surfaces.busy and list(viewer.surfaces.shown()) == [("seg", 1)]
    img = viewer.render_image()
    assert _dominant(img, 0) > 50 and _dominant(img, 2) == 0
    context.set_overlay("seg", LabelOverlay(labels.copy(), colors, opacity=1.0))  # same content, new array
    assert not viewer.surfaces.busy and len(viewer.surfaces.shown()) == 2
    assert all(viewer.surfaces.visuals[k] is v for k, v in meshes.items())


def test_several_label_overlays_at_once(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[1])  # translucent: soft tissue is orange-red, so blue and green surfaces
    labels = _two_labels()
    organs = np.where(labels == 1, 1, 0).astype(np.uint8)
    lesions = np.where(labels == 2, 3, 0).astype(np.int32)
    viewer.context.set_overlay("organs", LabelOverlay(organs, {1: (40, 60, 255)}, opacity=1.0))
    viewer.context.set_overlay("lesions", LabelOverlay(lesions, {3: (40, 230, 40)}, opacity=1.0))
    _wait_surfaces(qtbot, viewer, 2)
    assert set(viewer.surfaces.shown()) == {("organs", 1), ("lesions", 3)}
    img = viewer.render_image()
    assert _dominant(img, 2) > 50 and _dominant(img, 1) > 50
    viewer.context.set_overlay("organs", None)
    assert list(viewer.surfaces.shown()) == [("lesions", 3)]
    img = viewer.render_image()
    assert _dominant(img, 2) == 0 and _dominant(img, 1) > 50


def test_new_volume_drops_surfaces_being_built(viewer, qtbot: QtBot, ct: Volume) -> None:  # type: ignore[no-untyped-def]
    viewer.context.set_overlay("seg", LabelOverlay(_two_labels(), {1: (255, 0, 0), 2: (0, 0, 255)}))
    viewer.context.set_loaded(None, None, ct)
    assert viewer.surfaces.wait(5000)
    qtbot.wait(50)  # late results arrive and are dropped
    assert not viewer.surfaces.visuals and not viewer.surfaces.busy


def test_iso_surface_is_meshed_off_the_gui_thread(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    """On software OpenGL the iso preset draws a mesh made in a worker; the GUI keeps running."""
    import threading
    import time

    from PySide6.QtCore import QTimer

    assert viewer.software_gl and viewer.iso_uses_mesh()  # Xvfb's Mesa llvmpipe
    rng = np.random.default_rng(3)
    big = np.asarray(rng.normal(0, 200, size=(96, 128, 128)), dtype=np.float32)
    from scipy import ndimage

    big = ndimage.gaussian_filter(big, 3.0).astype(np.int16) * 8  # a busy surface: a long extraction
    viewer.context.set_loaded(None, None, Volume(big, spacing=(1.5, 1.0, 1.0), modality="CT"))
    viewer.set_preset(PRESETS[2])
    ticks: list[float] = []
    arrived: list[float] = []
    viewer.iso_builder.ready.connect(lambda *_: arrived.append(time.perf_counter()))
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    viewer.threshold_spin.setValue(20.0)
    qtbot.waitUntil(lambda: not viewer.iso_busy(), timeout=30000)
    timer.stop()
    ticks = [t for t in ticks if t < arrived[0]]  # while the worker meshed
    assert viewer.iso_builder.last_thread not in (None, threading.get_ident())
    assert viewer.iso_mesh is not None and not viewer.volume_visual.visible
    assert viewer.iso_builder.last_seconds > 0.05 and len(ticks) > 3
    assert max(np.diff(ticks)) < max(0.25, viewer.iso_builder.last_seconds / 2)  # no long freeze
    # the vertices lie on the threshold (sampled from the texture they were made of)
    tex = viewer.texture
    verts = viewer.iso_mesh.mesh_data.get_vertices()[:, ::-1] / np.asarray(tex.spacing)  # (z, y, x) index
    sampled = ndimage.map_coordinates(tex.data.astype(np.float64), verts.T, order=1)
    assert np.median(np.abs(sampled - tex.to_texture(20.0))) < 0.5 * np.std(tex.data)
    assert _lit(viewer.render_image()) > 500


def test_camera_moves_render_coarse_then_fine(viewer, qtbot: QtBot) -> None:  # type: ignore[no-untyped-def]
    from workstation.ui.viewer3d import COARSE_STEP, FINE_STEP

    viewer.set_preset(PRESETS[1])
    qtbot.waitUntil(lambda: not viewer.interacting, timeout=3000)  # framing the new volume moved the camera
    assert viewer.volume_visual.relative_step_size == pytest.approx(FINE_STEP)
    viewer.view.camera.azimuth = viewer.view.camera.azimuth + 15.0  # as a drag does, step by step
    assert viewer.interacting and viewer.volume_visual.relative_step_size == pytest.approx(COARSE_STEP)
    coarse = viewer.render_image()
    qtbot.waitUntil(lambda: not viewer.interacting, timeout=3000)
    assert viewer.volume_visual.relative_step_size == pytest.approx(FINE_STEP)
    fine = viewer.render_image()
    assert _lit(coarse) > 0.8 * _lit(fine)  # the coarse frame shows the same volume


def test_3d_view_follows_the_time_point(qtbot: QtBot, ct: Volume) -> None:
    from workstation.core.volume import VolumeSeries
    from workstation.ui.view_state import ViewState
    from workstation.ui.viewer3d import Viewer3D

    context = ViewerContext()
    state = ViewState()
    context.volume_changed.connect(state.reset_for)
    viewer = Viewer3D(context, state=state)
    qtbot.addWidget(viewer)
    viewer.resize(160, 160)
    viewer.show()
    qtbot.waitExposed(viewer)
    later = Volume(np.where(ct.array > 100, ct.array + 500, ct.array).astype(np.int16), spacing=ct.spacing,
                   origin=ct.origin, modality="CT")
    series = VolumeSeries((ct, later), (0.0, 2.0))
    context.set_loaded(None, None, ct)
    state.set_time_series(series)
    np.testing.assert_array_equal(viewer.texture.data.astype(np.int32) - 32768, ct.array)
    state.set_time_index(1)
    np.testing.assert_array_equal(viewer.texture.data.astype(np.int32) - 32768, later.array)
    viewer.close()
