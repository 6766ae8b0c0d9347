"""Display maths without widgets: slice planes, orientation letters, windowing, ROI, textures."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_voi_lut

from workstation.core.overlays import LabelOverlay, ScalarOverlay
from workstation.core.volume import Volume
from workstation.ui.measure import distance_mm, roi_mask, roi_stats
from workstation.ui.overlay_render import render_overlays
from workstation.core.slice_geometry import SlicePlane
from workstation.ui.volume_texture import downsample_steps, prepare_texture
from workstation.compute.windowing import default_window, window_to_uint8


def _vol(direction: np.ndarray, shape: tuple[int, int, int] = (4, 5, 6)) -> Volume:
    return Volume(np.arange(np.prod(shape)).reshape(shape), spacing=(3.0, 2.0, 1.0), direction=direction)


def test_axial_series_planes_follow_radiological_conventions() -> None:
    vol = _vol(np.eye(3))  # x -> L, y -> P, z -> H
    axial, coronal, sagittal = (SlicePlane.for_volume(vol, a) for a in range(3))
    assert axial.edge_labels(vol) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert coronal.edge_labels(vol) == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
    assert sagittal.edge_labels(vol) == {"left": "A", "right": "P", "top": "H", "bottom": "F"}
    assert [p.name(vol) for p in (axial, coronal, sagittal)] == ["axial", "coronal", "sagittal"]
    # head at the top: z index increases toward H, so coronal rows run backwards
    assert coronal.flip_rows and not coronal.flip_cols and not axial.flip_rows
    assert coronal.shape(vol.shape) == (4, 6) and coronal.pixel_mm(vol.spacing) == (3.0, 1.0)
    assert sagittal.shape(vol.shape) == (4, 5) and sagittal.pixel_mm(vol.spacing) == (3.0, 2.0)


def test_feet_first_stack_is_not_flipped_in_coronal() -> None:
    vol = _vol(np.diag([1.0, 1.0, -1.0]))  # z index increases toward the feet
    coronal = SlicePlane.for_volume(vol, 1)
    assert not coronal.flip_rows
    assert coronal.edge_labels(vol)["top"] == "H"


def test_sagittal_acquisition_is_shown_as_sagittal_with_head_up() -> None:
    # rows of the images run down (F), columns run posterior (P), slices run left (L)
    direction = np.column_stack([[0, 1, 0], [0, 0, -1], [1, 0, 0]]).astype(float)
    vol = _vol(direction)
    plane = SlicePlane.for_volume(vol, 0)
    assert plane.name(vol) == "sagittal"
    assert plane.edge_labels(vol) == {"left": "A", "right": "P", "top": "H", "bottom": "F"}
    axial_like = SlicePlane.for_volume(vol, 1)  # through index y: an axial plane, transposed
    assert axial_like.name(vol) == "axial"
    assert axial_like.edge_labels(vol) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}


def test_planes_far_from_every_patient_axis_are_called_oblique() -> None:
    def rotation_x(degrees: float) -> np.ndarray:
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])

    tilted = _vol(rotation_x(20.0))  # an axial acquisition with 20 degrees of gantry-like tilt: still axial
    assert SlicePlane.for_volume(tilted, 0).name(tilted) == "axial"
    double = _vol(rotation_x(40.0) @ np.array([[0.8, -0.6, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]))
    assert SlicePlane.for_volume(double, 0).name(double) == "oblique"  # a short-axis-like stack


@pytest.mark.parametrize("direction", [np.eye(3), np.diag([-1.0, 1.0, -1.0]),
                                       np.column_stack([[0, 1, 0], [0, 0, -1], [1, 0, 0]]).astype(float)])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_extract_and_index_mapping_agree(direction: np.ndarray, axis: int) -> None:
    vol = _vol(direction)
    plane = SlicePlane.for_volume(vol, axis)
    index = 2
    image = plane.extract(vol.array, index)
    assert image.shape == plane.shape(vol.shape)
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            zyx = tuple(int(v) for v in plane.to_index(index, r, c, vol.shape))
            assert vol.array[zyx] == image[r, c]
            assert plane.from_index(zyx, vol.shape) == (index, r, c)


def test_oblique_letters_name_two_directions() -> None:
    vol = _vol(np.array([[np.cos(0.5), -np.sin(0.5), 0], [np.sin(0.5), np.cos(0.5), 0], [0, 0, 1]]))
    labels = SlicePlane.for_volume(vol, 0).edge_labels(vol)
    assert labels["right"] == "LP" and labels["left"] == "RA"


def test_window_matches_pydicom_linear_voi_lut() -> None:
    values = np.arange(-1100, 1300, 7, dtype=np.int16)
    ds = Dataset()
    ds.BitsStored, ds.PixelRepresentation, ds.PhotometricInterpretation = 8, 0, "MONOCHROME2"
    for width, level in [(350.0, 50.0), (1500.0, -600.0), (80.0, 40.0)]:
        ds.WindowCenter, ds.WindowWidth = level, width
        reference = apply_voi_lut(values.astype(float), ds)
        ours = window_to_uint8(values, width, level).astype(float)
        assert np.max(np.abs(ours - reference)) <= 0.5 + 1e-9


def test_default_window_for_ct_is_mediastinum() -> None:
    assert default_window(np.zeros((2, 2, 2)), "CT") == (350.0, 50.0)
    w, l = default_window(np.linspace(0, 100, 1000).reshape(10, 10, 10), "MR")
    assert w == pytest.approx(98.0, abs=0.5) and l == pytest.approx(50.0, abs=0.5)


def test_distance_and_disc_roi() -> None:
    assert distance_mm((0, 0), (3, 4), (1.0, 1.0)) == pytest.approx(5.0)
    assert distance_mm((0, 0), (10, 10), (0.5, 2.0)) == pytest.approx(np.hypot(5, 20))
    values = np.zeros((101, 101))
    values[:, 50:] = 100.0
    mask = roi_mask(values.shape, (10.0, 10.0), (90.0, 90.0), "ellipse")  # radius 40 px
    stats = roi_stats(values, mask, (0.5, 0.5))
    assert stats.area_mm2 == pytest.approx(np.pi * 40**2 * 0.25, rel=0.01)
    assert stats.mean == pytest.approx(50.0, abs=1.5)  # half the disc is 100
    assert (stats.minimum, stats.maximum) == (0.0, 100.0)
    rect = roi_mask(values.shape, (0.0, 50.0), (9.0, 59.0), "rectangle")
    assert rect.sum() == 100 and roi_stats(values, rect, (1, 1)).sd == 0.0


def test_overlays_composite_labels_and_maps() -> None:
    labels = np.zeros((1, 2, 3), dtype=np.int32)
    labels[0, 0, 0], labels[0, 0, 1] = 1, 2
    lab = LabelOverlay(labels, {1: (255, 0, 0), 2: (0, 0, 255)}, opacity=0.5, visible=frozenset({1}))
    values = np.full((1, 2, 3), np.nan)
    values[0, 1, :] = [0.0, 5.0, 10.0]
    scal = ScalarOverlay(values, vmin=0.0, vmax=10.0, colormap="grays", opacity=1.0)
    take = lambda a: a[0]  # noqa: E731
    rgba = render_overlays([lab], take, (2, 3))
    assert rgba is not None
    assert tuple(rgba[0, 0]) == (255, 0, 0, 128)
    assert rgba[0, 1, 3] == 0 and rgba[1, 0, 3] == 0  # label 2 hidden, background clear
    both = render_overlays([lab, scal], take, (2, 3))
    assert both is not None
    assert tuple(both[1, 2]) == (255, 255, 255, 255) and tuple(both[1, 0]) == (0, 0, 0, 255)
    assert both[1, 1, 0] in (127, 128) and tuple(both[0, 0]) == (255, 0, 0, 128)  # NaN row clear
    assert render_overlays([], take, (2, 3)) is None


def test_texture_keeps_int16_values_and_limits_size() -> None:
    a = np.random.default_rng(0).integers(-1024, 3000, size=(10, 300, 520)).astype(np.int16)
    vol = Volume(a, spacing=(2.0, 0.5, 0.5))
    tex = prepare_texture(vol, max_dim=256)
    assert tex.step == downsample_steps(vol.shape, 256) == (1, 2, 3)
    assert tex.data.dtype == np.uint16 and max(tex.data.shape) <= 256
    assert tex.spacing == (2.0, 1.0, 1.5)
    back = tex.data.astype(np.float64) * tex.value_step + tex.offset_value
    np.testing.assert_array_equal(back, a[::1, ::2, ::3])
    assert tex.to_normalized(300.0) == pytest.approx((300 + 32768) / 65535)
    f = prepare_texture(Volume(np.array([[[0.0, np.nan], [1.0, 2.0]]])))
    assert f.data.tolist() == [[[0, 0], [32768, 65535]]]
