"""Argmax of trilinearly resampled class scores against a per-class scipy reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from workstation.ml.preprocess import ModelGrid, labels_to_study, study_shape
from workstation.ml.resample import probabilities_to_labels, reorientation, resample

TIE = 1e-5  # two classes closer than this may come out either way


def reference_scores(prob: np.ndarray, spacing, new_spacing, shape) -> np.ndarray:
    """Each class resampled on its own: affine_transform, order 1, border repeated (float64)."""
    scale = np.asarray(new_spacing, dtype=float) / np.asarray(spacing, dtype=float)
    return np.stack([ndi.affine_transform(p.astype(np.float64), scale, output_shape=tuple(shape), order=1,
                                          mode="nearest") for p in prob])


def assert_argmax_of(labels: np.ndarray, scores: np.ndarray) -> None:
    """``labels`` is the argmax of ``scores`` except where the two best classes are within :data:`TIE`."""
    best = scores.argmax(0)
    top2 = np.sort(scores, axis=0)[-2:]
    near_tie = top2[1] - top2[0] <= TIE
    differ = labels != best
    assert not np.any(differ & ~near_tie), f"{int(np.sum(differ & ~near_tie))} voxels off the argmax"
    chosen = np.take_along_axis(scores, labels[None].astype(np.intp), 0)[0]
    assert np.all(chosen >= top2[1] - TIE)


@pytest.mark.parametrize("spacing,new_spacing,shape", [
    ((3.0, 2.7, 3.3), (1.1, 0.8, 1.25), (42, 52, 46)),   # up in all axes, past the far border
    ((1.0, 0.9, 1.1), (2.3, 1.7, 2.9), (9, 11, 8)),      # down in all axes
    ((2.5, 0.7, 3.1), (0.9, 1.9, 1.3), (31, 9, 40)),     # up, down, up
    ((3.0, 3.0, 3.0), (1.0, 0.75, 0.75), (37, 53, 50)),  # the usual 3 mm model -> CT ratios
])
@pytest.mark.parametrize("smooth", [False, True])
def test_matches_per_class_affine_transform(spacing, new_spacing, shape, smooth) -> None:
    rng = np.random.default_rng(7)
    prob = rng.random((5, 13, 17, 15)).astype(np.float32)
    if smooth:  # few, large regions: most voxels take the shortcut between equal nodes
        prob = ndi.gaussian_filter(prob, (0, 2, 2, 2))
    labels = probabilities_to_labels(prob, spacing, new_spacing, shape, ndi, slab=3)
    assert labels.shape == shape and labels.dtype == np.uint8
    assert_argmax_of(labels, reference_scores(prob, spacing, new_spacing, shape))


@pytest.mark.parametrize("workers,slab", [(1, 1), (2, 4), (3, 64)])
def test_slabs_and_threads_do_not_change_labels(workers, slab) -> None:
    prob = np.random.default_rng(1).random((4, 9, 12, 10)).astype(np.float32)
    args = (prob, (3.0, 2.0, 2.5), (1.3, 0.6, 0.7), (21, 40, 37))
    expected = probabilities_to_labels(*args, slab=7, workers=1)
    np.testing.assert_array_equal(probabilities_to_labels(*args, slab=slab, workers=workers), expected)


def test_one_hot_scores_and_single_voxel_axes() -> None:
    """Exact ties (one-hot scores halfway between nodes) go to the lower class, as argmax does."""
    prob = np.zeros((3, 1, 1, 2), dtype=np.float32)
    prob[1, 0, 0, 0] = prob[2, 0, 0, 1] = 1.0
    labels = probabilities_to_labels(prob, (1.0, 1.0, 2.0), (1.0, 1.0, 1.0), (2, 1, 4))
    np.testing.assert_array_equal(labels, [[[1, 1, 2, 2]]] * 2)


def test_writes_into_a_strided_view() -> None:
    prob = np.random.default_rng(2).random((3, 6, 7, 8)).astype(np.float32)
    shape = (11, 13, 15)
    expected = probabilities_to_labels(prob, (2.0, 2.0, 2.0), (1.1, 1.0, 1.0), shape)
    study = np.zeros((15, 13, 11), dtype=np.uint8)
    out = study.transpose(2, 1, 0)[:, ::-1]
    assert probabilities_to_labels(prob, (2.0, 2.0, 2.0), (1.1, 1.0, 1.0), shape, out=out) is out
    np.testing.assert_array_equal(study.transpose(2, 1, 0)[:, ::-1], expected)


@pytest.mark.parametrize("code", ["LPS", "SAR", "PIL"])
def test_labels_to_study_equals_reorienting_the_labels(code) -> None:
    direction = np.eye(3)
    r = reorientation(direction, code)
    oriented_shape = r.apply(np.empty((14, 16, 18))).shape
    grid = ModelGrid(reorient=r, oriented_shape=oriented_shape, oriented_spacing=(1.0, 1.0, 1.0),
                     model_spacing=(2.0, 2.0, 2.0), model_shape=tuple((n + 1) // 2 for n in oriented_shape))
    prob = np.random.default_rng(4).random((4, *grid.model_shape)).astype(np.float32)
    labels = labels_to_study(prob, grid, ndi)
    assert labels.shape == study_shape(grid) == (14, 16, 18) and labels.flags.c_contiguous
    oriented = probabilities_to_labels(prob, grid.model_spacing, grid.oriented_spacing, oriented_shape)
    np.testing.assert_array_equal(labels, r.invert(oriented))


def test_int16_images_resample_like_their_float32_copy() -> None:
    """Images are interpolated straight from the stored dtype into float32."""
    x = np.random.default_rng(5).integers(-1024, 3000, (23, 31, 29)).astype(np.int16)
    got = resample(x, (1.0, 0.7, 0.9), (3.0, 2.0, 2.5), ndi, order=1)
    ref = resample(x.astype(np.float32), (1.0, 0.7, 0.9), (3.0, 2.0, 2.5), ndi, order=1)
    assert got.dtype == np.float32 and got.shape == (8, 11, 11)
    np.testing.assert_array_equal(got, ref)
