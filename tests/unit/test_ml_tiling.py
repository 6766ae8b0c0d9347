"""Sliding-window inference, importance maps, resampling and normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from workstation.core.progress import Cancelled
from workstation.ml.manifest import Normalization
from workstation.ml.normalize import normalize, normalized_value
from workstation.ml.resample import (orientation_code, probabilities_to_labels, reorientation, resample,
                                     resampled_shape)
from workstation.ml.tiling import importance_map, sliding_window_inference, window_starts


def identity(batch: np.ndarray) -> np.ndarray:
    return batch.copy()


@pytest.mark.parametrize("blending", ["gaussian", "constant"])
@pytest.mark.parametrize("shape,tile", [((16, 32, 32), (8, 16, 16)), ((13, 37, 29), (8, 16, 16)),
                                        ((5, 9, 40), (8, 16, 16))])
def test_identity_model_reproduces_input(shape, tile, blending) -> None:
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    calls = []
    out = sliding_window_inference(x, tile, 0.5, lambda b: (calls.append(b.shape), identity(b))[1],
                                   batch_size=3, blending=blending)
    assert out.shape == (1, *shape)
    np.testing.assert_allclose(out[0], x, rtol=1e-5, atol=1e-5)
    assert all(c[1:] == (1, *tile) and c[0] <= 3 for c in calls)


def test_multichannel_and_2d() -> None:
    x = np.random.default_rng(2).normal(size=(2, 50, 70)).astype(np.float32)
    out = sliding_window_inference(x, (32, 32), 0.25, lambda b: np.concatenate([b, 2 * b], 1), batch_size=4)
    np.testing.assert_allclose(out, np.concatenate([x, 2 * x]), rtol=1e-5, atol=1e-5)


def test_window_starts_cover_axis() -> None:
    assert window_starts(10, 16, 0.5) == [0]
    assert window_starts(32, 16, 0.5) == [0, 8, 16]
    starts = window_starts(37, 16, 0.25)
    assert starts[0] == 0 and starts[-1] == 21 and all(b - a <= 12 for a, b in zip(starts, starts[1:]))


def test_gaussian_importance_map_values() -> None:
    w = importance_map((9, 17, 17), "gaussian")
    assert w.max() == pytest.approx(1.0) and w.min() > 0
    assert w[4, 8, 8] == pytest.approx(1.0)
    # sigma = 17/8 along x: one sigma from the centre drops by exp(-1/2)
    sigma = 17 / 8
    expected = np.exp(-(4**2) / (2 * sigma**2))
    assert w[4, 8, 12] == pytest.approx(expected, rel=1e-5)
    assert np.all(importance_map((4, 4), "constant") == 1)
    with pytest.raises(ValueError, match="blending"):
        importance_map((4, 4), "cosine")


def test_progress_and_cancel() -> None:
    seen = []
    sliding_window_inference(np.zeros((16, 16, 16)), (8, 8, 8), 0.0, identity, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and len(seen) == 8

    def cancel(f: float, m: str) -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        sliding_window_inference(np.zeros((16, 16, 16)), (8, 8, 8), 0.0, identity, progress=cancel)


def test_resample_linear_ramp_exact() -> None:
    z, y, x = np.meshgrid(np.arange(10), np.arange(12), np.arange(14), indexing="ij")
    ramp = (2.0 * z + 3.0 * y - x).astype(np.float32)  # value at mm position with spacing 1
    out = resample(ramp, (1.0, 1.0, 1.0), (2.0, 0.5, 1.5), ndi, order=1)
    assert out.shape == resampled_shape(ramp.shape, (1, 1, 1), (2.0, 0.5, 1.5)) == (5, 23, 9)
    zz, yy, xx = np.meshgrid(np.arange(5) * 2.0, np.arange(23) * 0.5, np.arange(9) * 1.5, indexing="ij")
    np.testing.assert_allclose(out, 2 * zz + 3 * yy - xx, atol=1e-4)


@pytest.mark.parametrize("src,dst,shape", [((3.0, 2.0, 2.0), (1.0, 1.0, 1.0), (17, 15, 15)),
                                           ((3.0, 3.0, 3.0), (1.3, 0.7, 0.9), (40, 36, 25)),
                                           ((2.0, 2.0, 2.0), (3.5, 2.5, 1.5), (4, 6, 11))])
def test_probabilities_to_labels_matches_full_resample(src, dst, shape) -> None:
    """The separable version equals argmax of a 3D linear resampling (scipy)."""
    rng = np.random.default_rng(3)
    prob = ndi.gaussian_filter(rng.random((4, 6, 8, 8)), (0, 1, 1, 1)).astype(np.float32)
    labels = probabilities_to_labels(prob, src, dst, shape, ndi, slab=4)
    full = np.stack([resample(p, src, dst, ndi, shape=shape) for p in prob])
    assert labels.shape == shape and labels.dtype == np.uint8
    assert np.mean(labels == full.argmax(0)) > 0.999  # float32 rounding may break a near-tie


def test_orientation_roundtrip() -> None:
    lps = np.eye(3)
    assert orientation_code(lps) == "LPS"
    ras_dir = np.diag([-1.0, -1.0, 1.0])
    assert orientation_code(ras_dir) == "RAS"
    # sagittal-ish: x index -> P, y index -> I, z index -> L
    sag = np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], dtype=float)
    assert orientation_code(sag) == "PIL"
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    r = reorientation(sag, "LPS")
    out = r.apply(arr)
    # target z (S) comes from source y index (I, flipped); target y (P) from source x; target x (L) from z
    assert out.shape == (3, 4, 2)
    assert out[0, 0, 0] == arr[0, 2, 0] and out[0, 1, 0] == arr[0, 2, 1] and out[0, 0, 1] == arr[1, 2, 0]
    np.testing.assert_array_equal(r.invert(out), arr)
    assert r.spacing((1.0, 2.0, 3.0)) == (2.0, 3.0, 1.0)
    stacked = np.stack([arr, arr + 100])
    np.testing.assert_array_equal(r.invert(r.apply(stacked, leading=1), leading=1), stacked)


def test_normalizations() -> None:
    hu = np.array([-2000.0, -1000.0, 0.0, 500.0, 3000.0])
    ct = Normalization("ct-window", lo=-1000, hi=1000)
    np.testing.assert_allclose(normalize(hu, ct), [0, 0, 0.5, 0.75, 1.0])
    assert normalized_value(-1000, ct) == 0.0
    z = normalize(hu, Normalization("zscore", lo=-1000, hi=1000, mean=0.0, std=500.0))
    np.testing.assert_allclose(z, [-2, -2, 0, 1, 2])
    own = normalize(hu, Normalization("zscore"))
    assert own.mean() == pytest.approx(0, abs=1e-6) and own.std() == pytest.approx(1, rel=1e-5)
    mm = normalize(hu, Normalization("minmax"))
    np.testing.assert_allclose(mm, (hu + 2000) / 5000, rtol=1e-6)
