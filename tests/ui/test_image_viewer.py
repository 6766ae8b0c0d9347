"""The image viewer on real files: projection images, colour, cine, mammograms as hung; rendered pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom_files import PYDICOM_FILES, data_file
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from workstation.analyses.panel_api import ViewerContext
from workstation.core.images import ImageStack
from workstation.io.dicom import scan
from workstation.io.dicom_images import load_images
from workstation.ui.image_viewer import ImageViewport


def _stack(path: Path, modality: str = "") -> ImageStack:
    found = [s for s in scan(path).series if not modality or s.modality == modality]
    return load_images(max(found, key=lambda s: s.n_frames))


@pytest.fixture
def viewport(qtbot: QtBot) -> ImageViewport:
    vp = ImageViewport(ViewerContext())
    qtbot.addWidget(vp)
    vp.resize(520, 480)
    vp.show()
    qtbot.waitExposed(vp)
    return vp


def _show(qtbot: QtBot, vp: ImageViewport, stack: ImageStack) -> None:
    vp.set_stack(stack)
    qtbot.wait(60)  # the cine bar shows or hides: the view is fitted again


def _screen(vp: ImageViewport) -> QImage:
    return vp.canvas.viewport().grab().toImage()


def _shown(vp: ImageViewport, row: float, col: float) -> QColor:
    pos = vp.canvas.view_pos_of(row, col).toPoint()
    return QColor(_screen(vp).pixel(pos))


def test_radiograph_orientation_inversion_and_true_size(qtbot: QtBot, viewport: ImageViewport) -> None:
    """A CR of pydicom's DICOMDIR: the header's letters at the edges, MONOCHROME1 inverted, true size."""
    stack = _stack(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR", "CR")
    _show(qtbot, viewport, stack)
    canvas = viewport.canvas
    image = canvas.image
    assert image is not None and image.facts.patient_orientation == ("L", "F")
    notes = canvas.corner_notes()
    assert notes.edges == {"right": "L", "left": "R", "bottom": "F", "top": "H"}
    assert "Axial" not in notes.top_left and not viewport.cine.isVisible()
    state = viewport.state
    assert state.invert  # MONOCHROME1: high values are dark
    assert state.function == "LINEAR_EXACT"  # rescaled to real values
    values = image.volume.array[0]
    y = np.clip(np.rint(((values - state.level) / state.width + 0.5) * 255), 0, 255)
    np.testing.assert_array_equal(canvas.rendered_gray(), 255 - y)
    r, c = 8, 5
    assert abs(_shown(viewport, r, c).red() - (255 - int(y[r, c]))) <= 1
    # true size: a pixel of 0.1 mm takes 0.1 mm of the screen
    assert canvas.true_size()
    assert canvas.current_scale() == pytest.approx(canvas.screen_px_per_mm())
    a, b = canvas.display_to_viewport(np.array([[0.0, 0.0], [0.0, 10.0]]))
    assert (b[0] - a[0]) == pytest.approx(10 * 0.1 * canvas.screen_px_per_mm(), rel=1e-6)
    canvas.fit()
    assert canvas.current_scale() > canvas.screen_px_per_mm()  # a 1.6 mm image fills the view


def test_a_radiograph_without_pixel_size_has_no_true_size(qtbot: QtBot, viewport: ImageViewport) -> None:
    _show(qtbot, viewport, _stack(Path(data_file("RG1_UNCI.dcm"))))
    canvas = viewport.canvas
    before = canvas.current_scale()
    assert not canvas.true_size() and canvas.current_scale() == before
    assert "pixel size unknown" in canvas.corner_notes().top_right


def test_mammogram_is_mirrored_as_hung(qtbot: QtBot, viewport: ImageViewport, tmp_path: Path) -> None:
    """An R-MLO stored with its chest wall on the left (row direction A) is shown mirrored,
    chest wall at the right, against the right edge of its viewport; its letters follow."""
    from workstation.demo.mammo_dicom import mg_dataset

    pixels = np.zeros((64, 48), dtype=np.uint16)
    pixels[:, :8] = 4095  # the chest wall side, as stored
    pixels[10, 20] = 2000
    ds = mg_dataset(pixels, "R-MLO", orientation=("A", "F"), spacing_mm=0.2, study_uid=pydicom.uid.generate_uid(),
                    series_uid=pydicom.uid.generate_uid(), instance=1)
    ds.save_as(tmp_path / "rmlo.dcm", enforce_file_format=True)
    _show(qtbot, viewport, _stack(tmp_path))
    canvas = viewport.canvas
    assert canvas.mirrored and canvas.corner_notes().edges["right"] == "P"
    shown = canvas.display_values()
    np.testing.assert_array_equal(shown, pixels[:, ::-1])
    gray = canvas.rendered_gray()
    assert gray[:, -8:].min() > gray[:, :-8].max() + 100
    right = canvas.mapFromScene(canvas.sceneRect().topRight())
    assert right.x() == pytest.approx(canvas.viewport().width(), abs=2)  # against the middle of a hanging
    assert _shown(viewport, 32, 47).red() > 240 and _shown(viewport, 32, 30).red() < 140
    qtbot.keyClick(canvas, Qt.Key.Key_M)  # mirror back by hand
    assert not canvas.mirrored and canvas.corner_notes().edges["right"] == "A"
    np.testing.assert_array_equal(canvas.display_values(), pixels)


def test_palette_colour_shown_in_colour(qtbot: QtBot, viewport: ImageViewport) -> None:
    path = PYDICOM_FILES / "examples_palette.dcm"
    _show(qtbot, viewport, _stack(path))
    ds = pydicom.dcmread(path)
    luts = [np.frombuffer(getattr(ds, f"{c}PaletteColorLookupTableData"), dtype="<u2").astype(float)
            for c in ("Red", "Green", "Blue")]
    index = ds.pixel_array.astype(int)
    viewport.canvas.true_size()  # one image pixel on at least one screen pixel: no pixel is skipped
    viewport.canvas.zoom(2.0)
    qtbot.wait(30)
    expected = np.stack([np.rint(lut[index] * 255 / 65535) for lut in luts], axis=-1)
    coloured = np.argwhere(np.ptp(expected, axis=-1) > 40)  # pixels whose colour is not a grey
    assert len(coloured) > 100
    canvas = viewport.canvas
    visible = [tuple(rc) for rc in coloured[:: max(1, len(coloured) // 400)]
               if canvas.viewport().rect().adjusted(60, 40, -60, -40).contains(canvas.view_pos_of(*rc).toPoint())]
    assert len(visible) >= 5
    for r, c in visible[:20]:
        got = _shown(viewport, r, c)
        assert np.abs(np.array(got.getRgb()[:3]) - expected[r, c]).max() <= 2, (r, c)
    assert "colour" in viewport.canvas.corner_notes().bottom_left


def test_ultrasound_cine_plays_frames_in_colour(qtbot: QtBot, viewport: ImageViewport) -> None:
    from pydicom.pixels import convert_color_space, pixel_array

    path = PYDICOM_FILES / "examples_ybr_color.dcm"
    _show(qtbot, viewport, _stack(path))
    cine, canvas = viewport.cine, viewport.canvas
    assert viewport.cine.isVisible() and cine.count == 30
    assert cine.fps.value() == pytest.approx(1000.0 / 33.333, abs=0.05)  # FrameTime 33.333 ms
    rgb = convert_color_space(pixel_array(str(path), as_rgb=False), "YBR_FULL", "RGB")
    r, c = 120, 160
    first = _shown(viewport, r, c)
    assert abs(first.red() - int(rgb[0, r, c, 0])) <= 2 and abs(first.blue() - int(rgb[0, r, c, 2])) <= 2
    cine.fps.setValue(60.0)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Space)  # play
    assert cine.playing
    qtbot.waitUntil(lambda: canvas.frame >= 5, timeout=5000)
    qtbot.keyClick(canvas, Qt.Key.Key_Space)  # pause
    assert not cine.playing
    k = canvas.frame
    assert cine.index == k and f"frame {k + 1}/30" in canvas.corner_notes().top_left
    np.testing.assert_array_equal(canvas.rendered_rgb(), rgb[k])
    moved = np.abs(rgb[k].astype(int) - rgb[0].astype(int)).sum(axis=-1)
    rr, cc = np.unravel_index(np.argmax(moved), moved.shape)  # where the heart moved most
    now = _shown(viewport, rr, cc)
    assert abs(now.red() - int(rgb[k, rr, cc, 0])) <= 2 and abs(now.red() - int(rgb[0, rr, cc, 0])) > 10
    # without loop the player stops at the last frame
    cine.loop.setChecked(False)
    cine.set_index(28)
    cine.set_playing(True)
    qtbot.waitUntil(lambda: not cine.playing, timeout=3000)
    assert canvas.frame == 29


def test_supplemental_palette_colours_only_its_range(qtbot: QtBot) -> None:
    from workstation.io.dicom_images import load_display_volume
    from workstation.ui.viewer2d import SliceViewer

    path = Path(data_file("eCT_Supplemental.dcm"))
    series = scan(path).series[0]
    volume = load_display_volume(series)
    context = ViewerContext()
    view = SliceViewer(context)
    qtbot.addWidget(view)
    context.set_loaded(None, series, volume)
    rgb, values = view.rendered_rgb(), view.slice_values()
    palette = volume.meta["supplemental_palette"]
    inside = (values >= palette["first"]) & (values < palette["first"] + len(palette["lut"]))
    assert inside.any() and (~inside).any() and rgb is not None
    index = (values[inside] - palette["first"]).astype(int)
    np.testing.assert_array_equal(rgb[inside], palette["lut"][index])
    gray = view.rendered_gray()
    np.testing.assert_array_equal(rgb[~inside], np.repeat(gray[~inside][:, None], 3, axis=1))


def test_marks_of_the_shown_instance_are_drawn(qtbot: QtBot, viewport: ImageViewport) -> None:
    from workstation.core.overlays import Mark, MarkOverlay

    stack = _stack(PYDICOM_FILES / "dicomdirtests" / "DICOMDIR", "CR")
    _show(qtbot, viewport, stack)
    uid = stack.images[0].facts.sop_instance_uid
    viewport.canvas.context.set_overlay("cad", MarkOverlay({uid: (Mark((4, 4, 12, 12), "mass", "", (0, 255, 0)),),
                                                            "other": (Mark((0, 0, 2, 2)),)}))
    qtbot.wait(30)
    edge = viewport.canvas.display_to_viewport(np.array([[3.5, 8.0]]))[0]  # the box's top edge, middle
    colour = QColor(_screen(viewport).pixel(int(round(edge[0])), int(round(edge[1]))))
    assert colour.green() > 200 and colour.red() < 80
    centre = viewport.canvas.view_pos_of(8, 8).toPoint()
    inner = QColor(_screen(viewport).pixel(centre))
    assert not (inner.green() > 200 and inner.red() < 80)  # an outline, not a fill
