"""The 3D view renders the synthetic CT: MIP brightness, iso threshold, label overlay."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from ui_phantom import CUBE, SHAPE, needs_gl
from workstation.analyses.panel_api import LabelOverlay, ViewerContext
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


def test_iso_threshold_selects_structures(viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[2])
    counts = {}
    for hu in (0.0, 500.0, 1500.0):
        viewer.threshold_spin.setValue(hu)
        counts[hu] = _lit(viewer.render_image())
    # 0 HU: the whole body block; 500 HU: only the cube; 1500 HU: nothing
    assert counts[0.0] > 3 * counts[500.0] > 0 and counts[1500.0] == 0


def test_translucent_preset_renders(viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[1])
    assert viewer.volume_visual.method == "translucent" and _lit(viewer.render_image()) > 500


def test_label_overlay_shown_in_3d(viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.set_preset(PRESETS[0])
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[15:25, 24:40, 32:48] = 1
    viewer.context.set_overlay("seg", LabelOverlay(labels, {1: (0, 255, 0)}, opacity=1.0))
    img = viewer.render_image().astype(int)
    greenish = (img[..., 1] - np.maximum(img[..., 0], img[..., 2])) > 60
    assert greenish.sum() > 50
    viewer.context.set_overlay("seg", None)
    img = viewer.render_image().astype(int)
    assert ((img[..., 1] - np.maximum(img[..., 0], img[..., 2])) > 60).sum() == 0
